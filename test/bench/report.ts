// Turns the measurements into the markdown the benchmark prints and writes.
import { cpus, loadavg, totalmem } from "node:os";
import type { Latency } from "./changes.ts";
import type { Footprint } from "./controller.ts";
import { FAIR_SHARE_P99_MS, type FairShareResult } from "./fair-share.ts";
import type { RequestCounts } from "./kube.ts";
import type { KopfResult, SteadyResult } from "./phases.ts";
import { regionsTarget, renderRegions, type RegionsResult } from "./regions.ts";
import { grantsTargets, renderGrants, type GrantsResult } from "./grants.ts";

export interface SizeResult {
  n: number;
  ceilingConcurrency: number;
  /** Objects created per second by the bare client. */
  createRate: number;
  /** Objects per second given their annotation and status patches by the bare client. */
  ceilingRate: number;
  /** The same two writes with the controller's whole status and two watches open. */
  controllerCeilingRate: number;
  convergeSeconds: number;
  firstReadySeconds: number;
  convergePuts: number;
  convergeFootprint: Footprint;
  convergeRequests: RequestCounts;
  /** The same, counted the moment the last object was Ready: what competed with convergence. */
  convergeRequestsAtReady: RequestCounts;
  /** Events the controller dropped rather than let them hold up convergence. */
  convergeEventsDropped: number;
  /** CPU seconds from the controller's start to all Ready: apiserver, etcd, controller, bench. */
  convergeCpuToReady: Record<string, number>;
  noopPuts: number;
  noopSeconds: number;
  noopRequests: RequestCounts;
  changes: number;
  changeToPut: Latency;
  changeToReady: Latency;
  /** Controller requests during the change phase; the bench's own spec patches are removed. */
  changeRequests: RequestCounts;
  restartFootprint: Footprint;
  /** Convergence of fresh objects per number of LogDestinationPolicyBindings (0: --require-binding=false). */
  convergeByBindings: { bindings: number; seconds: number; cpuSeconds: number }[];
  /** Objects re-evaluated when a binding changed, by what the binding selects. */
  reevaluations?: { selectingBench: number; selectingNone: number };
}

export interface RateCheck {
  n: number;
  rate: number;
  boundSeconds: number;
  measuredSeconds: number;
  puts: number;
}

export interface Report {
  startedAt: Date;
  machine: string;
  loadBefore: readonly number[];
  loadAfter: readonly number[];
  endpoint: string;
  controllerCommand: string;
  benchCommand: string;
  kubernetesVersion: string;
  etcdOnTmpfs: boolean;
  results: SizeResult[];
  rateLimitFlag: boolean;
  rateCheck: RateCheck | undefined;
  fairShare?: FairShareResult | undefined;
  regions?: RegionsResult | undefined;
  grants?: GrantsResult | undefined;
  steady: SteadyResult[];
  kopf: KopfResult[];
  notes: string[];
}

export function machineDescription(): string {
  const model = cpus()[0]?.model ?? "unknown CPU";
  const memGiB = totalmem() / 2 ** 30;
  return `${cpus().length} CPUs (${model}), ${memGiB.toFixed(1)} GiB memory, Node ${process.version}, ${process.platform}`;
}

export function currentLoad(): number[] {
  return loadavg().map((x) => Math.round(x * 100) / 100);
}

/** Nearest-rank percentile of milliseconds. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? NaN;
}

const WRITE_VERBS = new Set(["POST", "PUT", "PATCH", "DELETE", "APPLY"]);

/** The same run's convergence of as many separate policies as the grant burst had grants. */
function policiesSecondsFor(report: Report): number | undefined {
  const n = report.grants?.burst.grants;
  return report.results.find((r) => r.n === n)?.convergeSeconds;
}

export function countWrites(counts: RequestCounts): number {
  let total = 0;
  for (const [key, value] of counts) if (WRITE_VERBS.has(key.split(" ")[0] ?? "")) total += value;
  return total;
}

function describeCounts(counts: RequestCounts, per: number, onlyWrites: boolean): string {
  const parts = [...counts]
    .filter(([key]) => !onlyWrites || WRITE_VERBS.has(key.split(" ")[0] ?? ""))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => `${key} ${per === 1 ? thousands(value) : fixed(value / per, 2)}`);
  return parts.length > 0 ? parts.join(", ") : "none";
}

function fixed(value: number, digits: number): string {
  return Number.isFinite(value) ? value.toFixed(digits) : "n/a";
}

function thousands(n: number): string {
  return n.toLocaleString("en-US");
}

