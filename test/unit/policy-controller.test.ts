// PolicyController against a scripted world: a cache of objects, fake AWS and
// API-server answers, an event recorder and a clock the test moves. One row per
// case: the reason status ends with, its conditions, how the object is looked
// at again, the events and every call. Every reason of the outcome table must
// be reached by a row.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { setImmediate as turn } from "node:timers/promises";
import { pino } from "pino";
import { API_VERSION, REVOKE_FINALIZER } from "../../src/api/names.ts";
import type { LogDestinationPolicy } from "../../src/api/v1alpha1.ts";
import { RoleAllowList, RoleNotAllowedError } from "../../src/aws/roles.ts";
import {
  PolicyController,
  REQUEUE_BACKOFF,
  type ControllerOptions,
} from "../../src/controller/controller.ts";
import { GRANT_REASONS, OUTCOMES, type Reason } from "../../src/controller/outcomes.ts";
import { FIRST_SWEEP_DELAY_MS } from "../../src/controller/sweep.ts";
import { Tenancy } from "../../src/controller/tenancy.ts";
import { keyOf } from "../../src/kube/keys.ts";
import { ControllerMetrics } from "../../src/metrics/metrics.ts";
import { awsError, FakeAws, type AwsScript } from "./fakes/aws.ts";
import { FakeClock } from "./fakes/clock.ts";
import { FakeEvents, FakeWriter } from "./fakes/kube.ts";
import { GOOD, live, OTHER, policyObject, START, withProvenRecord } from "./fakes/objects.ts";

const INTERVAL = 600_000;

/** The binding that lets namespaces labelled team=a write these destinations. */
function teamBinding(destinations: string[], generation = 1) {
  return {
    apiVersion: API_VERSION,
    kind: "LogDestinationPolicyBinding" as const,
    metadata: { name: "team-a", generation },
    spec: {
      namespaceSelector: { matchLabels: { team: "a" } },
      destinations,
      regions: ["us-east-1"],
      principals: { accounts: ["111111111111"] },
    },
  };
}

/** Tenancy in which namespace ns (team=a) may write destination d. */
function permittingTenancy(): Tenancy {
  const tenancy = new Tenancy(true, () => () => false);
  tenancy.upsertNamespace({ metadata: { name: "ns", labels: { team: "a" } } });
  tenancy.upsertBinding(teamBinding(["d"]));
  return tenancy;
}

class World {
  readonly calls: string[] = [];
  readonly aws: FakeAws;
  readonly writer = new FakeWriter(this.calls);
  readonly events = new FakeEvents();
  readonly clock = new FakeClock(START);
  readonly objects = new Map<string, LogDestinationPolicy>();
  readonly controller: PolicyController;
  readonly #running: Promise<void>;

  constructor(script: AwsScript, options: Partial<ControllerOptions>) {
    this.aws = new FakeAws(script, this.calls);
    const cache = {
      get: (namespace: string, name: string) => this.objects.get(`${namespace}/${name}`),
      synced: true,
    };
    this.controller = new PolicyController(
      cache,
      this.aws,
      this.writer,
      this.events,
      new ControllerMetrics(undefined, { defaultMetrics: false }),
      pino({ level: "silent" }),
      {
        concurrency: 1,
        defaultRegion: "us-east-1",
        defaultDriftIntervalMs: INTERVAL,
        denyPublicAccessOverride: false,
        clock: this.clock,
        ...options,
      },
    );
    this.#running = this.controller.run();
  }

  /** The watch reports the object as it is now. */
  put(object: LogDestinationPolicy): void {
    this.objects.set(keyOf(object.metadata), object);
    this.controller.upsert(object);
  }

  /** Every fake answers at once, so a turn of the event loop ends every reconcile it started. */
  async settle(): Promise<void> {
    do await turn();
    while (this.controller.waiting > 0);
  }

  /** Fires the next timer (a requeue or a sweep) and lets what it started finish. */
  async tick(): Promise<void> {
    await this.clock.next();
    await this.settle();
  }

  async stop(): Promise<void> {
    this.controller.stop(true);
    await this.#running;
  }

