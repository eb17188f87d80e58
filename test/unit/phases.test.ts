// Every reconcile phase, one table each: given an object, what earlier phases
// found, fake AWS and API-server answers and a fake clock, the phase's result
// (continue, stop, or the outcome's reason), what it left in the context for
// the phases after it, and the calls it made.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LAST_APPLIED_ANNOTATION, REVOKE_FINALIZER } from "../../src/api/names.ts";
import { OVERSIZED_POLICY_MARK } from "../../src/api/v1alpha1.ts";
import type { LogDestinationPolicy } from "../../src/api/v1alpha1.ts";
import { RoleAllowList, RoleNotAllowedError } from "../../src/aws/roles.ts";
import type { Phase, ReconcileContext, ReconcileDeps } from "../../src/controller/context.ts";
import { ReconcileFailure, type Reason } from "../../src/controller/outcomes.ts";
import {
  applyPolicy,
  compareWithLastApplied,
  recordApplied,
} from "../../src/controller/phases/apply.ts";
import { DeletionObserved } from "../../src/controller/phases/aws-failure.ts";
import {
  DENY_ALL_POLICY,
  finalizeDeletion,
  syncFinalizer,
} from "../../src/controller/phases/deletion.ts";
import {
  refuseUnsafePolicy,
  skipSuspended,
  skipWhileStalled,
  validateSpec,
  yieldToOwner,
} from "../../src/controller/phases/guards.ts";
import { locateDestination } from "../../src/controller/phases/locate.ts";
import { detectDrift, observeLivePolicy } from "../../src/controller/phases/observe.ts";
import { checkPermission } from "../../src/controller/phases/permission.ts";
import { awsError, type AwsScript } from "./fakes/aws.ts";
import {
  contextFor,
  GOOD,
  live,
  OTHER,
  phaseWorld,
  policyObject,
  START,
  withProvenRecord,
  type PhaseWorld,
} from "./fakes/objects.ts";

interface Row {
  name: string;
  object?: LogDestinationPolicy;
  aws?: AwsScript;
  deps?: Partial<ReconcileDeps>;
  /** What earlier phases would have found; by default the spec is validated. */
  given?: (ctx: ReconcileContext, world: PhaseWorld) => void;
  /** The call's signal is aborted with this reason. */
  aborted?: unknown;
  result: "continue" | "stop" | Reason;
  message?: RegExp;
  calls?: string[];
  /** Context fields the phase must leave as given. */
  ctx?: Partial<Record<keyof ReconcileContext, unknown>>;
  then?: (ctx: ReconcileContext, world: PhaseWorld) => void;
}

const swept = (policy = GOOD) => ({ live: live(policy), at: START - 1000 });
const deleted = (spec: Record<string, unknown> = { deletionPolicy: "Revoke" }) =>
  withProvenRecord(
    policyObject("p", spec, {
      deletionTimestamp: "2025-06-01T00:00:00Z",
      finalizers: [REVOKE_FINALIZER],
    }),
  );
const previously = (reason: Reason) =>
  policyObject(
    "p",
    {},
    {
      status: {
        conditions: [
          {
            type: "Ready",
            status: "False",
            reason,
            message: "",
            lastTransitionTime: "2025-12-31T00:00:00Z",
          },
        ],
      },
    },
  );
const refused = {
  permitted: false as const,
  bindings: [],
  refusals: [],
  reason: "no binding selects namespace ns",
  message: "No binding permits this object",
};

async function run(phase: Phase, row: Row) {
  const world = phaseWorld(row.aws, row.deps);
  const abort = new AbortController();
  const ctx = contextFor(row.object ?? policyObject(), abort.signal);
  if (phase !== validateSpec) validateSpec(ctx, world.deps);
  row.given?.(ctx, world);
  if (row.aborted !== undefined) abort.abort(row.aborted);
  let result: string;
  let message: string | undefined;
  try {
    const r = await phase(ctx, world.deps);
    result = r === undefined ? "continue" : r === "stop" ? "stop" : r.reason;
    message = r === undefined || r === "stop" ? undefined : r.message;
  } catch (error) {
    if (!(error instanceof ReconcileFailure)) throw error;
    result = error.reason;
    message = error.message;
  }
  return { ctx, world, result, message };
}

