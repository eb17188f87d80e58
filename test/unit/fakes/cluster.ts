// A world with memory: an API server that applies the controller's patches and
// echoes them back through the watch, AWS destinations that hold the policies
// put to them, and a controller that can be restarted on the same state. For
// tests that follow an object through several changes, not one reconcile.
import { setImmediate as turn } from "node:timers/promises";
import { pino } from "pino";
import type { LogDestinationPolicy } from "../../../src/api/v1alpha1.ts";
import type {
  AwsTarget,
  DestinationSweepApi,
  LiveDestination,
  PutPolicyInput,
} from "../../../src/aws/destinations.ts";
import { AwsCallError } from "../../../src/aws/errors.ts";
import { PolicyController, type ControllerOptions } from "../../../src/controller/controller.ts";
import { keyOf, type ObjectRef } from "../../../src/kube/keys.ts";
import type { PolicyWriter } from "../../../src/kube/resources.ts";
import { ControllerMetrics } from "../../../src/metrics/metrics.ts";
import { accountOfArn, type AwsAccount } from "../../../src/util/arn.ts";
import { isRecord } from "../../../src/util/record.ts";
import { FakeClock } from "./clock.ts";
import { FakeEvents } from "./kube.ts";
import { OWN_ACCOUNT, START } from "./objects.ts";

/** Destinations by account, region and name; every call written down as "op name". */
export class MemoryAws implements DestinationSweepApi {
  readonly policies = new Map<string, string>();
  readonly calls: string[] = [];
  /** The own account GetCallerIdentity answers with; undefined while it fails. */
  own: AwsAccount | undefined = OWN_ACCOUNT;
  /** While true, a put lands and then fails as if its answer were lost. */
  failPuts = false;

  #where(target: AwsTarget, name: string): string {
    const account = target.roleArn ? accountOfArn(target.roleArn)?.accountId : this.own?.accountId;
    return `${account ?? "?"}/${target.region}/${name}`;
  }

  /** A destination as its account's owner would create it. */
  create(account: string, region: string, name: string, policy: string): void {
    this.policies.set(`${account}/${region}/${name}`, policy);
  }

  putPolicy(input: PutPolicyInput): Promise<void> {
    this.calls.push(`put ${input.destinationName}`);
    const where = this.#where(input, input.destinationName);
    if (!this.policies.has(where)) {
      return Promise.reject(
        new AwsCallError(
          "PutDestinationPolicy",
          { kind: "not-found", name: "ResourceNotFoundException", message: "not found" },
          1,
        ),
      );
    }
    this.policies.set(where, input.accessPolicy);
    if (this.failPuts) return Promise.reject(new Error("the connection closed before the answer"));
    return Promise.resolve();
  }

  describe(target: AwsTarget, name: string): Promise<LiveDestination | undefined> {
    this.calls.push(`describe ${name}`);
    return Promise.resolve(this.#live(this.#where(target, name), name));
  }

  #live(where: string, name: string): LiveDestination | undefined {
    const accessPolicy = this.policies.get(where);
    if (accessPolicy === undefined) return undefined;
    const [account, region] = where.split("/");
    return {
      destinationName: name,
      arn: `arn:aws:logs:${region ?? ""}:${account ?? ""}:destination:${name}`,
      accessPolicy,
    };
  }

  account(target: AwsTarget): Promise<AwsAccount | undefined> {
    this.calls.push("account");
    return Promise.resolve(target.roleArn ? accountOfArn(target.roleArn) : this.own);
  }

  list(
    target: AwsTarget,
    prefix: string,
    onPage: (destinations: LiveDestination[]) => void,
  ): Promise<number> {
    this.calls.push(`list ${prefix}`);
    const start = this.#where(target, "");
    const page = [...this.policies.keys()]
      .filter((where) => where.startsWith(start + prefix))
      .flatMap((where) => this.#live(where, where.slice(start.length)) ?? []);
    onPage(page);
    return Promise.resolve(1);
  }
}

type Patch = Record<string, unknown>;

/** A JSON merge patch applied as the API server applies it. */
export function merge(target: Patch, patch: Patch): Patch {
  const out = new Map(Object.entries(target));
  for (const [k, v] of Object.entries(patch)) {
    const before = out.get(k);
    if (v === null) out.delete(k);
    else if (isRecord(v) && isRecord(before)) out.set(k, merge(before, v));
    else out.set(k, v);
  }
  return Object.fromEntries(out);
}

/** The API server: objects by key, patched as merge patches, echoed to the controller's watch. */
export class Cluster implements PolicyWriter {
  readonly objects = new Map<string, LogDestinationPolicy>();
  /** Every status patch, with the key it went to. */
  readonly statusWrites: { key: string; patch: Patch }[] = [];
  /** Called with every status patch before it is applied (to check what it claims). */
  onStatus: (key: string, patch: Patch) => void = () => undefined;
  watcher: PolicyController | undefined;
  #version = 1;

  #store(object: LogDestinationPolicy): void {
    const next = {
      ...object,
      metadata: { ...object.metadata, resourceVersion: String(++this.#version) },
    };
    this.objects.set(keyOf(next.metadata), next);
    queueMicrotask(() => this.watcher?.upsert(next));
  }

  #change(ref: ObjectRef, change: (object: LogDestinationPolicy) => LogDestinationPolicy): void {
    const object = this.objects.get(keyOf(ref));
    if (object) this.#store(change(object));
  }

