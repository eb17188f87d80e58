// The chart's ServiceAccount and RBAC on the real API server, and tokens from
// the TokenRequest API: what the RBAC proof and the secured-metrics tests run
// the controller and their scrapers under.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { AuthorizationV1Api, CoreV1Api, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import { asToken, type TestEnv } from "./env.ts";
import { kubectlApply, renderChart, type K8sObject, type Values } from "./chart.ts";
import { waitFor } from "./policies.ts";

const RBAC_KINDS = new Set([
  "ServiceAccount",
  "ClusterRole",
  "ClusterRoleBinding",
  "Role",
  "RoleBinding",
]);

export interface Installed {
  objects: K8sObject[];
  serviceAccount: string;
  namespace: string;
  kubeconfig: string;
  /** The Deployment's args, minus the bind addresses the test chooses itself. */
  args: string[];
}

/**
 * Applies the chart's ServiceAccount and RBAC objects (not its helm test hooks)
 * and writes a kubeconfig with the account's token into `dir`.
 */
export async function installRbac(
  env: TestEnv,
  release: string,
  namespace: string,
  values: Values,
  dir: string,
): Promise<Installed> {
  const objects = await renderChart(env.helm, values, {
    release,
    namespace,
    kubeVersion: env.kubernetesVersion,
  });
  const rbac = objects.filter(
    (o) => RBAC_KINDS.has(o.kind) && o.metadata.annotations?.["helm.sh/hook"] === undefined,
  );
  await kubectlApply(env, rbac);
  const sa = rbac.find((o) => o.kind === "ServiceAccount");
  assert.ok(sa);
  const token = await tokenFor(env, namespace, sa.metadata.name);
  const kubeconfig = join(dir, `${release}.kubeconfig`);
  await writeFile(kubeconfig, asToken(env.kubeConfig, token).exportConfig());
  const deployment = objects.find((o) => o.kind === "Deployment") as unknown as {
    spec: { template: { spec: { containers: { args: string[] }[] } } };
  };
  const args = (deployment.spec.template.spec.containers[0]?.args ?? []).filter(
    (a) => !/^--(metrics-bind-address|health-probe-bind-address)=/.test(a),
  );
  return { objects, serviceAccount: sa.metadata.name, namespace, kubeconfig, args };
}

/** A token of the ServiceAccount from the TokenRequest API, valid for an hour. */
export async function tokenFor(env: TestEnv, namespace: string, name: string): Promise<string> {
  const core = env.kubeConfig.makeApiClient(CoreV1Api);
  const response = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = response.status?.token;
  assert.ok(token, "TokenRequest returned no token");
  return token;
}

/**
 * A new ServiceAccount with a token; bound to `clusterRole` when one is named,
 * and then returned only once the authorizer lets it get /metrics.
 */
export async function scraperAccount(
  env: TestEnv,
  namespace: string,
  name: string,
  clusterRole?: string,
): Promise<{ user: string; token: string }> {
  const core = env.kubeConfig.makeApiClient(CoreV1Api);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  const user = `system:serviceaccount:${namespace}:${name}`;
  if (clusterRole) {
    await env.kubeConfig.makeApiClient(RbacAuthorizationV1Api).createClusterRoleBinding({
      body: {
        metadata: { name: `${namespace}-${name}` },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterRole },
        subjects: [{ kind: "ServiceAccount", name, namespace }],
      },
    });
    await waitFor(`${user} may get /metrics`, () => mayGetMetrics(env, user), 10_000);
  }
  return { user, token: await tokenFor(env, namespace, name) };
}

/** A SubjectAccessReview: may this ServiceAccount user get the /metrics URL? */
export async function mayGetMetrics(env: TestEnv, user: string): Promise<boolean> {
  const namespace = user.split(":")[2] ?? "";
  const review = await env.kubeConfig.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
    body: {
      spec: {
        user,
        groups: [
          "system:serviceaccounts",
          `system:serviceaccounts:${namespace}`,
          "system:authenticated",
        ],
        nonResourceAttributes: { path: "/metrics", verb: "get" },
      },
    },
  });
  return review.status?.allowed === true;
}