function table(phase: Phase, rows: Row[]): void {
  for (const row of rows) {
    test(row.name, async () => {
      const { ctx, world, result, message } = await run(phase, row);
      assert.equal(result, row.result);
      if (row.message) assert.match(message ?? "", row.message);
      assert.deepEqual(world.calls, row.calls ?? []);
      for (const [field, value] of Object.entries(row.ctx ?? {})) {
        assert.deepEqual(ctx[field as keyof ReconcileContext], value, `ctx.${field}`);
      }
      row.then?.(ctx, world);
    });
  }
}

describe("guards: suspend", () => {
  table(skipSuspended, [
    {
      name: "a suspended object ends as Suspended",
      object: policyObject("p", { suspend: true }),
      result: "Suspended",
      message: /spec\.suspend/,
    },
    { name: "an object not suspended continues", result: "continue" },
  ]);
});

describe("guards: validate", () => {
  table(validateSpec, [
    {
      name: "a valid spec continues with its desired state",
      result: "continue",
      then: (ctx) => {
        assert.equal(ctx.desired?.destinationName, "d");
        assert.equal(ctx.spec?.mode, "Enforce");
      },
    },
    {
      name: "a spec without destinationName is InvalidSpec naming the field",
      object: policyObject("p", { destinationName: undefined }),
      result: "InvalidSpec",
      message: /spec\.destinationName/,
    },
    {
      name: "a policy the cache kept only as its size is InvalidSpec naming AWS's limit",
      object: policyObject("p", { accessPolicy: { [OVERSIZED_POLICY_MARK]: 9000 } }),
      result: "InvalidSpec",
      message: /spec\.accessPolicy: 9000 characters .* at most 5120 bytes/,
    },
    {
      name: "no region in the spec and no default region is InvalidSpec naming spec.region",
      object: policyObject("p", { region: undefined }),
      deps: { defaultRegion: undefined },
      result: "InvalidSpec",
      message: /spec\.region/,
    },
  ]);
});

describe("guards: public access", () => {
  const open = {
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Principal: "*", Action: "logs:PutSubscriptionFilter", Resource: "*" },
    ],
  };
  table(refuseUnsafePolicy, [
    { name: "a policy granting named accounts continues", result: "continue" },
    {
      name: "a policy every AWS account may use is UnsafePolicy",
      object: policyObject("p", { accessPolicy: open }),
      result: "UnsafePolicy",
      message: /allowPublicAccess: true/,
    },
    {
      name: "allowPublicAccess lets a public policy through",
      object: policyObject("p", { accessPolicy: open, allowPublicAccess: true }),
      result: "continue",
    },
    {
      name: "allowPublicAccess is refused when the controller forbids the override",
      object: policyObject("p", { accessPolicy: open, allowPublicAccess: true }),
      deps: { denyPublicAccessOverride: true },
      result: "UnsafePolicy",
      message: /--deny-public-access-override/,
    },
  ]);
});

describe("guards: ownership and stalls", () => {
  table(yieldToOwner, [
    { name: "an object that owns its destination continues", result: "continue" },
    {
      name: "an object whose destination an older one owns is Conflict and forgets its record",
      deps: { ownerOf: () => "ns/older" },
      given: (_ctx, w) => w.deps.memory.set("uid-p", { generation: 1, annotation: "x" }),
      result: "Conflict",
      message: /older LogDestinationPolicy "older" of this namespace/,
      ctx: { forgetRecord: true },
      then: (_ctx, w) => {
        assert.equal(w.deps.memory.has("uid-p"), false);
      },
    },
  ]);
  const stalledAt = (generation: number) =>
    policyObject(
      "p",
      {},
      {
        generation: 2,
        status: {
          conditions: [
            {
              type: "Stalled",
              status: "True",
              reason: "AWSRejected",
              message: "rejected",
              observedGeneration: generation,
              lastTransitionTime: "2025-12-31T00:00:00Z",
            },
          ],
        },
      },
    );
  table(skipWhileStalled, [
    {
      name: "an object AWS rejected at this generation stays AWSRejected without a call",
      object: stalledAt(2),
      result: "AWSRejected",
      message: /rejected/,
    },
    {
      name: "an object AWS rejected at an older generation is tried again",
      object: stalledAt(1),
      result: "continue",
    },
  ]);
});