interface Target {
  what: string;
  measured: string;
  reached: boolean;
}

function targets(report: Report): Target[] {
  const largest = report.results.reduce<SizeResult | undefined>(
    (a, b) => (a && a.n >= b.n ? a : b),
    undefined,
  );
  if (!largest) return [];
  const at = `at N = ${thousands(largest.n)}`;
  const maxPutsOnRestart = Math.max(...report.results.map((r) => r.noopPuts));
  const worstP99 = Math.max(...report.results.map((r) => r.changeToPut.p99));
  const changeWrites = Math.max(
    ...report.results.map((r) => countWrites(r.changeRequests) / r.changes),
  );
  const convergeWrites = Math.max(
    ...report.results.map((r) => countWrites(r.convergeRequests) / r.n),
  );
  const ratios = report.results.map(
    (r) => `${fixed((r.n / r.convergeSeconds / r.ceilingRate) * 100, 0)} % at ${thousands(r.n)}`,
  );
  const lowestRatio = Math.min(
    ...report.results.map((r) => r.n / r.convergeSeconds / r.ceilingRate),
  );
  return [
    {
      what: "Convergence ≥ 75 % of the two-write ceiling",
      measured: ratios.join(", "),
      reached: lowestRatio >= 0.75,
    },
    ...steadyTargets(report),
    ...fairShareTarget(report.fairShare),
    ...kopfTargets(report),
    ...regionsTarget(report.regions),
    ...grantsTargets(report.grants, policiesSecondsFor(report)),
    {
      what: "0 PutDestinationPolicy calls on restart",
      measured: `${maxPutsOnRestart}`,
      reached: maxPutsOnRestart === 0,
    },
    {
      what: "p99 change → call ≤ 500 ms (idle queue)",
      measured: `${fixed(worstP99, 0)} ms (worst size)`,
      reached: worstP99 <= 500,
    },
    {
      what: "Peak RSS ≤ 200 MiB at 10,000",
      measured: `${fixed(largest.convergeFootprint.peakRssMiB, 0)} MiB ${at}`,
      reached: largest.n >= 10_000 && largest.convergeFootprint.peakRssMiB <= 200,
    },
    {
      what: "≤ 3 API-server writes per changed object",
      measured: `${fixed(changeWrites, 2)} per change, ${fixed(convergeWrites, 2)} per object at convergence`,
      reached: changeWrites <= 3 && convergeWrites <= 3,
    },
  ];
}

function bindingRows(
  rs: readonly SizeResult[],
  row: (label: string, cell: (r: SizeResult) => string) => string,
): string[] {
  const counts = [...new Set(rs.flatMap((r) => r.convergeByBindings.map((c) => c.bindings)))];
  if (counts.length < 2) return [];
  const runs = (r: SizeResult, b: number) => r.convergeByBindings.filter((c) => c.bindings === b);
  // Repeated runs are listed in order, so the spread shows; the median compares.
  const cell = (
    r: SizeResult,
    b: number,
    pick: (c: { seconds: number; cpuSeconds: number }) => number,
  ) =>
    runs(r, b)
      .map((c) => fixed(pick(c), 1))
      .join(", ");
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
  };
  const label = (b: number) =>
    b === 0 ? "no binding (--require-binding=false)" : `${thousands(b)} bindings`;
  const rows: string[] = [];
  for (const b of counts) {
    rows.push(row(`Convergence, ${label(b)} (s)`, (r) => cell(r, b, (c) => c.seconds)));
    rows.push(row(`Controller CPU, ${label(b)} (s)`, (r) => cell(r, b, (c) => c.cpuSeconds)));
  }
  const [base] = counts;
  const last = counts.at(-1);
  if (base !== undefined && last !== undefined) {
    const change = (
      r: SizeResult,
      pick: (c: { seconds: number; cpuSeconds: number }) => number,
    ) => {
      const a = median(runs(r, base).map(pick));
      const b = median(runs(r, last).map(pick));
      return Number.isFinite(a) && Number.isFinite(b) && a > 0
        ? `${b >= a ? "+" : ""}${fixed(((b - a) / a) * 100, 1)} %`
        : "";
    };
    rows.push(
      row(`Median convergence, ${thousands(last)} vs ${thousands(base)} bindings`, (r) =>
        change(r, (c) => c.seconds),
      ),
    );
    rows.push(
      row(`Median controller CPU, ${thousands(last)} vs ${thousands(base)} bindings`, (r) =>
        change(r, (c) => c.cpuSeconds),
      ),
    );
  }
  rows.push(
    row("Objects re-evaluated: binding selecting the N / selecting none", (r) =>
      r.reevaluations
        ? `${thousands(r.reevaluations.selectingBench)} / ${thousands(r.reevaluations.selectingNone)}`
        : "",
    ),
  );
  return rows;
}

