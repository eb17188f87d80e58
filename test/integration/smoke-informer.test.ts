// The local apiserver serves CustomResourceDefinitions and watches, which the
// controller's informer depends on.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  ApiextensionsV1Api,
  CustomObjectsApi,
  loadYaml,
  makeInformer,
} from "@kubernetes/client-node";
import type {
  KubernetesListObject,
  KubernetesObject,
  V1CustomResourceDefinition,
} from "@kubernetes/client-node";
import { getTestEnv, newNamespace } from "../support/env.ts";
import type { TestEnv } from "../support/env.ts";

const group = "smoke.ldpc.test";
const plural = "widgets";

// Manifests are written as YAML, as they would be for kubectl.
const crd = loadYaml<V1CustomResourceDefinition>(`
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: ${plural}.${group} }
spec:
  group: ${group}
  scope: Namespaced
  names: { plural: ${plural}, singular: widget, kind: Widget }
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: { type: object, properties: { size: { type: integer } } }
`);

let env: TestEnv;
let namespace: string;

before(async () => {
  env = await getTestEnv();
  namespace = await newNamespace(env.kubeConfig, "smoke-informer");
  const crds = env.kubeConfig.makeApiClient(ApiextensionsV1Api);
  try {
    await crds.createCustomResourceDefinition({ body: crd });
  } catch (err) {
    // Left by an earlier run against the same `env:up` cluster.
    if ((err as { code?: number }).code !== 409) throw err;
  }
  for (let i = 0; ; i++) {
    const current = await crds.readCustomResourceDefinition({ name: `${plural}.${group}` });
    const established = current.status?.conditions?.some(
      (c) => c.type === "Established" && c.status === "True",
    );
    if (established) break;
    assert.ok(i < 100, "the CRD was not established within 10 s");
    await sleep(100);
  }
});

void test("a custom object created after the informer started is seen as added, then updated", async () => {
  const api = env.kubeConfig.makeApiClient(CustomObjectsApi);
  const informer = makeInformer<KubernetesObject>(
    env.kubeConfig,
    `/apis/${group}/v1/namespaces/${namespace}/${plural}`,
    async () =>
      (await api.listNamespacedCustomObject({
        group,
        version: "v1",
        namespace,
        plural,
      })) as KubernetesListObject<KubernetesObject>,
  );
  const events: string[] = [];
  informer.on("add", (obj) => events.push(`add ${obj.metadata?.name ?? ""}`));
  informer.on("update", (obj) => events.push(`update ${obj.metadata?.name ?? ""}`));
  // An informer stops on any error but 410. Right after a CRD is established the
  // apiserver answers its watch with 429 while the watch cache initialises, so
  // restart it, as a controller must.
  let stopped = false;
  const errors: string[] = [];
  informer.on("error", (err: unknown) => {
    errors.push(String(err));
    setTimeout(() => {
      if (!stopped) informer.start().catch((e: unknown) => errors.push(String(e)));
    }, 200);
  });
  await informer.start();
  after(async () => {
    stopped = true;
    await informer.stop();
  });

  const widget = { apiVersion: `${group}/v1`, kind: "Widget", metadata: { name: "w1" } };
  await api.createNamespacedCustomObject({
    group,
    version: "v1",
    namespace,
    plural,
    body: { ...widget, spec: { size: 1 } },
  });
  await waitFor(() => events.includes("add w1"), "add event", [...events, ...errors]);

  await api.replaceNamespacedCustomObject({
    group,
    version: "v1",
    namespace,
    plural,
    name: "w1",
    body: {
      ...widget,
      metadata: {
        ...widget.metadata,
        resourceVersion: informer.get("w1", namespace)?.metadata?.resourceVersion,
      },
      spec: { size: 2 },
    },
  });
  await waitFor(() => events.includes("update w1"), "update event", [...events, ...errors]);
  assert.deepEqual(events, ["add w1", "update w1"]);
  assert.ok(
    errors.every((e) => e.includes("429")),
    `unexpected errors: ${errors.join(", ")}`,
  );
});

async function waitFor(done: () => boolean, what: string, events: string[]): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    assert.ok(Date.now() < deadline, `no ${what} within 10 s; events: ${events.join(", ")}`);
    await sleep(50);
  }
}