describe("permission", () => {
  table(checkPermission, [
    { name: "a permitted object continues", result: "continue" },
    {
      name: "an object no binding permits is NotPermitted with the decision's message",
      deps: { permission: () => refused },
      result: "NotPermitted",
      message: /No binding permits/,
    },
  ]);
});

describe("deletion: finalizer", () => {
  table(syncFinalizer, [
    {
      name: "deletionPolicy Revoke in Enforce mode adds the finalizer",
      object: policyObject("p", { deletionPolicy: "Revoke" }),
      result: "continue",
      calls: ["kube.finalizers ns/p"],
      then: (_c, w) => {
        assert.deepEqual(w.writer.finalizers, [[REVOKE_FINALIZER]]);
      },
    },
    {
      name: "deletionPolicy Revoke in Observe mode holds no finalizer",
      object: policyObject("p", { deletionPolicy: "Revoke", mode: "Observe" }),
      result: "continue",
    },
    {
      name: "deletionPolicy Retain drops the finalizer and keeps others' finalizers",
      object: policyObject("p", {}, { finalizers: ["other/x", REVOKE_FINALIZER] }),
      result: "continue",
      calls: ["kube.finalizers ns/p"],
      then: (_c, w) => {
        assert.deepEqual(w.writer.finalizers, [["other/x"]]);
      },
    },
  ]);
});

describe("deletion: finalize", () => {
  table(finalizeDeletion, [
    { name: "an object not being deleted continues", result: "continue" },
    {
      name: "a deleted object without the finalizer stops with no call",
      object: policyObject("p", {}, { deletionTimestamp: "2025-06-01T00:00:00Z" }),
      result: "stop",
    },
    {
      name: "a deleted Revoke object with a proven record revokes, then drops the finalizer",
      object: deleted(),
      result: "stop",
      calls: ["aws.put d", "kube.finalizers ns/p"],
      ctx: {
        notice: {
          reason: "Revoked",
          message: 'The destination "d" in "us-east-1" now denies every principal',
        },
      },
      then: (_c, w) => {
        assert.equal(w.aws.puts[0]?.accessPolicy, DENY_ALL_POLICY);
      },
    },
    {
      name: "a deleted object without a proven record revokes nothing and says why",
      object: { ...deleted(), status: {} },
      result: "stop",
      calls: ["kube.finalizers ns/p"],
      then: (ctx) => {
        assert.match(ctx.notice?.message ?? "", /no last-applied record/);
      },
    },
    {
      name: "a deleted object whose destination another object owns revokes nothing",
      object: deleted(),
      deps: { ownerOf: () => "ns/older" },
      result: "stop",
      calls: ["kube.finalizers ns/p"],
      then: (ctx) => {
        assert.equal(ctx.notice?.reason, "RevokeSkipped");
      },
    },
    {
      name: "a deleted object no binding permits makes no AWS call",
      object: deleted(),
      deps: { permission: () => refused },
      result: "stop",
      calls: ["kube.finalizers ns/p"],
      then: (ctx) => {
        assert.match(ctx.notice?.message ?? "", /no binding selects/);
      },
    },
    {
      name: "a revoke whose destination is gone lets the object go",
      object: deleted(),
      aws: { put: [awsError("not-found")] },
      result: "stop",
      calls: ["aws.put d", "kube.finalizers ns/p"],
      ctx: { notice: undefined },
    },
    {
      name: "a failing revoke is RevokeFailed and keeps the finalizer",
      object: deleted(),
      aws: { put: [awsError("access-denied")] },
      result: "RevokeFailed",
      message: /finalizer stays/,
      calls: ["aws.put d"],
    },
  ]);
});

