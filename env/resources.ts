// What a local environment needs before policies can be applied: the CRDs, a
// binding, and destinations in the emulator. Tests, the demo and the bench use it.
import { execFile } from "node:child_process";
import { join } from "node:path";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  PutDestinationCommand,
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
  VERSION,
} from "../src/api/names.ts";
import type { LocalEnv } from "./local-env.ts";
import { dummyCredentials } from "./variables.ts";

const root = join(import.meta.dirname, "..");

/**
 * Installs both CRDs with kubectl, as a user would (passing the parsed YAML
 * through client-node's typed API would silently drop x-kubernetes-* keys,
 * which its serializer only knows in camelCase), and the binding that lets
 * every test namespace manage any destination: the controller requires a
 * binding by default. Tests about tenancy itself use namespaces without the
 * label that binding selects.
 */
export async function installCrd(
  env: LocalEnv,
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

export async function createDestination(
  env: LocalEnv,
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
