// Computes the next status conditions from the current ones and an outcome.
// Pure, so the summarize step can compare old and new and skip a status write
// when nothing changed.
import { printable } from "../util/quote.ts";
import type { Condition } from "../api/v1alpha1.ts";
import { OUTCOMES, type Outcome } from "./outcomes.ts";
import { rfc3339 } from "../util/time.ts";

export const READY = "Ready";
export const RECONCILING = "Reconciling";
export const STALLED = "Stalled";

const MESSAGE_MAX = 32_768;

function upsert(
  previous: readonly Condition[],
  next: Omit<Condition, "lastTransitionTime">,
  now: string,
): Condition {
  const old = previous.find((c) => c.type === next.type);
  const lastTransitionTime = old?.status === next.status ? old.lastTransitionTime : now;
  return { ...next, lastTransitionTime };
}

/** Ready is always present; Reconciling and Stalled only while True (kstatus). */
export function conditionsFor(
  previous: readonly Condition[],
  outcome: Outcome,
  generation: number,
  now: Date,
): Condition[] {
  const rule = OUTCOMES[outcome.reason];
  const at = rfc3339(now);
  // Values inside are quoted already; this catches any raw control character left.
  const message = printable(outcome.message).slice(0, MESSAGE_MAX);
  const base = { observedGeneration: generation, reason: outcome.reason, message };
  const result = [upsert(previous, { type: READY, status: rule.ready, ...base }, at)];
  if (rule.reconciling)
    result.push(upsert(previous, { type: RECONCILING, status: "True", ...base }, at));
  if (rule.stalled) result.push(upsert(previous, { type: STALLED, status: "True", ...base }, at));
  // Conditions owned by others (any type not listed above) are kept as they are.
  for (const c of previous) {
    if (c.type !== READY && c.type !== RECONCILING && c.type !== STALLED) result.push(c);
  }
  return result;
}

export function sameConditions(
  a: readonly Condition[] | undefined,
  b: readonly Condition[],
): boolean {
  if (a?.length !== b.length) return false;
  return a.every((c, i) => {
    const d = b[i];
    return (
      c.type === d?.type &&
      c.status === d.status &&
      c.reason === d.reason &&
      c.message === d.message &&
      c.observedGeneration === d.observedGeneration &&
      c.lastTransitionTime === d.lastTransitionTime
    );
  });
}

export function readyReason(conditions: readonly Condition[] | undefined): string | undefined {
  return conditions?.find((c) => c.type === READY)?.reason;
}