describe("observe: Observe mode", () => {
  const observed = (extra = {}) => policyObject("p", { mode: "Observe" }, extra);
  table(observeLivePolicy, [
    { name: "an Enforce object continues without a read", result: "continue" },
    {
      name: "a live policy equal to the desired one is InSync",
      object: observed(),
      aws: { describe: [live(GOOD)] },
      result: "InSync",
      calls: ["aws.describe d"],
      ctx: { checkedAt: new Date(START) },
    },
    {
      name: "a live policy that differs is OutOfSync and says how",
      object: observed(),
      aws: { describe: [live(OTHER)] },
      result: "OutOfSync",
      message: /Observe mode never writes/,
      calls: ["aws.describe d"],
    },
    {
      name: "a destination that does not exist is DestinationNotFound",
      object: observed(),
      result: "DestinationNotFound",
      calls: ["aws.describe d"],
    },
    {
      name: "a read AWS refuses is AccessDenied",
      object: observed(),
      aws: { describe: [awsError("access-denied")] },
      result: "AccessDenied",
      calls: ["aws.describe d"],
    },
    {
      name: "an object read less than the floor ago stops and looks again once the floor allows",
      object: observed(),
      given: (_c, w) => w.deps.lastRead.set("uid-p", START - 20_000),
      result: "stop",
      ctx: { requeueAfterMs: 40_000 },
    },
    {
      name: "a sweep's answer is used instead of a read",
      object: observed(),
      given: (ctx) => Object.assign(ctx, { swept: swept(OTHER) }),
      result: "OutOfSync",
      ctx: { checkedAt: new Date(START - 1000) },
    },
  ]);
});

describe("observe: drift in Enforce mode", () => {
  const inSync = (ctx: ReconcileContext) => (ctx.inSync = "already");
  const sweptWith = (policy: typeof GOOD) => (ctx: ReconcileContext) =>
    Object.assign(ctx, { inSync: "already", swept: swept(policy) });
  table(detectDrift, [
    { name: "an object not known to be in sync continues without a read", result: "continue" },
    {
      name: "a settled object is left to the sweeps: no read",
      given: inSync,
      result: "continue",
      ctx: { inSync: "already" },
    },
    {
      name: "a sweep that saw the applied policy changes nothing",
      given: sweptWith(GOOD),
      result: "continue",
      ctx: { inSync: "already", drift: undefined },
    },
    {
      name: "drift a sweep saw is corrected: the apply phase runs",
      given: sweptWith(OTHER),
      result: "continue",
      ctx: { inSync: undefined },
      then: (ctx) => {
        assert.match(ctx.drift ?? "", /drifted from the applied one/);
      },
    },
    {
      name: "drift with driftPolicy Report is Drifted and left as is",
      object: policyObject("p", { driftPolicy: "Report" }),
      given: sweptWith(OTHER),
      result: "Drifted",
      message: /left as is/,
    },
    {
      name: "a destination a sweep found gone is DestinationNotFound",
      given: (ctx) =>
        Object.assign(ctx, { inSync: "already", swept: { live: undefined, at: START } }),
      result: "DestinationNotFound",
      message: /no longer exists/,
    },
    {
      name: "a retry after an AWS error reads the live policy itself",
      object: previously("AWSUnavailable"),
      given: inSync,
      aws: { describe: [live(GOOD)] },
      result: "continue",
      calls: ["aws.describe d"],
      ctx: { inSync: "already" },
    },
    {
      name: "a retry after a stall reads nothing",
      object: previously("AWSRejected"),
      given: inSync,
      result: "continue",
    },
    {
      name: "a record that proves nothing is verified by a read",
      given: (ctx) => (ctx.verify = true),
      aws: { describe: [live(GOOD)] },
      result: "continue",
      calls: ["aws.describe d"],
      ctx: { inSync: "already" },
    },
    {
      name: "a record that proves nothing, against a differing policy, leaves the put to apply",
      given: (ctx) => (ctx.verify = true),
      aws: { describe: [live(OTHER)] },
      result: "continue",
      calls: ["aws.describe d"],
      ctx: { inSync: undefined },
    },
  ]);
});

describe("apply: compare with the record", () => {
  table(compareWithLastApplied, [
    {
      name: "no record: the policy is put",
      result: "continue",
      ctx: { inSync: undefined, verify: undefined },
    },
    {
      name: "a proven record of the desired state skips the put",
      object: withProvenRecord(policyObject()),
      result: "continue",
      ctx: { inSync: "already" },
    },
    {
      name: "a record this process remembers writing skips the put",
      given: (ctx, w) =>
        w.deps.memory.set("uid-p", { generation: 1, annotation: ctx.desired?.annotation ?? "" }),
      result: "continue",
      ctx: { inSync: "already" },
    },
    {
      name: "a record copied from another object is verified first",
      object: { ...withProvenRecord(policyObject()), status: {} },
      result: "continue",
      ctx: { inSync: undefined, verify: true },
    },
    {
      name: "a proven record made before another object wrote the destination is verified first",
      object: withProvenRecord(policyObject()),
      deps: { recordSuspect: () => true },
      result: "continue",
      ctx: { inSync: undefined, verify: true },
    },
  ]);
});

