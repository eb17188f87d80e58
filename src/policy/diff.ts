// A short account of how the policy in AWS differs from the desired one, for condition
// messages and events. Comparison is semantic (see canonical.ts); this only explains it.

import { canonicalJson, normalizePolicy, normalizeStatement, statementList } from "./canonical.ts";
import { parseLivePolicy } from "./grammar.ts";
import { quote, truncate } from "./issues.ts";
import type { NormalizedPolicy, NormalizedStatement, PolicyDocumentInput } from "./types.ts";

/** Kubernetes condition messages are free text, but long ones are unreadable in kubectl. */
export const MAX_DIFF_TEXT_CHARS = 1000;

export interface PolicyDiffSummary {
  equal: boolean;
  /** `Sid <sid>` when the statement has a unique Sid, otherwise `Statement[<index>]`. */
  statementsAdded: string[];
  statementsRemoved: string[];
  statementsChanged: string[];
  /** Principal values named in Principal elements, e.g. an account ID or `Service:<name>`. */
  principalsAdded: string[];
  principalsRemoved: string[];
  text: string;
}

interface Entry {
  key: string;
  label: string;
  content: string;
}

function entries(document: PolicyDocumentInput): Entry[] {
  const statements = statementList(document).map((statement) => normalizeStatement(statement));
  const sidCounts = new Map<string, number>();
  for (const { Sid } of statements) {
    if (Sid !== undefined) sidCounts.set(Sid, (sidCounts.get(Sid) ?? 0) + 1);
  }
  return statements.map((statement, index) => {
    const content = canonicalJson(statement);
    const sid = statement.Sid;
    // Only a unique Sid identifies a statement; otherwise statements match by content.
    return sid !== undefined && sidCounts.get(sid) === 1
      ? { key: `sid:${sid}`, label: `Sid ${sid}`, content }
      : { key: `content:${content}`, label: `Statement[${index}]`, content };
  });
}

function group(list: readonly Entry[]): Map<string, Entry[]> {
  const groups = new Map<string, Entry[]>();
  for (const entry of list) groups.set(entry.key, [...(groups.get(entry.key) ?? []), entry]);
  return groups;
}

function principalNames(statements: readonly NormalizedStatement[]): Set<string> {
  const names = new Set<string>();
  for (const { Principal } of statements) {
    if (Principal === undefined) continue;
    if (Principal === "*") {
      names.add("*");
      continue;
    }
    for (const [type, values] of Object.entries(Principal)) {
      for (const value of values) names.add(type === "AWS" ? value : `${type}:${value}`);
    }
  }
  return names;
}

function minus(a: ReadonlySet<string>, b: ReadonlySet<string>): string[] {
  return [...a].filter((item) => !b.has(item)).sort();
}

function countPhrase(labels: readonly string[], verb: string): string | undefined {
  if (labels.length === 0) return undefined;
  const noun = labels.length === 1 ? "statement" : "statements";
  return `${labels.length} ${noun} ${verb} (${labels.join(", ")})`;
}

function principalPhrase(added: readonly string[], removed: readonly string[]): string | undefined {
  const parts: string[] = [];
  if (added.length > 0) parts.push(`added: ${added.join(", ")}`);
  if (removed.length > 0) parts.push(`removed: ${removed.join(", ")}`);
  return parts.length === 0 ? undefined : `principals ${parts.join("; ")}`;
}

function compare(
  live: { document: PolicyDocumentInput; normalized: NormalizedPolicy } | undefined,
  desired: { document: PolicyDocumentInput; normalized: NormalizedPolicy },
) {
  const liveGroups = group(live === undefined ? [] : entries(live.document));
  const desiredGroups = group(entries(desired.document));
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  for (const [key, wanted] of desiredGroups) {
    const present = liveGroups.get(key) ?? [];
    if (key.startsWith("sid:") && present.length === 1 && wanted.length === 1) {
      if (present[0]?.content !== wanted[0]?.content) changed.push(wanted[0]?.label ?? key);
      continue;
    }
    added.push(...wanted.slice(present.length).map((entry) => entry.label));
  }
  for (const [key, present] of liveGroups) {
    const wanted = desiredGroups.get(key) ?? [];
    if (key.startsWith("sid:") && present.length === 1 && wanted.length === 1) continue;
    removed.push(...present.slice(wanted.length).map((entry) => entry.label));
  }
  const livePrincipals = principalNames(live === undefined ? [] : live.normalized.Statement);
  const desiredPrincipals = principalNames(desired.normalized.Statement);
  return {
    added,
    removed,
    changed,
    principalsAdded: minus(desiredPrincipals, livePrincipals),
    principalsRemoved: minus(livePrincipals, desiredPrincipals),
  };
}

function readLive(live: unknown): PolicyDocumentInput | undefined {
  // DescribeDestinations returns the policy as a string; accept it raw as well as parsed.
  if (typeof live !== "string") return parseLivePolicy(live);
  try {
    return parseLivePolicy(JSON.parse(live));
  } catch {
    return undefined;
  }
}

/**
 * Summarises what applying `desired` would change in `live`, which may be anything read from
 * AWS: a parsed policy, the raw policy string, undefined when there is none, or garbage.
 */
export function summarizePolicyDiff(
  live: unknown,
  desired: PolicyDocumentInput,
): PolicyDiffSummary {
  const liveDocument = readLive(live);
  const liveSide =
    liveDocument === undefined
      ? undefined
      : { document: liveDocument, normalized: normalizePolicy(liveDocument) };
  const desiredSide = { document: desired, normalized: normalizePolicy(desired) };
  const equal =
    liveSide !== undefined &&
    canonicalJson(liveSide.normalized) === canonicalJson(desiredSide.normalized);
  const result = compare(liveSide, desiredSide);
  const summary = {
    equal,
    statementsAdded: equal ? [] : result.added,
    statementsRemoved: equal ? [] : result.removed,
    statementsChanged: equal ? [] : result.changed,
    principalsAdded: equal ? [] : result.principalsAdded,
    principalsRemoved: equal ? [] : result.principalsRemoved,
  };

  const phrases: (string | undefined)[] = [];
  if (equal) phrases.push("no differences");
  else if (liveSide === undefined) {
    phrases.push(
      live === undefined || live === null ? "no live policy" : "unparseable live policy",
    );
  } else {
    const [from, to] = [liveSide.normalized.Version, desiredSide.normalized.Version];
    if (from !== to) phrases.push(`Version changed from ${from} to ${to}`);
    const [fromId, toId] = [liveSide.document.Id, desired.Id];
    if (fromId !== toId) {
      const show = (id: string | undefined) => (id === undefined ? "none" : quote(id));
      phrases.push(`Id changed from ${show(fromId)} to ${show(toId)}`);
    }
    phrases.push(
      countPhrase(summary.statementsAdded, "added"),
      countPhrase(summary.statementsRemoved, "removed"),
      countPhrase(summary.statementsChanged, "changed"),
      principalPhrase(summary.principalsAdded, summary.principalsRemoved),
    );
  }
  const text = phrases.filter((phrase) => phrase !== undefined).join(", ") || "policies differ";
  return { ...summary, text: truncate(text, MAX_DIFF_TEXT_CHARS) };
}
