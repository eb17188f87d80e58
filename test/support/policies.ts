// Helpers for integration tests that work with LogDestinationPolicy objects
// and with destinations in the emulator.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CreateLogGroupCommand,
  DescribeDestinationsCommand,
  PutDestinationCommand,
  PutDestinationPolicyCommand,
  CloudWatchLogsClient,
} from "@aws-sdk/client-cloudwatch-logs";
import {
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from "@kubernetes/client-node";
import {
  API_VERSION,
  BINDING_CRD_NAME,
  BINDING_KIND,
  BINDING_PLURAL,
  CRD_NAME,
  GROUP,
  KIND,
  PLURAL,
  VERSION,
} from "../../src/api/names.ts";
import type { LogDestinationPolicy } from "../../src/api/v1alpha1.ts";
import { dummyCredentials } from "../env/variables.ts";
import type { TestEnv } from "./env.ts";

const root = join(import.meta.dirname, "..", "..");

/**
 * Installs both CRDs with kubectl, as a user would (passing the parsed YAML
 * through client-node's typed API would silently drop x-kubernetes-* keys,
 * which its serializer only knows in camelCase), and the binding that lets
 * every test namespace manage any destination: the controller requires a
 * binding by default. Tests about tenancy itself use namespaces without the
 * label that binding selects.
 */
export async function installCrd(
  env: TestEnv,
  options: { testBinding?: boolean } = {},
): Promise<void> {
  for (const name of [CRD_NAME, BINDING_CRD_NAME]) {
    await run(env.kubectl, [
      "--kubeconfig",
      env.kubeconfigPath,
      "apply",
      "--server-side",
      "--force-conflicts",
      "-f",
      join(root, "crds", `${name}.yaml`),
    ]);
  }
  await run(env.kubectl, [
    "--kubeconfig",
    env.kubeconfigPath,
    "wait",
    "--for=condition=Established",
    "--timeout=30s",
    `crd/${CRD_NAME}`,
    `crd/${BINDING_CRD_NAME}`,
  ]);
  if (options.testBinding === false) return;
  await applyBinding(env.kubeConfig, TEST_BINDING, {
    namespaceSelector: { matchLabels: { [TEST_NAMESPACE_LABEL]: "true" } },
    destinations: ["*"],
    // `*` stays within one path segment, so each depth of role path is its own pattern.
    roleArns: ["arn:aws:iam::*:role/*", "arn:aws:iam::*:role/*/*", "arn:aws:iam::*:role/*/*/*"],
    allowPublicAccess: true,
  });
}

/** The label newNamespace gives every test namespace, unless asked not to. */
export const TEST_NAMESPACE_LABEL = "ldpc.test/namespace";
export const TEST_BINDING = "ldpc-test-namespaces";

/** Creates or replaces a cluster-scoped LogDestinationPolicyBinding. */
export async function applyBinding(
  kc: KubeConfig,
  name: string,
  spec: Record<string, unknown>,
): Promise<void> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const body = { apiVersion: API_VERSION, kind: BINDING_KIND, metadata: { name }, spec };
  const params = { group: GROUP, version: VERSION, plural: BINDING_PLURAL };
  try {
    await api.createClusterCustomObject({ ...params, body });
  } catch (error) {
    if ((error as { code?: number }).code !== 409) throw error;
    await api.patchClusterCustomObject(
      { ...params, name, body: { spec } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
  }
}

export async function deleteBinding(kc: KubeConfig, name: string): Promise<void> {
  await kc.makeApiClient(CustomObjectsApi).deleteClusterCustomObject({
    group: GROUP,
    version: VERSION,
    plural: BINDING_PLURAL,
    name,
  });
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(" ")}: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

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

/** Calls that reached the proxy for one destination, optionally of one operation. */
export async function callsFor(env: TestEnv, destination: string, operation?: string) {
  return (await env.proxy.calls(operation)).filter((c) => c.destination === destination);
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

/** A client that talks to moto directly, so its calls don't show in the proxy's counts. */
export function emulator(env: TestEnv): CloudWatchLogsClient {
  return new CloudWatchLogsClient({
    endpoint: env.motoUrl,
    region: env.region,
    credentials: dummyCredentials,
  });
}

export async function createDestination(
  env: TestEnv,
  name: string,
  region = env.region,
): Promise<void> {
  const client = new CloudWatchLogsClient({
    endpoint: env.motoUrl,
    region,
    credentials: dummyCredentials,
  });
  await client
    .send(new CreateLogGroupCommand({ logGroupName: `/target/${name}` }))
    .catch(() => undefined);
  await client.send(
    new PutDestinationCommand({
      destinationName: name,
      targetArn: `arn:aws:kinesis:${region}:123456789012:stream/${name}`,
      roleArn: "arn:aws:iam::123456789012:role/cwl-to-kinesis",
    }),
  );
  client.destroy();
}

/** Changes a destination's policy behind the controller's back, as someone in the console would. */
export async function putPolicyDirectly(
  env: TestEnv,
  name: string,
  policy: unknown,
): Promise<void> {
  const client = emulator(env);
  await client.send(
    new PutDestinationPolicyCommand({
      destinationName: name,
      accessPolicy: JSON.stringify(policy),
    }),
  );
  client.destroy();
}

export async function storedPolicy(
  env: TestEnv,
  name: string,
  region = env.region,
): Promise<string | undefined> {
  const client = new CloudWatchLogsClient({
    endpoint: env.motoUrl,
    region,
    credentials: dummyCredentials,
  });
  const out = await client.send(new DescribeDestinationsCommand({ DestinationNamePrefix: name }));
  client.destroy();
  return out.destinations?.find((d) => d.destinationName === name)?.accessPolicy;
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