describe("apply: put", () => {
  table(applyPolicy, [
    {
      name: "a put that lands leaves the object in sync and remembered",
      result: "continue",
      calls: ["aws.put d"],
      ctx: { inSync: "written", appliedAt: new Date(START), checkedAt: new Date(START) },
      then: (ctx, w) => {
        assert.equal(w.deps.memory.get("uid-p")?.annotation, ctx.desired?.annotation);
      },
    },
    {
      name: "an object already in sync makes no call",
      given: (ctx) => (ctx.inSync = "already"),
      result: "continue",
    },
    {
      name: "a policy AWS rejects is AWSRejected",
      aws: { put: [awsError("invalid")] },
      result: "AWSRejected",
      calls: ["aws.put d"],
    },
    {
      name: "a missing destination is DestinationNotFound",
      aws: { put: [awsError("not-found")] },
      result: "DestinationNotFound",
      calls: ["aws.put d"],
    },
    {
      name: "a put AWS refuses is AccessDenied",
      aws: { put: [awsError("access-denied")] },
      result: "AccessDenied",
      calls: ["aws.put d"],
    },
    {
      name: "a put that failed every retry is AWSUnavailable",
      aws: { put: [awsError("transient", 5)] },
      result: "AWSUnavailable",
      message: /after 5 attempts/,
      calls: ["aws.put d"],
    },
    {
      name: "an AWS error of no known kind is ReconcileError",
      aws: { put: [awsError("unknown")] },
      result: "ReconcileError",
      calls: ["aws.put d"],
    },
    {
      name: "a role outside the allow-list is RoleNotAllowed naming spec.roleArn",
      aws: {
        put: [new RoleNotAllowedError("arn:aws:iam::123456789012:role/r", RoleAllowList.parse([]))],
      },
      result: "RoleNotAllowed",
      message: /^spec\.roleArn: /,
      calls: ["aws.put d"],
    },
    {
      name: "a put cut short by the object's deletion is Interrupted",
      aborted: new DeletionObserved("ns/p"),
      aws: { put: [new Error("aborted")] },
      result: "Interrupted",
      message: /deletion interrupted/,
      calls: ["aws.put d"],
    },
    {
      name: "a put cut short by shutdown is Interrupted",
      aborted: new Error("stop"),
      aws: { put: [new Error("aborted")] },
      result: "Interrupted",
      message: /^Shutdown interrupted/,
      calls: ["aws.put d"],
    },
  ]);
});

describe("apply: record", () => {
  const written = (ctx: ReconcileContext) => (ctx.inSync = "written");
  table(recordApplied, [
    {
      name: "a new record is written to the annotation, then the object is Applied",
      given: written,
      result: "Applied",
      calls: ["kube.annotations ns/p"],
      then: (ctx, w) => {
        assert.deepEqual(w.writer.annotations, [
          { [LAST_APPLIED_ANNOTATION]: ctx.desired?.annotation },
        ]);
      },
    },
    {
      name: "a record already in place is not written again",
      object: withProvenRecord(policyObject()),
      result: "Applied",
      message: /^Policy sha256:\w+ is applied to destination "d" in "us-east-1"$/,
    },
    {
      name: "a corrected drift is said in the message",
      object: withProvenRecord(policyObject()),
      given: (ctx) => (ctx.drift = "The live policy drifted"),
      result: "Applied",
      message: /corrected drift\. The live policy drifted$/,
    },
  ]);
});

describe("locate", () => {
  const account = { partition: "aws", accountId: "123456789012" };
  table(locateDestination as Phase, [
    {
      name: "a policy in sync learns the account that holds it",
      given: (ctx) => (ctx.inSync = "written"),
      aws: { account },
      result: "continue",
      calls: ["aws.account"],
      ctx: { account },
    },
    { name: "a policy not in sync asks nothing", result: "continue", ctx: { account: undefined } },
    {
      name: "a policy whose ARN was read asks nothing",
      given: (ctx) =>
        Object.assign(ctx, {
          inSync: "already",
          liveArn: "arn:aws:logs:us-east-1:123456789012:destination:d",
        }),
      aws: { account },
      result: "continue",
    },
  ]);
});
