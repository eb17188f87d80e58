// The three faces of a diff report: text for a terminal or CI log, JSON for
// tools, Markdown for a pull-request comment. Every value in a report may come
// from a manifest or a live policy, that is from someone other than the reader,
// so text escapes control characters (no terminal escapes in a CI log) and
// Markdown shows values only inside code spans (no links, images or @mentions).
import { describeGrantee, type Grantee } from "../policy/index.ts";
import type { DestinationDiff, DiffError, DiffReport } from "./diff-report.ts";

export const OUTPUT_FORMATS = ["text", "json", "markdown"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The report as it is printed; empty when nothing changed and nothing failed (not for JSON). */
export function renderReport(report: DiffReport, format: OutputFormat): string {
  switch (format) {
    case "json":
      return `${JSON.stringify(report, null, 2)}\n`;
    case "text":
      return report.destinations.map(textBlock).join("");
    case "markdown":
      return markdown(report);
  }
}

/** `file:line: path: message`, as validate prints problems; `error: message` for a file. */
export function formatError(error: DiffError): string {
  if (error.line === undefined) return printable(`error: ${error.message}`);
  return printable(`${error.file}:${error.line}: ${error.path}: ${error.message}`);
}

// C0 and C1 controls, line and paragraph separators, and bidirectional overrides.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function where(d: DestinationDiff): string {
  const role = d.roleArn === undefined ? "" : ` through ${d.roleArn}`;
  return `destination ${d.destinationName} in ${d.region}${role}`;
}

function objectName(d: DestinationDiff): string {
  return d.object.namespace === undefined
    ? d.object.name
    : `${d.object.namespace}/${d.object.name}`;
}

function statementsLine(d: DestinationDiff, show: (s: string) => string): string | undefined {
  const parts = (
    [
      ["added", d.statements.added],
      ["removed", d.statements.removed],
      ["changed", d.statements.changed],
    ] as const
  )
    .filter(([, list]) => list.length > 0)
    .map(([verb, list]) => `${list.length} ${verb} (${list.map(show).join(", ")})`);
  return parts.length === 0 ? undefined : parts.join(", ");
}

function guardrailLine(d: DestinationDiff): string {
  const statements = d.guardrail.publicStatements.join(", ");
  switch (d.guardrail.verdict) {
    case "not-public":
      return "passes: no statement lets every AWS account in";
    case "allowed":
      return `public (${statements}), allowed by spec.allowPublicAccess`;
    case "refused":
      return `REFUSED: public (${statements}); the controller will not apply this policy`;
  }
}

function forceUpdateLine(d: DestinationDiff): string {
  const { needed, set } = d.forceUpdate;
  if (needed && set) return "needed (account IDs → organization), and set";
  if (needed) {
    return "NEEDED: account IDs → organization; update the senders' subscription filters, then set spec.forceUpdate: true";
  }
  return set ? "set, not needed" : "not needed";
}

function sizeLine(d: DestinationDiff): string {
  return `${d.size.before} → ${d.size.after} bytes (limit ${d.size.limit})`;
}

function notes(d: DestinationDiff): string[] {
  const found: string[] = [];
  if (d.livePolicy === "none") found.push("the destination has no policy yet");
  if (d.livePolicy === "unreadable") found.push("the live policy is not an IAM policy");
  if (d.mode === "Observe") found.push("Observe mode: the controller only reports the difference");
  if (d.suspend) found.push("suspended: the controller leaves the destination alone");
  return found;
}

/**
 * For a policy that accepts grants: who lets each gained principal in, why each
 * lost one goes, and the grants that would not be admitted.
 */
function grantLines(
  d: DestinationDiff,
  show: (s: string) => string,
  who: (g: Grantee) => string,
): string[] {
  if (d.grants === undefined) return [];
  const lines: string[] = [];
  for (const g of d.grants.gained) {
    lines.push(`${who(g)} added by ${g.by.map(show).join(", ")}`);
  }
  for (const g of d.grants.lost) {
    lines.push(
      g.by.length === 0
        ? `${who(g)} removed: no grant or owner statement names it`
        : `${who(g)} removed: named only by ${g.by.map(show).join(", ")}, not admitted`,
    );
  }
  for (const g of d.grants.grants) {
    if (g.verdict === "admitted") continue;
    lines.push(
      `${show(`${g.namespace}/${g.name}`)} ${g.verdict} (${g.reason}): ${show(g.message)}`,
    );
  }
  return lines;
}