function steadyTargets(report: Report): Target[] {
  return report.steady.flatMap((s) => {
    const where = `N = ${thousands(s.n)}, interval ${s.interval ?? "default"}`;
    const readBound = s.n / 50 + 10;
    return [
      {
        what: `${where}: change → put p99 ≤ 1 s during sweeps`,
        measured: `${fixed(s.changeToPutDuringSweep.p99, 0)} ms (${s.changesDuringSweep} of ${s.changes} changes during a sweep; all: ${fixed(s.changeToPut.p99, 0)} ms)`,
        reached: s.changeToPutDuringSweep.p99 <= 1000 && s.changeToPut.p99 <= 1000,
      },
      {
        what: `${where}: AWS reads per interval ≤ N/50 + 10 (${fixed(readBound, 0)})`,
        measured: thousands(s.quietReads),
        reached: s.quietReads <= readBound,
      },
      {
        what: `${where}: API-server writes per interval with nothing changed: 0`,
        measured: thousands(s.quietWrites),
        reached: s.quietWrites === 0,
      },
    ];
  });
}

function kopfTargets(report: Report): Target[] {
  return report.kopf.flatMap((k) => {
    const ours = report.results.find((r) => r.n === k.n);
    if (!ours) return [];
    return [
      {
        what: `Faster than kopf + boto3 at N = ${thousands(k.n)}`,
        measured: `${fixed(ours.convergeSeconds, 1)} s against ${fixed(k.convergeSeconds, 1)} s`,
        reached: ours.convergeSeconds < k.convergeSeconds,
      },
    ];
  });
}

function renderSteady(report: Report): string[] {
  if (report.steady.length === 0) return [];
  const ss = report.steady;
  const head = `| | ${ss.map((s) => `N = ${thousands(s.n)}, ${s.interval ?? "default interval"}`).join(" | ")} |`;
  const rule = `|---|${ss.map(() => "---:|").join("")}`;
  const row = (label: string, cell: (s: SteadyResult) => string) =>
    `| ${label} | ${ss.map(cell).join(" | ")} |`;
  return [
    "Steady state as shipped (default AWS rate limit of 5 requests/s per account and region; drift sweeps):",
    "",
    head,
    rule,
    row("First sweep after apply: API-server writes (ARNs, once)", (s) =>
      thousands(s.firstSweepWrites),
    ),
    row("Quiet sweep: DescribeDestinations calls", (s) => thousands(s.quietReads)),
    row("Quiet sweep: duration (s)", (s) => fixed(s.sweepSeconds, 1)),
    row("Quiet sweep: API-server writes", (s) => thousands(s.quietWrites)),
    row("Quiet sweep: PutDestinationPolicy calls", (s) => thousands(s.quietPuts)),
    row("Changes made while a sweep ran", (s) => `${s.changesDuringSweep} of ${s.changes}`),
    row(
      "Change → PutDestinationPolicy p50 / p99 / max (ms), during sweeps",
      (s) =>
        `${fixed(s.changeToPutDuringSweep.p50, 0)} / ${fixed(s.changeToPutDuringSweep.p99, 0)} / ${fixed(s.changeToPutDuringSweep.max, 0)}`,
    ),
    row(
      "Change → PutDestinationPolicy p50 / p99 / max (ms), all",
      (s) =>
        `${fixed(s.changeToPut.p50, 0)} / ${fixed(s.changeToPut.p99, 0)} / ${fixed(s.changeToPut.max, 0)}`,
    ),
    row("Peak RSS, restart + sweep + changes (MiB)", (s) => fixed(s.footprint.peakRssMiB, 0)),
    "",
  ];
}

