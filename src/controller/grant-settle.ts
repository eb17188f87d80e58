// After a policy's reconcile: each grant that names it gets its status (only
// when it changes) and keeps or loses its finalizer. The finalizer goes once
// nothing of the grant can be in AWS through this policy: a put (or a proven
// record) without it has landed, or the policy writes nothing for grants at all
// (refused, yielding to another owner, observing) or is gone.
import type { LogDestinationGrant } from "../api/grant.ts";
import { GRANT_FINALIZER } from "../api/names.ts";
import { refOf } from "../kube/keys.ts";
import { canonicalJson } from "../policy/canonical.ts";
import { grantKey } from "../policy/merge.ts";
import { conditionsFor, sameConditions } from "./conditions.ts";
import type { ReconcileContext, ReconcileDeps } from "./context.ts";
import { grantView, policyText, type GrantView } from "./grant-status.ts";
import type { Outcome, Reason } from "./outcomes.ts";
import { GRANT_WRITES_IN_FLIGHT } from "./options.ts";
import { mapConcurrently } from "../util/map-concurrently.ts";

/** Outcomes after which the policy writes nothing for its grants. */
const WRITES_NOTHING_FOR_GRANTS: ReadonlySet<Reason> = new Set<Reason>([
  "NotPermitted",
  "InvalidSpec",
  "UnsafePolicy",
  "RoleNotAllowed",
  "Conflict",
  "InSync",
  "OutOfSync",
]);

const keyOfGrant = (grant: LogDestinationGrant) =>
  grantKey({ namespace: grant.metadata.namespace ?? "", name: grant.metadata.name });

export async function settleGrants(
  ctx: ReconcileContext,
  deps: ReconcileDeps,
  outcome: Outcome,
): Promise<void> {
  const policyKey = `${ctx.ref.namespace}/${ctx.ref.name}`;
  const accepts = ctx.spec?.grants !== undefined;
  deps.grantMetrics.sharedBytes(
    policyKey,
    accepts && ctx.recorded && ctx.desired ? Buffer.byteLength(ctx.desired.canonical) : undefined,
  );
  const releaseAll = WRITES_NOTHING_FOR_GRANTS.has(outcome.reason);
  await mapConcurrently(deps.grantsOf(policyKey), GRANT_WRITES_IN_FLIGHT, async (grant) => {
    const key = keyOfGrant(grant);
    const view = grantView(grant, key, ctx, deps, outcome);
    if (view) await writeStatus(grant, view, deps);
    deps.grantMetrics.reason(key, view?.reason);
    const released = ctx.recorded === true && ctx.grants?.next.has(key) !== true;
    if (releaseAll || released) await releaseFinalizer(grant, deps);
  });
}

/** The policy a grant names does not exist (any more): nothing of the grant can be written. */
export async function orphanGrants(policyKey: string, deps: ReconcileDeps): Promise<void> {
  deps.grantMetrics.sharedBytes(policyKey, undefined);
  const ref = refOf(policyKey);
  await mapConcurrently(deps.grantsOf(policyKey), GRANT_WRITES_IN_FLIGHT, async (grant) => {
    const key = keyOfGrant(grant);
    if (!grant.metadata.deletionTimestamp) {
      await writeStatus(
        grant,
        {
          reason: "PolicyNotFound",
          message: `spec.policyRef: ${policyText(ref)} does not exist; the grant is applied once it does and accepts it`,
        },
        deps,
      );
    }
    deps.grantMetrics.reason(key, grant.metadata.deletionTimestamp ? undefined : "PolicyNotFound");
    await releaseFinalizer(grant, deps);
  });
}

async function releaseFinalizer(grant: LogDestinationGrant, deps: ReconcileDeps): Promise<void> {
  const uid = grant.metadata.uid ?? keyOfGrant(grant);
  const held = deps.grantMemory.get(uid)?.held;
  const finalizers = grant.metadata.finalizers ?? [];
  // What this process did last counts over a cache that may lag it.
  if (held === false || (held === undefined && !finalizers.includes(GRANT_FINALIZER))) return;
  await tolerateGone(
    deps.grantWriter.patchGrantFinalizers(
      refOf(keyOfGrant(grant)),
      finalizers.filter((f) => f !== GRANT_FINALIZER),
      grant.metadata.resourceVersion ?? "",
    ),
  );
  deps.grantMemory.set(uid, { ...deps.grantMemory.get(uid), held: false });
}

const FIELDS = ["destinationArn", "policyHash", "bytes", "applied"] as const;

/**
 * Only the controller writes a grant's status, so what this process wrote last
 * is what the API server holds; the cache, which may lag, decides only for a
 * grant this process has not written yet (after a restart). Every write carries
 * the whole status: a field the view leaves out is cleared, so no field ever
 * outlives what made it true (a refused grant's old `applied`, say).
 */
async function writeStatus(
  grant: LogDestinationGrant,
  view: GrantView,
  deps: ReconcileDeps,
): Promise<void> {
  const status = grant.status ?? {};
  const generation = grant.metadata.generation ?? 0;
  const uid = grant.metadata.uid ?? keyOfGrant(grant);
  const written = canonicalJson({ ...view, generation });
  const remembered = deps.grantMemory.get(uid)?.status;
  const conditions = conditionsFor(
    status.conditions ?? [],
    { reason: view.reason, message: view.message },
    generation,
    deps.now(),
  );
  const same =
    remembered !== undefined
      ? remembered === written
      : sameConditions(status.conditions, conditions) &&
        status.observedGeneration === generation &&
        FIELDS.every((field) => canonicalJson(status[field]) === canonicalJson(view[field]));
  if (!same) {
    const patch: Record<string, unknown> = { conditions, observedGeneration: generation };
    for (const field of FIELDS) patch[field] = view[field] ?? null;
    // Merge patch merges objects: `applied` travels whole, so a principal that left does not linger.
    if (view.applied) patch.applied = { ...nulls(status.applied), ...view.applied };
    await tolerateGone(deps.grantWriter.patchGrantStatus(refOf(keyOfGrant(grant)), patch));
  }
  deps.grantMemory.set(uid, { ...deps.grantMemory.get(uid), status: written });
}

function nulls(applied: object | undefined): Record<string, null> {
  return Object.fromEntries(Object.keys(applied ?? {}).map((k) => [k, null]));
}

/** A grant deleted since the cache last saw it needs nothing more. */
async function tolerateGone(write: Promise<void>): Promise<void> {
  try {
    await write;
  } catch (error) {
    if ((error as { code?: unknown }).code === 404) return;
    throw error;
  }
}