  /** How the object is looked at again, from the timers that are set. */
  requeues(): string[] {
    return this.clock.pending().map((t) => {
      if (t.delayMs === REQUEUE_BACKOFF.baseMs) return "backoff";
      if (t.delayMs === FIRST_SWEEP_DELAY_MS) return "sweep";
      if (t.delayMs >= INTERVAL * 0.9 && t.delayMs <= INTERVAL * 1.1) return "timer";
      return `after ${String(t.delayMs)} ms`;
    });
  }

  /** The conditions of the key's last status write that had any, e.g. "Ready=False Stalled=True". */
  conditions(key: string): { reason: string | undefined; conditions: string } {
    const last = this.writer.statuses.filter((s) => s.key === key && s.patch.conditions).at(-1);
    const conditions = last?.patch.conditions ?? [];
    return {
      reason: conditions.find((c) => c.type === "Ready")?.reason,
      conditions: conditions.map((c) => `${c.type}=${c.status}`).join(" "),
    };
  }
}

interface Row {
  name: string;
  object: LogDestinationPolicy;
  aws?: AwsScript;
  options?: Partial<ControllerOptions>;
  /** What happens; by default the watch reports the object once. */
  act?: (world: World, object: LogDestinationPolicy) => Promise<void>;
  expect: {
    /** The reason status ends with; undefined when no status was written. */
    reason: Reason | undefined;
    conditions?: string;
    requeue: string[];
    /** The object's events, as "Type Reason Action". */
    events: string[];
    calls: string[];
  };
}

const STALLED = "Ready=False Stalled=True";
const RETRYING = "Ready=False Reconciling=True";
const PUT = "aws.put d";
const STATUS = "kube.status ns/p";
/** The controller's own account, looked up once, before its first AWS call. */
const WHO = "aws.account";
/** A put, its record and status, once the account is known. */
const APPLIED_AGAIN = [PUT, "kube.annotations ns/p", STATUS];
const deleting = { deletionTimestamp: "2025-06-01T00:00:00Z" };
/** A put that fails: `when` says how, for the test's name; stalled or retried with backoff. */
const failing = (when: string, reason: Reason, error: Error, retried: boolean): Row => ({
  name: `${when} ends as ${reason}${retried ? ", retried with backoff" : ", stalled until the spec changes"}`,
  object: policyObject(),
  aws: { put: [error] },
  expect: {
    reason,
    conditions: retried ? RETRYING : STALLED,
    requeue: retried ? ["backoff"] : [],
    events: [`Warning ${reason} Reconcile`],
    calls: [WHO, PUT, STATUS],
  },
});

const observing = (policy: typeof GOOD, reason: Reason, conditions: string, type: string): Row => ({
  name: `an Observe object whose live policy ${policy === GOOD ? "matches" : "differs"} is ${reason}, and swept`,
  object: policyObject("p", { mode: "Observe" }),
  aws: { describe: [live(policy)] },
  expect: {
    reason,
    conditions,
    requeue: ["sweep"],
    events: [`${type} ${reason} Reconcile`],
    calls: [WHO, "aws.describe d", STATUS],
  },
});
/** The object is applied, then its first sweep reads this policy. */
const sweepFinds =
  (policy: typeof GOOD) =>
  async (w: World, object: LogDestinationPolicy): Promise<void> => {
    w.put(object);
    await w.settle();
    w.aws.script.list = [[live(policy)]];
    await w.tick();
  };

/** A first apply: who the controller is, put, record, status. */
const APPLIED: Row["expect"] = {
  reason: "Applied",
  conditions: "Ready=True",
  requeue: ["sweep"],
  events: ["Normal Applied PutDestinationPolicy"],
  calls: [WHO, ...APPLIED_AGAIN],
};