function renderKopf(report: Report): string[] {
  if (report.kopf.length === 0) return [];
  const ks = report.kopf;
  const head = `| | ${ks.map((k) => `N = ${thousands(k.n)}`).join(" | ")} |`;
  const rule = `|---|${ks.map(() => "---:|").join("")}`;
  const row = (label: string, cell: (k: KopfResult) => string) =>
    `| ${label} | ${ks.map(cell).join(" | ")} |`;
  const ours = (k: KopfResult) => report.results.find((r) => r.n === k.n);
  return [
    "The same control plane and endpoint, a minimal kopf + boto3 operator (test/bench/kopf_operator.py, kopf's default settings, one status patch per object) against this controller:",
    "",
    head,
    rule,
    row(
      "Start → all Ready (s): this controller / kopf",
      (k) => `${fixed(ours(k)?.convergeSeconds ?? NaN, 1)} / ${fixed(k.convergeSeconds, 1)}`,
    ),
    row(
      "Peak RSS, convergence (MiB): this controller / kopf",
      (k) =>
        `${fixed(ours(k)?.convergeFootprint.peakRssMiB ?? NaN, 0)} / ${fixed(k.footprint.peakRssMiB, 0)}`,
    ),
    row(
      "CPU, convergence (s): this controller / kopf",
      (k) =>
        `${fixed(ours(k)?.convergeFootprint.cpuSeconds ?? NaN, 1)} / ${fixed(k.footprint.cpuSeconds, 1)}`,
    ),
    row("API-server writes per object, convergence: this controller / kopf", (k) => {
      const r = ours(k);
      return `${fixed(r ? countWrites(r.convergeRequests) / r.n : NaN, 2)} / ${fixed(k.convergeWrites / k.n, 2)}`;
    }),
    row(
      "PutDestinationPolicy calls after a restart: this controller / kopf (first 30 s)",
      (k) => `${thousands(ours(k)?.noopPuts ?? NaN)} / ${thousands(k.restartPuts)}`,
    ),
    "",
  ];
}

export function renderReport(report: Report): string {
  const rs = report.results;
  const head = `| | ${rs.map((r) => `N = ${thousands(r.n)}`).join(" | ")} |`;
  const rule = `|---|${rs.map(() => "---:|").join("")}`;
  const row = (label: string, cell: (r: SizeResult) => string) =>
    `| ${label} | ${rs.map(cell).join(" | ")} |`;
  const lines = [
    `## Benchmark ${report.startedAt.toISOString().replace(/\.\d+Z$/, "Z")}`,
    "",
    `- Machine: ${report.machine}; load average ${report.loadBefore.join(" ")} before, ${report.loadAfter.join(" ")} after`,
    `- Control plane: kube-apiserver ${report.kubernetesVersion} and etcd${report.etcdOnTmpfs ? " on tmpfs" : ""}; CloudWatch Logs endpoint: ${report.endpoint}`,
    `- Controller: \`${report.controllerCommand}\``,
    `- Command: \`${report.benchCommand}\``,
    "",
    head,
    rule,
    row("Ceiling: bare-client creates (objects/s)", (r) => fixed(r.createRate, 0)),
    row(
      "Ceiling: annotation + status patch (objects/s)",
      (r) => `${fixed(r.ceilingRate, 0)} (${r.ceilingConcurrency} in flight)`,
    ),
    row("Convergence: start → all Ready (s)", (r) => fixed(r.convergeSeconds, 1)),
    ...bindingRows(rs, row),
    row("Convergence: start → first Ready (s)", (r) => fixed(r.firstReadySeconds, 2)),
    row("Convergence (objects/s)", (r) => fixed(r.n / r.convergeSeconds, 0)),
    row(
      "Convergence / ceiling",
      (r) => `${fixed((r.n / r.convergeSeconds / r.ceilingRate) * 100, 0)} %`,
    ),
    row("Ceiling as the controller writes: its whole status, two watches open (objects/s)", (r) =>
      fixed(r.controllerCeilingRate, 0),
    ),
    row(
      "Convergence / ceiling as the controller writes",
      (r) => `${fixed((r.n / r.convergeSeconds / r.controllerCeilingRate) * 100, 0)} %`,
    ),
    row("PutDestinationPolicy calls, convergence", (r) => thousands(r.convergePuts)),
    row("API-server writes per object, convergence", (r) =>
      fixed(countWrites(r.convergeRequests) / r.n, 2),
    ),
    row("API-server writes per object, start → all Ready", (r) =>
      fixed(countWrites(r.convergeRequestsAtReady) / r.n, 2),
    ),
    row("Events dropped (queue full), convergence", (r) => thousands(r.convergeEventsDropped)),
    row("CPUs busy, start → all Ready: API server / etcd / controller / bench", (r) =>
      ["apiserver", "etcd", "controller", "bench"]
        .map((k) => fixed((r.convergeCpuToReady[k] ?? NaN) / r.convergeSeconds, 2))
        .join(" / "),
    ),
    row("No-op restart: PutDestinationPolicy calls", (r) => thousands(r.noopPuts)),
    row("No-op restart: start → all N verified (s)", (r) => fixed(r.noopSeconds, 1)),
    row("No-op restart: API-server writes", (r) => thousands(countWrites(r.noopRequests))),
    row(
      "Change → PutDestinationPolicy p50 / p99 (ms)",
      (r) => `${fixed(r.changeToPut.p50, 0)} / ${fixed(r.changeToPut.p99, 0)}`,
    ),
    row(
      "Change → Ready p50 / p99 (ms)",
      (r) => `${fixed(r.changeToReady.p50, 0)} / ${fixed(r.changeToReady.p99, 0)}`,
    ),
    row("API-server writes per changed object", (r) =>
      fixed(countWrites(r.changeRequests) / r.changes, 2),
    ),
    row("Peak RSS, convergence (MiB)", (r) => fixed(r.convergeFootprint.peakRssMiB, 0)),
    row("CPU, convergence (s)", (r) => fixed(r.convergeFootprint.cpuSeconds, 1)),
    row("Peak RSS, restart + changes (MiB)", (r) => fixed(r.restartFootprint.peakRssMiB, 0)),
    row("CPU, restart + changes (s)", (r) => fixed(r.restartFootprint.cpuSeconds, 1)),
    "",
    "API-server requests by the controller (apiserver_request_total for logdestinationpolicies and events): writes per object at convergence and per change, and every request of the no-op restart:",
    "",
    ...rs.map(
      (r) =>
        `- N = ${thousands(r.n)}: convergence ${describeCounts(r.convergeRequests, r.n, true)} (until all Ready: ${describeCounts(r.convergeRequestsAtReady, r.n, true)}); change ${describeCounts(r.changeRequests, r.changes, true)}; restart ${describeCounts(r.noopRequests, 1, false)}`,
    ),
    "",
  ];
  lines.push(
    ...renderSteady(report),
    ...renderKopf(report),
    ...renderRegions(report.regions),
    ...renderGrants(report.grants, policiesSecondsFor(report)),
  );
  if (report.rateCheck) {
    const c = report.rateCheck;
    lines.push(
      `Default AWS rate limit (${c.rate} requests/s): N = ${thousands(c.n)} needs about N ÷ rate = ${fixed(c.boundSeconds, 0)} s (the first burst goes at once); measured ${fixed(c.measuredSeconds, 1)} s (${thousands(c.puts)} calls, ${fixed(c.puts / c.measuredSeconds, 2)} calls/s). At N = 10,000 the bound is ${fixed(10_000 / c.rate, 0)} s.`,
      "",
    );
  } else if (!report.rateLimitFlag) {
    lines.push(
      "The controller has no --aws-rate-limit flag yet: convergence ran without a client-side AWS rate limit, and the default-limit check was skipped.",
      "",
    );
  }
  lines.push(...renderFairShare(report.fairShare, DEFAULT_AWS_RATE));
  const t = targets(report);
  if (t.length > 0) {
    lines.push("| Target | Measured | Reached |", "|---|---|---|");
    for (const target of t)
      lines.push(`| ${target.what} | ${target.measured} | ${target.reached ? "yes" : "no"} |`);
    lines.push("");
  }
  for (const note of report.notes) lines.push(`- ${note}`);
  if (report.notes.length > 0) lines.push("");
  return lines.join("\n");
}

