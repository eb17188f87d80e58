// Helpers for integration tests that work with LogDestinationPolicy objects:
// the objects themselves, the sample policy they grant, and waiting for them.
import { setTimeout as sleep } from "node:timers/promises";
import {
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from "@kubernetes/client-node";
import { API_VERSION, GROUP, KIND, PLURAL, VERSION } from "../../src/api/names.ts";
import type { LogDestinationPolicy } from "../../src/api/v1alpha1.ts";

export {
  applyBinding,
  deleteBinding,
  installCrd,
  TEST_BINDING,
  TEST_NAMESPACE_LABEL,
} from "../../env/resources.ts";

export class Policies {
  readonly api: CustomObjectsApi;
  readonly namespace: string;

  constructor(kc: KubeConfig, namespace: string) {
    this.api = kc.makeApiClient(CustomObjectsApi);
    this.namespace = namespace;
  }

  async create(
    name: string,
    spec: Record<string, unknown>,
    annotations?: Record<string, string>,
  ): Promise<LogDestinationPolicy> {
    return (await this.api.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace: this.namespace,
      body: {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name, ...(annotations ? { annotations } : {}) },
        spec,
      },
    })) as LogDestinationPolicy;
  }

  async list(): Promise<LogDestinationPolicy[]> {
    const list = (await this.api.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace: this.namespace,
    })) as { items: LogDestinationPolicy[] };
    return list.items;
  }

  async get(name: string): Promise<LogDestinationPolicy> {
    return (await this.api.getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace: this.namespace,
      name,
    })) as LogDestinationPolicy;
  }

  /** A JSON merge patch of spec; setting a field to null removes it. */
  async patchSpec(name: string, spec: Record<string, unknown>): Promise<LogDestinationPolicy> {
    return (await this.api.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace: this.namespace,
        name,
        body: { spec },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    )) as LogDestinationPolicy;
  }

  /** Resolves once the object no longer exists (its finalizers, if any, are gone). */
  async waitUntilGone(name: string, timeoutMs = 20_000): Promise<void> {
    await waitFor(
      `${name} gone`,
      () =>
        this.get(name).then(
          () => false,
          () => true,
        ),
      timeoutMs,
    );
  }

  async delete(name: string): Promise<void> {
    await this.api.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace: this.namespace,
      name,
    });
  }

  condition(obj: LogDestinationPolicy, type: string) {
    return obj.status?.conditions?.find((c) => c.type === type);
  }

  /** Waits until the object's Ready condition has the reason, for the object's current generation. */
  async waitForReason(
    name: string,
    reason: string,
    timeoutMs = 20_000,
  ): Promise<LogDestinationPolicy> {
    let last: LogDestinationPolicy | undefined;
    await waitFor(
      `${name} Ready reason ${reason}`,
      async () => {
        last = await this.get(name);
        const ready = this.condition(last, "Ready");
        return (
          ready?.reason === reason && last.status?.observedGeneration === last.metadata.generation
        );
      },
      timeoutMs,
      () => JSON.stringify(last?.status),
    );
    if (!last) throw new Error("unreachable");
    return last;
  }
}

export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 20_000,
  describe?: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${describe ? `: ${describe()}` : ""}`);
    await sleep(100);
  }
}

export function samplePolicy(destination: string, accounts: string[] = ["111111111111"]) {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { AWS: accounts },
        Action: "logs:PutSubscriptionFilter",
        Resource: `arn:aws:logs:us-east-1:222222222222:destination:${destination}`,
      },
    ],
  };
}
