// RBAC is enforced for ServiceAccount tokens from the TokenRequest API, so tests
// can check what the controller may and may not do with its own identity.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { CoreV1Api, RbacAuthorizationV1Api, loadYaml } from "@kubernetes/client-node";
import type {
  AuthenticationV1TokenRequest,
  V1Role,
  V1RoleBinding,
  V1ServiceAccount,
} from "@kubernetes/client-node";
import { asToken, getTestEnv, newNamespace } from "../support/env.ts";
import type { TestEnv } from "../support/env.ts";

let env: TestEnv;
let namespace: string;

before(async () => {
  env = await getTestEnv();
  namespace = await newNamespace(env.kubeConfig, "smoke-rbac");
});

async function status(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === "number") return code;
    throw err;
  }
}

void test("a ServiceAccount token is denied until a RoleBinding grants it access", async () => {
  const core = env.kubeConfig.makeApiClient(CoreV1Api);
  const rbac = env.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  await core.createNamespacedServiceAccount({
    namespace,
    body: loadYaml<V1ServiceAccount>(`metadata: { name: reader }`),
  });
  // Empty audiences mean the apiserver's own audience.
  const tokenRequest = await core.createNamespacedServiceAccountToken({
    name: "reader",
    namespace,
    body: loadYaml<AuthenticationV1TokenRequest>(`spec: { audiences: [], expirationSeconds: 600 }`),
  });
  const token = tokenRequest.status?.token;
  assert.ok(token, "TokenRequest returned no token");

  const asReader = asToken(env.kubeConfig, token).makeApiClient(CoreV1Api);
  assert.equal(await status(asReader.listNamespacedConfigMap({ namespace })), 403);

  await rbac.createNamespacedRole({
    namespace,
    body: loadYaml<V1Role>(`
      metadata: { name: configmap-reader }
      rules: [{ apiGroups: [""], resources: [configmaps], verbs: [get, list] }]`),
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: loadYaml<V1RoleBinding>(`
      metadata: { name: configmap-reader }
      roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: configmap-reader }
      subjects: [{ kind: ServiceAccount, name: reader, namespace: ${namespace} }]`),
  });

  // The authorizer learns about new bindings through its own watch, a moment later.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const code = await status(asReader.listNamespacedConfigMap({ namespace }));
    if (code === 200) break;
    assert.ok(Date.now() < deadline, `still ${code} 10 s after the RoleBinding was created`);
    await sleep(100);
  }
  // The grant is exactly what the Role says: no secrets, no other namespace.
  assert.equal(await status(asReader.listNamespacedSecret({ namespace })), 403);
  assert.equal(await status(asReader.listNamespacedConfigMap({ namespace: "default" })), 403);
});
