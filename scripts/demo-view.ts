// What `npm run demo` shows: a table like `kubectl get ldp -A`, and a terminal
// region that keeps log lines above and redraws the table below them in place.
import type { LogDestinationPolicy } from "../src/api/v1alpha1.ts";

export const COLUMNS = [
  "NAMESPACE",
  "NAME",
  "DESTINATION",
  "REGION",
  "MODE",
  "READY",
  "REASON",
  "AGE",
] as const;

export interface Row {
  namespace: string;
  name: string;
  destination: string;
  region: string;
  mode: string;
  ready: string;
  reason: string;
  age: string;
}

/** kubectl's short duration format (k8s.io/apimachinery duration.HumanDuration). */
export function humanDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (days < 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  return `${days}d`;
}

export function rowOf(object: LogDestinationPolicy, now: number): Row {
  const spec = (object.spec ?? {}) as {
    destinationName?: unknown;
    region?: unknown;
    mode?: unknown;
  };
  const ready = object.status?.conditions?.find((c) => c.type === "Ready");
  const created = object.metadata.creationTimestamp;
  const createdMs = created === undefined ? now : new Date(created).getTime();
  const text = (value: unknown) => (typeof value === "string" ? value : "");
  return {
    namespace: object.metadata.namespace ?? "",
    name: object.metadata.name,
    destination: text(spec.destinationName),
    region: text(spec.region),
    mode: text(spec.mode),
    ready: ready?.status ?? "",
    reason: ready?.reason ?? "",
    age: humanDuration(now - createdMs),
  };
}

/** Columns padded like kubectl's tabwriter: the widest cell plus three spaces. */
export function renderTable(rows: readonly Row[]): string[] {
  const cells = [
    [...COLUMNS],
    ...rows.map((r) => [
      r.namespace,
      r.name,
      r.destination,
      r.region,
      r.mode,
      r.ready,
      r.reason,
      r.age,
    ]),
  ];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? "").length)));
  return cells.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 3)))
      .join("")
      .trimEnd(),
  );
}

export interface Output {
  write(text: string): void;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/**
 * On a terminal, log lines scroll above a footer (the table) that is redrawn in
 * place. Elsewhere (a pipe, CI) log lines are printed as they come, and the
 * footer, if `pipeFooter` is set, only when its content changes, so the output
 * stays readable as a log.
 */
export class LiveRegion {
  readonly #out: Output;
  readonly #pipeFooter: boolean;
  #footer: string[] = [];
  #drawn = 0;
  #lastPrinted = "";

  constructor(out: Output, options: { pipeFooter?: boolean } = {}) {
    this.#out = out;
    this.#pipeFooter = options.pipeFooter ?? true;
  }

  log(line: string): void {
    if (this.#out.isTTY) {
      this.#clear();
      this.#out.write(`${line}\n`);
      this.#draw();
    } else {
      this.#out.write(`${line}\n`);
    }
  }

  /** Replaces the footer; `changed` is what decides whether a pipe sees it again. */
  footer(lines: readonly string[], changed = lines.join("\n")): void {
    this.#footer = [...lines];
    if (this.#out.isTTY) {
      this.#clear();
      this.#draw();
    } else if (this.#pipeFooter && changed !== this.#lastPrinted) {
      this.#lastPrinted = changed;
      this.#out.write(`${lines.join("\n")}\n`);
    }
  }

  /** Leaves the footer on screen as ordinary output (prints it on a pipe); later lines go below it. */
  release(): void {
    if (!this.#out.isTTY && this.#footer.length > 0) {
      this.#out.write(`${this.#footer.join("\n")}\n`);
    }
    this.#footer = [];
    this.#drawn = 0;
  }

  #clear(): void {
    if (this.#drawn > 0) this.#out.write(`\x1b[${this.#drawn}F\x1b[J`);
    this.#drawn = 0;
  }

  #draw(): void {
    // A wrapped line would take two rows and break the cursor arithmetic.
    const width = Math.max(20, (this.#out.columns ?? 200) - 1);
    for (const line of this.#footer) this.#out.write(`${line.slice(0, width)}\n`);
    this.#drawn = this.#footer.length;
  }
}

/** The sum of a metric's samples whose labels include all of `labels`. */
export function metricValue(text: string, name: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (match?.[1] !== name) continue;
    const present = new Map<string, string>();
    for (const pair of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      present.set(pair[1] ?? "", pair[2] ?? "");
    }
    if (Object.entries(labels).every(([k, v]) => present.get(k) === v)) total += Number(match[3]);
  }
  return total;
}