/** The rate the controller ships with, for the fair-share line. */
const DEFAULT_AWS_RATE = 5;

function renderFairShare(r: FairShareResult | undefined, rate: number): string[] {
  if (!r) return [];
  return [
    `Fair share (default AWS rate limit, ${rate} requests/s): ${thousands(r.flood)} objects whose destinations do not exist fail and retry in one namespace; ${r.changes} single-object changes in another namespace reach PutDestinationPolicy in p50 ${fixed(r.changeToPut.p50, 0)} ms, p99 ${fixed(r.changeToPut.p99, 0)} ms, max ${fixed(r.changeToPut.max, 0)} ms. Its objects were all Ready ${fixed(r.quietReadySeconds, 1)} s after the controller started; ${thousands(r.floodPuts)} flood calls were made meanwhile and ${thousands(r.floodUntried)} flood objects had not been tried yet, so the flood's backlog was still there.`,
    "",
  ];
}

function fairShareTarget(r: FairShareResult | undefined) {
  if (!r) return [];
  return [
    {
      what: `p99 change → call ≤ ${FAIR_SHARE_P99_MS / 1000} s behind ${thousands(r.flood)} failing objects in another namespace`,
      measured: `${fixed(r.changeToPut.p99, 0)} ms`,
      reached: r.changeToPut.p99 <= FAIR_SHARE_P99_MS,
    },
  ];
}