  create(object: LogDestinationPolicy): void {
    this.#store(object);
  }

  /** A user's spec change: a new generation. */
  edit(key: string, spec: Patch): void {
    const object = this.objects.get(key);
    if (!object) throw new Error(`no object ${key}`);
    this.#store({
      ...object,
      metadata: { ...object.metadata, generation: (object.metadata.generation ?? 0) + 1 },
      spec: merge((object.spec ?? {}) as Patch, spec),
    });
  }

  delete(key: string): void {
    const object = this.objects.get(key);
    if (!object) return;
    if ((object.metadata.finalizers ?? []).length === 0) this.#gone(key);
    else
      this.#store({
        ...object,
        metadata: { ...object.metadata, deletionTimestamp: new Date(START).toISOString() },
      });
  }

  #gone(key: string): void {
    const object = this.objects.get(key);
    this.objects.delete(key);
    if (object) queueMicrotask(() => this.watcher?.remove(object));
  }

  patchAnnotations(ref: ObjectRef, annotations: Record<string, string | null>): Promise<void> {
    this.#change(ref, (o) => ({
      ...o,
      metadata: {
        ...o.metadata,
        annotations: merge(o.metadata.annotations ?? {}, annotations) as Record<string, string>,
      },
    }));
    return Promise.resolve();
  }

  patchFinalizers(ref: ObjectRef, finalizers: string[]): Promise<void> {
    const key = keyOf(ref);
    const object = this.objects.get(key);
    if (object?.metadata.deletionTimestamp && finalizers.length === 0) this.#gone(key);
    else this.#change(ref, (o) => ({ ...o, metadata: { ...o.metadata, finalizers } }));
    return Promise.resolve();
  }

  patchStatus(ref: ObjectRef, patch: Patch): Promise<void> {
    this.statusWrites.push({ key: keyOf(ref), patch });
    this.onStatus(keyOf(ref), patch);
    this.#change(ref, (o) => ({
      ...o,
      status: merge(o.status ?? {}, patch),
    }));
    return Promise.resolve();
  }

  /** The Ready condition's reason the object's status shows now. */
  reason(key: string): string | undefined {
    return this.objects.get(key)?.status?.conditions?.find((c) => c.type === "Ready")?.reason;
  }
}

/** The cluster, AWS and a clock, with a controller that can be restarted on them. */
export class StatefulWorld {
  readonly clock = new FakeClock(START);
  readonly cluster = new Cluster();
  readonly aws = new MemoryAws();
  readonly events = new FakeEvents();
  readonly #options: Partial<ControllerOptions>;
  controller: PolicyController;
  #running: Promise<void>;

  /** Called with each new controller before it sees any policy (a grant store attaches here). */
  readonly #onStart: (controller: PolicyController) => void;

  constructor(
    options: Partial<ControllerOptions> = {},
    onStart: (controller: PolicyController) => void = () => undefined,
  ) {
    this.#options = options;
    this.#onStart = onStart;
    [this.controller, this.#running] = this.#start();
  }

  #start(): [PolicyController, Promise<void>] {
    const controller = new PolicyController(
      {
        get: (namespace, name) => this.cluster.objects.get(`${namespace}/${name}`),
        synced: true,
      },
      this.aws,
      this.cluster,
      this.events,
      new ControllerMetrics(undefined, { defaultMetrics: false }),
      pino({ level: "silent" }),
      {
        concurrency: 1,
        defaultRegion: "us-east-1",
        defaultDriftIntervalMs: 600_000,
        denyPublicAccessOverride: false,
        clock: this.clock,
        ...this.#options,
      },
    );
    this.cluster.watcher = controller;
    this.#onStart(controller);
    for (const object of this.cluster.objects.values()) controller.upsert(object);
    return [controller, controller.run()];
  }

  /** Every reconcile and watch echo started so far has finished. */
  async settle(): Promise<void> {
    let idle = 0;
    while (idle < 3) {
      await turn();
      idle = this.controller.busy ? 0 : idle + 1;
    }
  }

  /** Fires the next timer (a requeue or a sweep) and lets what it started finish. */
  async tick(): Promise<void> {
    await this.clock.next();
    await this.settle();
  }

  /** Moves time on until the object's status shows the reason; fails after `limit` timers. */
  async until(key: string, reason: string, limit = 20): Promise<void> {
    await this.settle();
    for (let i = 0; this.cluster.reason(key) !== reason; i++) {
      if (i >= limit)
        throw new Error(`${key} never showed ${reason}: ${this.cluster.reason(key) ?? "none"}`);
      await this.tick();
    }
  }

  /** The controller process ends and another starts on the same API server and AWS. */
  async restart(): Promise<void> {
    await this.stop();
    for (const timer of this.clock.timers) timer.cancelled = true;
    [this.controller, this.#running] = this.#start();
    await this.settle();
  }

  async stop(): Promise<void> {
    this.controller.stop(true);
    await this.#running;
  }
}