function textBlock(d: DestinationDiff): string {
  // A row is a label and its lines; rows without any are left out.
  const rows: [string, string[]][] = [
    ["gains access", [d.access.gained.map(describeGrantee).join(", ")]],
    ["loses access", [d.access.lost.map(describeGrantee).join(", ")]],
    ["statements", [statementsLine(d, (s) => s) ?? ""]],
    ["policy", [d.otherChanges.join(", ")]],
    ["size", [sizeLine(d)]],
    // Why the guardrail refuses, under its verdict.
    ["guardrail", [guardrailLine(d), ...d.guardrail.messages]],
    ["forceUpdate", [forceUpdateLine(d)]],
    ["grants", grantLines(d, (s) => s, describeGrantee)],
    ["note", [notes(d).join("; ")]],
  ];
  const marker = d.livePolicy === "none" ? "+" : "~";
  const lines = [`${marker} ${where(d)} (${d.file}:${d.line} ${objectName(d)})`];
  for (const [label, [first = "", ...more]] of rows) {
    if (first === "") continue;
    lines.push(
      `    ${`${label}:`.padEnd(14)}${first}`,
      ...more.map((line) => `${" ".repeat(18)}${line}`),
    );
  }
  return `${lines.map(printable).join("\n")}\n\n`;
}

/** A code span that no content can break out of. */
function code(text: string): string {
  const flat = printable(text);
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  const pad = flat.startsWith("`") || flat.endsWith("`") ? " " : "";
  return `${fence}${pad}${flat}${pad}${fence}`;
}

function granteeList(list: readonly Grantee[]): string | undefined {
  if (list.length === 0) return undefined;
  return list
    .map((g) =>
      g.kind === "everyone" ? "**everyone** (any AWS account)" : `${g.kind} ${code(g.id)}`,
    )
    .join(", ");
}

function markdownBlock(d: DestinationDiff): string {
  const role = d.roleArn === undefined ? "" : ` through ${code(d.roleArn)}`;
  const verdict = {
    "not-public": "✅ passes: no statement lets every AWS account in",
    allowed: `⚠️ public (${d.guardrail.publicStatements.map(code).join(", ")}), allowed by \`spec.allowPublicAccess\``,
    refused: `❌ **refused**: public (${d.guardrail.publicStatements.map(code).join(", ")}); the controller will not apply this policy`,
  }[d.guardrail.verdict];
  const force = d.forceUpdate.needed && !d.forceUpdate.set ? "❌ " : "";
  const rows: [string, string | undefined][] = [
    ["Gains access", granteeList(d.access.gained)],
    ["Loses access", granteeList(d.access.lost)],
    ["Statements", statementsLine(d, code)],
    ["Policy", d.otherChanges.map(code).join(", ") || undefined],
    ["Size", sizeLine(d)],
    ["Guardrail", verdict],
    ["forceUpdate", `${force}${forceUpdateLine(d)}`],
    [
      "Grants",
      d.grants === undefined ? undefined : `${String(d.grants.grants.length)} among the inputs`,
    ],
    ["Note", notes(d).join("; ") || undefined],
  ];
  const lines = [
    `#### ${d.livePolicy === "none" ? "New policy" : "Changed policy"}: ${code(d.destinationName)} in ${code(d.region)}${role}`,
    "",
    `From ${code(`${d.file}:${d.line}`)}, LogDestinationPolicy ${code(objectName(d))}`,
    "",
  ];
  for (const [label, value] of rows) {
    if (value === undefined) continue;
    lines.push(`- **${label}:** ${value}`);
    // Why the guardrail refuses, under its verdict.
    if (label === "Guardrail") lines.push(...d.guardrail.messages.map((m) => `  - ${code(m)}`));
    if (label === "Grants")
      lines.push(
        ...grantLines(d, code, (g) => `${g.kind} ${code(g.id)}`).map((line) => `  - ${line}`),
      );
  }
  return `${lines.join("\n")}\n`;
}

function markdown(report: DiffReport): string {
  const { compared, changed, errors } = report.summary;
  if (changed === 0 && errors === 0) return "";
  const counts = `${changed} of ${compared} ${compared === 1 ? "destination" : "destinations"} would change`;
  const failed = errors === 0 ? "" : `; ${errors} ${errors === 1 ? "error" : "errors"}`;
  const parts = [`### Destination access policies\n\n${counts}${failed}.\n`];
  parts.push(...report.destinations.map(markdownBlock));
  if (report.errors.length > 0) {
    parts.push(
      `#### Errors\n\n${report.errors.map((e) => `- ${code(formatError(e))}`).join("\n")}\n`,
    );
  }
  return parts.join("\n");
}