const rows: Row[] = [
  {
    name: "a new object's policy is put and recorded, the object is Ready, and the drift sweep looks next",
    object: policyObject(),
    aws: { account: { partition: "aws", accountId: "123456789012" } },
    expect: APPLIED,
  },
  {
    name: "an object whose status write echoes back is not reconciled again",
    object: policyObject(),
    act: async (w, object) => {
      w.put(object);
      await w.settle();
      w.put({
        ...object,
        metadata: { ...object.metadata, resourceVersion: "2" },
        status: { observedGeneration: 1 },
      });
      await w.settle();
    },
    expect: APPLIED,
  },
  {
    name: "an object AWS already holds with a proven record makes no AWS write and emits no event",
    object: withProvenRecord(
      policyObject(
        "p",
        {},
        {
          status: {
            observedGeneration: 1,
            conditions: [
              {
                type: "Ready",
                status: "True",
                reason: "Applied",
                message: "",
                observedGeneration: 1,
                lastTransitionTime: "2025-12-31T00:00:00Z",
              },
            ],
          },
        },
      ),
    ),
    expect: {
      reason: "Applied",
      conditions: "Ready=True",
      requeue: ["sweep"],
      events: [],
      calls: ["aws.account", STATUS],
    },
  },
  observing(GOOD, "InSync", "Ready=True", "Normal"),
  observing(OTHER, "OutOfSync", STALLED, "Warning"),
  {
    name: "drift a sweep finds under driftPolicy Report is Drifted, with a drift event, and left as is",
    object: policyObject("p", { driftPolicy: "Report" }),
    act: sweepFinds(OTHER),
    expect: {
      reason: "Drifted",
      conditions: STALLED,
      requeue: ["sweep"],
      events: [
        "Normal Applied PutDestinationPolicy",
        "Warning Drifted DescribeDestinations",
        "Warning Drifted Reconcile",
      ],
      // Report leaves AWS as it is, and where it is still follows from the identity.
      calls: [...APPLIED.calls, "aws.list d", STATUS],
    },
  },
  {
    name: "drift a sweep finds under driftPolicy Correct is put right and Applied again",
    object: policyObject(),
    act: sweepFinds(OTHER),
    expect: {
      reason: "Applied",
      conditions: "Ready=True",
      requeue: ["sweep"],
      events: [
        "Normal Applied PutDestinationPolicy",
        "Warning Drifted DescribeDestinations",
        "Normal Applied PutDestinationPolicy",
      ],
      // The fake API server does not echo writes into the cache, so the record is written again.
      calls: [...APPLIED.calls, "aws.list d", ...APPLIED_AGAIN],
    },
  },
  {
    name: "a suspended object is Suspended and nothing in AWS is read or written",
    object: policyObject("p", { suspend: true }),
    expect: {
      reason: "Suspended",
      conditions: STALLED,
      requeue: [],
      events: ["Normal Suspended Reconcile"],
      calls: [STATUS],
    },
  },
  {
    name: "the newer of two objects for one destination is Conflict and makes no AWS call",
    object: policyObject("p", {}, { creationTimestamp: "2025-02-01T00:00:00Z" }),
    act: async (w, object) => {
      w.put(policyObject("older", { driftDetection: { interval: "0" } }));
      w.put(object);
      await w.settle();
    },
    expect: {
      reason: "Conflict",
      conditions: STALLED,
      requeue: [],
      events: ["Warning Conflict Reconcile"],
      // The older one runs again, as its ownership may have changed; its record spares it the put.
      calls: [
        WHO,
        PUT,
        "kube.annotations ns/older",
        "kube.status ns/older",
        STATUS,
        "kube.annotations ns/older",
        "kube.status ns/older",
      ],
    },
  },
  {
    name: "an invalid spec is InvalidSpec and makes no AWS call",
    object: policyObject("p", { destinationName: undefined }),
    expect: {
      reason: "InvalidSpec",
      conditions: STALLED,
      requeue: [],
      events: ["Warning InvalidSpec Reconcile"],
      calls: [STATUS],
    },
  },
  {
    name: "a policy every AWS account may use is UnsafePolicy and makes no AWS call",
    object: policyObject("p", {
      accessPolicy: {
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Principal: "*", Action: "logs:PutSubscriptionFilter", Resource: "*" },
        ],
      },
    }),
    expect: {
      reason: "UnsafePolicy",
      conditions: STALLED,
      requeue: [],
      events: ["Warning UnsafePolicy Reconcile"],
      calls: [STATUS],
    },
  },
  {
    name: "an object no binding permits is NotPermitted and makes no AWS call",
    object: policyObject(),
    options: { tenancy: new Tenancy(true, () => () => false) },
    expect: {
      reason: "NotPermitted",
      conditions: STALLED,
      requeue: [],
      events: ["Warning NotPermitted Reconcile"],
      calls: [STATUS],
    },
  },
  {
    name: "an object no binding permitted applies once a binding selects its namespace",
    object: policyObject(),
    options: { tenancy: new Tenancy(true, () => () => false) },
    act: async (w, object) => {
      w.put(object);
      await w.settle();
      w.controller.upsertBinding({
        apiVersion: API_VERSION,
        kind: "LogDestinationPolicyBinding",
        metadata: { name: "team-a", generation: 1 },
        spec: {
          namespaceSelector: { matchLabels: { team: "a" } },
          destinations: ["d"],
          regions: ["us-east-1"],
          principals: { accounts: ["111111111111"] },
        },
      });
      w.controller.upsertNamespace({ metadata: { name: "ns", labels: { team: "a" } } });
      await w.settle();
    },
    expect: {
      ...APPLIED,
      events: ["Warning NotPermitted Reconcile", ...APPLIED.events],
      calls: [STATUS, ...APPLIED.calls],
    },
  },
  failing(
    "a role the allow-list does not name",
    "RoleNotAllowed",
    new RoleNotAllowedError("arn:aws:iam::123456789012:role/r", RoleAllowList.parse([])),
    false,
  ),
  failing("a policy AWS rejects", "AWSRejected", awsError("invalid"), false),
  {
    ...failing(
      "a region no AWS endpoint answers for",
      "RegionUnreachable",
      awsError("unreachable"),
      false,
    ),
    name: "a region no AWS endpoint answers for ends as RegionUnreachable, stalled and looked at again each drift interval",
    expect: {
      reason: "RegionUnreachable",
      conditions: STALLED,
      requeue: ["sweep"],
      events: ["Warning RegionUnreachable Reconcile"],
      calls: [WHO, PUT, STATUS],
    },
  },
  failing("a destination that does not exist", "DestinationNotFound", awsError("not-found"), true),
  failing(
    "a put AWS refuses to these credentials",
    "AccessDenied",
    awsError("access-denied"),
    true,
  ),
  failing(
    "a put AWS kept failing through every retry",
    "AWSUnavailable",
    awsError("transient"),
    true,
  ),
  failing("a put failing in a way no kind names", "ReconcileError", awsError("unknown"), true),
  {
    name: "a backing-off object is tried again when its timer fires, and becomes Ready",
    object: policyObject(),
    aws: { put: [awsError("transient"), undefined] },
    act: async (w, object) => {
      w.put(object);
      await w.settle();
      await w.tick();
    },
    expect: {
      reason: "Applied",
      conditions: "Ready=True",
      requeue: ["sweep"],
      events: ["Warning AWSUnavailable Reconcile", "Normal Applied PutDestinationPolicy"],
      calls: [WHO, PUT, STATUS, ...APPLIED_AGAIN],
    },
  },
  {
    name: "a failing revoke of a deleted object is RevokeFailed and retried with backoff",
    object: withProvenRecord(
      policyObject(
        "p",
        { deletionPolicy: "Revoke" },
        { ...deleting, finalizers: [REVOKE_FINALIZER] },
      ),
    ),
    aws: { put: [awsError("access-denied")] },
    expect: {
      reason: "RevokeFailed",
      conditions: RETRYING,
      requeue: ["backoff"],
      events: ["Warning RevokeFailed Reconcile"],
      calls: [WHO, PUT, STATUS],
    },
  },
  {
    name: "a deletion seen while a put is in flight interrupts it: Interrupted, and no requeue",
    object: policyObject(),
    aws: { put: ["hang"] },
    act: async (w, object) => {
      w.put(object);
      await w.settle();
      w.put({ ...object, metadata: { ...object.metadata, ...deleting } });
      await w.settle();
    },
    expect: {
      reason: "Interrupted",
      conditions: RETRYING,
      requeue: [],
      events: ["Warning Interrupted Reconcile"],
      calls: [WHO, PUT, STATUS],
    },
  },
  {
    name: "a binding change that withdraws the permission of an object whose put is in flight aborts the put: NotPermitted",
    object: policyObject(),
    options: { tenancy: permittingTenancy() },
    aws: { put: ["hang"] },
    act: async (w, object) => {
      w.put(object);
      await w.settle();
      w.controller.upsertBinding(teamBinding(["other"], 2));
      await w.settle();
    },
    expect: {
      reason: "NotPermitted",
      conditions: STALLED,
      requeue: [],
      events: ["Warning Interrupted Reconcile", "Warning NotPermitted Reconcile"],
      calls: [WHO, PUT, STATUS, STATUS],
    },
  },
  {
    name: "a namespace relabel that withdraws the permission of an object whose put is in flight aborts the put",
    object: policyObject(),
    options: { tenancy: permittingTenancy() },
    aws: { put: ["hang"] },
    act: async (w, object) => {
      w.put(object);
      await w.settle();
      w.controller.upsertNamespace({ metadata: { name: "ns", labels: { team: "b" } } });
      await w.settle();
    },
    expect: {
      reason: "NotPermitted",
      conditions: STALLED,
      requeue: [],
      events: ["Warning Interrupted Reconcile", "Warning NotPermitted Reconcile"],
      calls: [WHO, PUT, STATUS, STATUS],
    },
  },
  {
    name: "a binding change that keeps the permission leaves the put in flight alone",
    object: policyObject(),
    options: { tenancy: permittingTenancy() },
    aws: { put: ["hang"] },
    act: async (w, object) => {
      w.put(object);
      await w.settle();
      w.controller.upsertBinding(teamBinding(["d", "other"], 2));
      await w.settle();
    },
    expect: { reason: undefined, requeue: [], events: [], calls: [WHO, PUT] },
  },
  {
    name: "a new object that takes a permitted object's name without a delete (a relist) is decided afresh",
    object: policyObject(),
    options: { tenancy: permittingTenancy() },
    act: async (w, object) => {
      w.put(object);
      await w.settle();
      w.calls.length = 0;
      // Same name and generation, another uid and a destination no binding permits.
      w.put(
        policyObject("p", { destinationName: "other" }, { uid: "uid-p-2", resourceVersion: "9" }),
      );
      await w.settle();
    },
    expect: {
      reason: "NotPermitted",
      conditions: STALLED,
      requeue: [],
      events: [...APPLIED.events, "Warning NotPermitted Reconcile"],
      calls: [STATUS],
    },
  },
  {
    name: "a status write the API server refuses reports nothing and is retried with backoff",
    object: policyObject("p", { suspend: true }),
    act: async (w, object) => {
      w.writer.failStatus = new Error("409 Conflict");
      w.put(object);
      await w.settle();
    },
    expect: { reason: undefined, requeue: ["backoff"], events: [], calls: [STATUS] },
  },
  {
    name: "an object removed from the watch leaves no timer behind",
    object: policyObject(),
    act: async (w, object) => {
      w.put(object);
      await w.settle();
      w.objects.delete("ns/p");
      w.controller.remove(object);
      await w.settle();
    },
    expect: { ...APPLIED, requeue: [] },
  },
];

