// Helpers for integration tests that work with LogDestinationGrant objects: the
// objects themselves, waiting for their reasons, counting the writes made to
// them, and reading the merged policy AWS holds.
import {
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  Watch,
  type KubeConfig,
} from "@kubernetes/client-node";
import { API_VERSION, GRANT_KIND, GRANT_PLURAL, GROUP, VERSION } from "../../src/api/names.ts";
import type { LogDestinationGrant } from "../../src/api/grant.ts";
import type { PolicyStatement } from "../../src/policy/types.ts";
import { storedPolicy } from "./aws.ts";
import type { TestEnv } from "./env.ts";
import { waitFor } from "./policies.ts";

export interface GrantPrincipalsSpec {
  accounts?: string[];
  organizationIds?: string[];
  organizationPaths?: string[];
}

export class Grants {
  readonly api: CustomObjectsApi;
  readonly namespace: string;
  readonly #kc: KubeConfig;

  constructor(kc: KubeConfig, namespace: string) {
    this.#kc = kc;
    this.api = kc.makeApiClient(CustomObjectsApi);
    this.namespace = namespace;
  }

  async create(
    name: string,
    policyRef: { namespace: string; name: string },
    principals: GrantPrincipalsSpec,
  ): Promise<LogDestinationGrant> {
    return (await this.api.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: GRANT_PLURAL,
      namespace: this.namespace,
      body: {
        apiVersion: API_VERSION,
        kind: GRANT_KIND,
        metadata: { name },
        spec: { policyRef, principals },
      },
    })) as LogDestinationGrant;
  }

  async get(name: string): Promise<LogDestinationGrant> {
    return (await this.api.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: GRANT_PLURAL,
      namespace: this.namespace,
      name,
    })) as LogDestinationGrant;
  }

  /** Replaces the grant's principals (a JSON merge patch; a list is replaced whole). */
  async patchPrincipals(
    name: string,
    principals: GrantPrincipalsSpec,
  ): Promise<LogDestinationGrant> {
    return (await this.api.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        plural: GRANT_PLURAL,
        namespace: this.namespace,
        name,
        body: { spec: { principals } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    )) as LogDestinationGrant;
  }

  async list(): Promise<LogDestinationGrant[]> {
    const list = (await this.api.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: GRANT_PLURAL,
      namespace: this.namespace,
    })) as { items: LogDestinationGrant[] };
    return list.items;
  }

  async delete(name: string): Promise<void> {
    await this.api.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: GRANT_PLURAL,
      namespace: this.namespace,
      name,
    });
  }

  async exists(name: string): Promise<boolean> {
    return this.get(name).then(
      () => true,
      () => false,
    );
  }

  async waitUntilGone(name: string, timeoutMs = 30_000): Promise<void> {
    await waitFor(`grant ${name} gone`, async () => !(await this.exists(name)), timeoutMs);
  }

  condition(obj: LogDestinationGrant, type: string) {
    return obj.status?.conditions?.find((c) => c.type === type);
  }

  /** Waits until the grant's Ready condition has the reason, for the grant's current generation. */
  async waitForReason(
    name: string,
    reason: string,
    timeoutMs = 30_000,
  ): Promise<LogDestinationGrant> {
    let last: LogDestinationGrant | undefined;
    await waitFor(
      `grant ${this.namespace}/${name} Ready reason ${reason}`,
      async () => {
        last = await this.get(name);
        const ready = this.condition(last, "Ready");
        const seen = ready?.observedGeneration ?? last.status?.observedGeneration;
        return ready?.reason === reason && seen === last.metadata.generation;
      },
      timeoutMs,
      () => JSON.stringify(last?.status),
    );
    if (!last) throw new Error("unreachable");
    return last;
  }

  /**
   * Records every write to the grants of this namespace from now on, by name:
   * each MODIFIED event of a watch is one new resourceVersion, so one write.
   * `untilReady(name)` is the number of writes up to and including the first that
   * made the grant Ready=True (undefined while none has).
   */
  async watchWrites(): Promise<{
    untilReady: (name: string) => number | undefined;
    /** Writes to any grant of the namespace so far. */
    total: () => number;
    stop: () => void;
  }> {
    const writes = new Map<string, LogDestinationGrant[]>();
    const abort = await new Watch(this.#kc).watch(
      `/apis/${GROUP}/${VERSION}/namespaces/${this.namespace}/${GRANT_PLURAL}`,
      {},
      (phase, obj: LogDestinationGrant) => {
        if (phase !== "MODIFIED") return;
        const name = obj.metadata.name;
        writes.set(name, [...(writes.get(name) ?? []), obj]);
      },
      () => undefined,
    );
    return {
      untilReady: (name) => {
        const seen = writes.get(name) ?? [];
        const index = seen.findIndex((obj) => this.condition(obj, "Ready")?.status === "True");
        return index < 0 ? undefined : index + 1;
      },
      total: () => [...writes.values()].reduce((sum, seen) => sum + seen.length, 0),
      stop: () => {
        abort.abort();
      },
    };
  }
}

/** The destination's ARN in the emulator's default account. */
export function destinationArn(env: TestEnv, name: string): string {
  return `arn:aws:logs:${env.region}:123456789012:destination:${name}`;
}

/** The statements of the policy AWS holds, parsed; empty when there is none. */
export async function liveStatements(env: TestEnv, name: string): Promise<PolicyStatement[]> {
  const text = await storedPolicy(env, name);
  if (!text) return [];
  const doc = JSON.parse(text) as { Statement: PolicyStatement | PolicyStatement[] };
  return Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
}

/** The accounts of the merged GrantedAccounts statement AWS holds, sorted; empty without one. */
export async function grantedAccounts(env: TestEnv, name: string): Promise<string[]> {
  const statement = (await liveStatements(env, name)).find((s) => s.Sid === "GrantedAccounts");
  const principal = statement?.Principal;
  if (!principal || typeof principal === "string") return [];
  const aws = (principal as { AWS?: string | string[] }).AWS;
  return (aws === undefined ? [] : Array.isArray(aws) ? aws : [aws]).slice().sort();
}

/** `count` distinct 12-digit account IDs starting at `first`. */
export function accounts(first: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => String(first + i).padStart(12, "0"));
}
