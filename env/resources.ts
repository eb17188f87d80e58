// What a local environment needs before policies can be applied: the CRDs, a
// binding, and destinations in the emulator. Tests, the demo and the bench use it.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  PutDestinationCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
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
  GRANT_CRD_NAME,
  GROUP,
  VERSION,
} from "../src/api/names.ts";
import type { LocalEnv } from "./local-env.ts";
import { dummyCredentials } from "./variables.ts";

const root = join(import.meta.dirname, "..");

/**
 * Installs the CRDs with kubectl, as a user would (passing the parsed YAML
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
  await applyCrds(
    env,
    [CRD_NAME, BINDING_CRD_NAME, GRANT_CRD_NAME].map((name) => ({
      file: join(root, "crds", `${name}.yaml`),
      name,
    })),
  );
  if (options.testBinding === false) return;
  await applyBinding(env.kubeConfig, TEST_BINDING, {
    namespaceSelector: { matchLabels: { [TEST_NAMESPACE_LABEL]: "true" } },
    destinations: ["*"],
    // `*` stays within one path segment, so each depth of role path is its own pattern.
    roleArns: ["arn:aws:iam::*:role/*", "arn:aws:iam::*:role/*/*", "arn:aws:iam::*:role/*/*/*"],
    allowPublicAccess: true,
  });
}

/** Applies CRD manifests with kubectl, as a user would, and waits until they are served. */
export async function applyCrds(
  env: LocalEnv,
  crds: readonly { file: string; name: string }[],
  timeout = "30s",
): Promise<void> {
  const kubectl = (...args: string[]) =>
    run(env.kubectl, ["--kubeconfig", env.kubeconfigPath, ...args]);
  for (const { file } of crds)
    await kubectl("apply", "--server-side", "--force-conflicts", "-f", file);
  await kubectl(
    "wait",
    "--for=condition=Established",
    `--timeout=${timeout}`,
    ...crds.map(({ name }) => `crd/${name}`),
  );
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

/** The account the emulator's destinations live in unless another is asked for. */
const EMULATOR_ACCOUNT = "123456789012";

/** Another account of the emulator, as a role there: where a destination can be created. */
export interface AccountClient {
  client: CloudWatchLogsClient;
  account: string;
}

export async function createDestination(
  env: LocalEnv,
  name: string,
  region = env.region,
  inAccount?: AccountClient,
): Promise<void> {
  const client =
    inAccount?.client ??
    new CloudWatchLogsClient({ endpoint: env.motoUrl, region, credentials: dummyCredentials });
  const account = inAccount?.account ?? EMULATOR_ACCOUNT;
  await client
    .send(new CreateLogGroupCommand({ logGroupName: `/target/${name}` }))
    .catch(() => undefined);
  await client.send(
    new PutDestinationCommand({
      destinationName: name,
      targetArn: `arn:aws:kinesis:${region}:${account}:stream/${name}`,
      roleArn: `arn:aws:iam::${account}:role/cwl-to-kinesis`,
    }),
  );
  if (!inAccount) client.destroy();
}

/**
 * A CloudWatch Logs client in the account of `roleArn`, by AssumeRole straight
 * to the emulator: the way in of the tests themselves, which the proxy does not count.
 */
export async function emulatorAs(env: LocalEnv, roleArn: string): Promise<CloudWatchLogsClient> {
  const sts = new STSClient({
    endpoint: env.motoUrl,
    region: env.region,
    credentials: dummyCredentials,
  });
  const { Credentials: c } = await sts.send(
    new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: "test-setup" }),
  );
  sts.destroy();
  assert.ok(c?.AccessKeyId && c.SecretAccessKey);
  return new CloudWatchLogsClient({
    endpoint: env.motoUrl,
    region: env.region,
    credentials: {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
    },
  });
}