describe("PolicyController", () => {
  const worlds: World[] = [];
  after(async () => {
    await Promise.all(worlds.map((w) => w.stop()));
  });

  for (const row of rows) {
    test(row.name, async () => {
      const world = new World(row.aws ?? {}, row.options ?? {});
      worlds.push(world);
      const act =
        row.act ??
        (async (w, object) => {
          w.put(object);
          await w.settle();
        });
      await act(world, row.object);
      const key = keyOf(row.object.metadata);
      const status = world.conditions(key);
      assert.equal(status.reason, row.expect.reason, "the reason status ends with");
      if (row.expect.conditions) assert.equal(status.conditions, row.expect.conditions);
      assert.deepEqual(world.requeues(), row.expect.requeue, "how it is looked at again");
      assert.deepEqual(
        world.events.emitted
          .filter((e) => e.key === key)
          .map((e) => `${e.type} ${e.reason} ${e.action}`),
        row.expect.events,
      );
      assert.deepEqual(world.calls, row.expect.calls);
    });
  }

  test("every reason of the outcome table is reached by a row", () => {
    // The grants' own reasons are reached in grants.test.ts.
    const reached = new Set([...rows.map((r) => r.expect.reason), ...GRANT_REASONS]);
    const missing = Object.keys(OUTCOMES).filter((reason) => !reached.has(reason as Reason));
    assert.deepEqual(missing, [], `reasons no row reaches: ${missing.join(", ")}`);
  });
});
