// What an integration test needs: a cluster, the CloudWatch Logs emulator and the
// fault proxy in front of it. Under test/run.ts (or after `. .local/env.sh`)
// those already run and are announced in the environment; a test file started
// on its own (`node --test test/integration/x.test.ts`) starts its own and stops
// it when the test process is done.
import { randomBytes } from "node:crypto";
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { CloudWatchLogsClientConfig } from "@aws-sdk/client-cloudwatch-logs";
import { CoreV1Api, KubeConfig, V1Namespace, V1ObjectMeta } from "@kubernetes/client-node";
import { startControlPlane } from "../../env/controlplane.ts";
import { dummyCredentials, environmentFor, requiredVariables } from "../../env/variables.ts";
import { localEnvFrom, type LocalEnv } from "../../env/local-env.ts";

export type TestEnv = LocalEnv;

let loading: Promise<TestEnv> | undefined;

/** The shared test environment of this process, started on first use if none is announced. */
export function getTestEnv(): Promise<TestEnv> {
  loading ??= load();
  return loading;
}

async function load(): Promise<TestEnv> {
  if (requiredVariables.some((name) => !process.env[name])) {
    // Stopped when the process has nothing else to do rather than in an after()
    // hook: root hooks run in the order they were registered, so one registered
    // here could stop the servers before a test file's own after() hooks use them.
    const own = await startControlPlane({ unref: true });
    process.once("beforeExit", () => {
      void own.stop();
    });
    // Code under test reads the same variables as under test/run.ts.
    Object.assign(process.env, environmentFor(own.state()));
  }
  return localEnvFrom(process.env);
}

function variable(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: await getTestEnv() first`);
  return value;
}

/**
 * Creates a namespace with a unique name, so tests never see each other's
 * objects. Without kube-controller-manager namespaces never finish deleting, so
 * they are left behind; the control plane is thrown away after the run anyway.
 */
export async function newNamespace(
  kc: KubeConfig,
  prefix = "test",
  labels: Record<string, string> = { "ldpc.test/namespace": "true" },
): Promise<string> {
  const base = prefix
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 50);
  const name = `${base || "test"}-${randomBytes(4).toString("hex")}`;
  const namespace = new V1Namespace();
  namespace.metadata = new V1ObjectMeta();
  namespace.metadata.name = name;
  // The label selects the namespace for the test binding (see installCrd); tenancy tests pass others.
  namespace.metadata.labels = labels;
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: namespace });
  return name;
}

/** Forgets every destination in the emulator (moto's own reset call, past the proxy). */
export async function resetMoto(motoUrl = variable("LDPC_MOTO_URL")): Promise<void> {
  const res = await fetch(`${motoUrl}/moto-api/reset`, { method: "POST" });
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`moto reset failed: ${res.status}`);
}

/** A CloudWatch Logs client that talks to the emulator through the fault proxy. */
export function logsClient(config: CloudWatchLogsClientConfig = {}): CloudWatchLogsClient {
  return new CloudWatchLogsClient({
    endpoint: variable("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"),
    region: variable("AWS_REGION"),
    credentials: dummyCredentials,
    ...config,
  });
}

/** A kubeconfig for the same cluster that authenticates with a bearer token only. */
export function asToken(admin: KubeConfig, token: string, user = "token-user"): KubeConfig {
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error("the admin kubeconfig has no current cluster");
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: user, token }],
    contexts: [{ name: user, cluster: cluster.name, user }],
    currentContext: user,
  });
  return kc;
}
