// What the watcher keeps of each object: the fields reconciling reads. The
// rest (managedFields, labels, other tools' annotations) can be most of an
// object's size and nothing reads it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { KubernetesObject } from "@kubernetes/client-node";
import { LAST_APPLIED_ANNOTATION, REVOKE_FINALIZER } from "../../src/api/names.ts";
import { OVERSIZED_POLICY_MARK, type LogDestinationPolicy } from "../../src/api/v1alpha1.ts";
import { trimForCache } from "../../src/kube/trim.ts";
import { PolicyWatcher } from "../../src/kube/watch.ts";
import type { WatchTransport } from "../../src/kube/watch-stream.ts";

const managedFields = [
  { manager: "kubectl", operation: "Update", fieldsType: "FieldsV1", fieldsV1: { "f:spec": {} } },
];

function received(name: string, resourceVersion: string): KubernetesObject {
  return {
    apiVersion: "logs.gitops.dev/v1alpha1",
    kind: "LogDestinationPolicy",
    metadata: {
      namespace: "ns",
      name,
      uid: `uid-${name}`,
      generation: 2,
      resourceVersion,
      creationTimestamp: new Date("2026-01-02T03:04:05Z"),
      finalizers: [REVOKE_FINALIZER],
      labels: { "app.kubernetes.io/instance": "team-a" },
      annotations: {
        [LAST_APPLIED_ANNOTATION]: '{"hash":"sha256:1"}',
        "kubectl.kubernetes.io/last-applied-configuration": "{...the whole object...}",
        "argocd.argoproj.io/tracking-id": "team-a:logs.gitops.dev/LogDestinationPolicy:ns/a",
      },
      managedFields,
      ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "x", uid: "u" }],
    },
    spec: { destinationName: name },
    status: { observedGeneration: 1 },
  } as KubernetesObject;
}

test("the cache keeps the fields reconciling reads and only this controller's annotations", () => {
  const trimmed = trimForCache(received("a", "3")) as LogDestinationPolicy;
  assert.equal(trimmed.apiVersion, "logs.gitops.dev/v1alpha1");
  assert.equal(trimmed.kind, "LogDestinationPolicy");
  assert.deepEqual(trimmed.spec, { destinationName: "a" });
  assert.deepEqual(trimmed.status, { observedGeneration: 1 });
  const m = trimmed.metadata;
  assert.equal(m.uid, "uid-a");
  assert.equal(m.generation, 2);
  assert.equal(m.resourceVersion, "3");
  assert.deepEqual(m.finalizers, [REVOKE_FINALIZER]);
  assert.deepEqual(m.annotations, { [LAST_APPLIED_ANNOTATION]: '{"hash":"sha256:1"}' });
  assert.equal(m.managedFields, undefined);
  assert.equal(m.labels, undefined);
  assert.equal(m.ownerReferences, undefined);
});

test("an object with no annotation of this controller is cached with none", () => {
  const obj = received("a", "3");
  if (obj.metadata) obj.metadata.annotations = { "team.example.com/owner": "a" };
  assert.equal(trimForCache(obj).metadata.annotations, undefined);
});

test("cached objects and the objects handed to the controller are trimmed, from a list and from a watch", async () => {
  let emit: ((type: string, object: unknown) => void) | undefined;
  const transport: WatchTransport = {
    list: () => Promise.resolve({ items: [received("a", "3")], resourceVersion: "5" }),
    watch: (_ns, _rv, onEvent) => {
      emit = onEvent;
      return Promise.resolve({ abort: () => undefined });
    },
  };
  const handed: LogDestinationPolicy[] = [];
  const watcher = new PolicyWatcher(transport, undefined, {
    upsert: (o) => handed.push(o),
    remove: () => undefined,
  });
  watcher.start();
  for (let i = 0; i < 200 && !emit; i++) await sleep(5);
  assert.ok(emit, "a watch was opened");
  emit("MODIFIED", received("b", "6"));
  await watcher.stop();

  assert.equal(handed.length, 2);
  for (const obj of [...handed, watcher.get("ns", "a"), watcher.get("ns", "b")]) {
    assert.ok(obj);
    assert.equal(obj.metadata.managedFields, undefined);
    assert.equal(obj.metadata.labels, undefined);
    assert.deepEqual(Object.keys(obj.metadata.annotations ?? {}), [LAST_APPLIED_ANNOTATION]);
  }
  assert.deepEqual(watcher.get("ns", "b")?.spec, { destinationName: "b" });
});

test("a policy far beyond AWS's limit is cached as its size, and so reported, not kept whole", () => {
  const obj = received("big", "5") as KubernetesObject & { spec: Record<string, unknown> };
  const statement = { Effect: "Allow", Principal: "*", Action: "x".repeat(1000) };
  obj.spec = {
    destinationName: "big",
    accessPolicy: { Version: "2012-10-17", Statement: Array.from({ length: 50 }, () => statement) },
  };
  const trimmed = trimForCache(obj) as LogDestinationPolicy;
  const spec = trimmed.spec as { destinationName: string; accessPolicy: Record<string, unknown> };
  assert.equal(spec.destinationName, "big");
  assert.deepEqual(Object.keys(spec.accessPolicy), [OVERSIZED_POLICY_MARK]);
  assert.ok(JSON.stringify(trimmed).length < 2_000);

  const small = received("small", "6") as KubernetesObject & { spec: Record<string, unknown> };
  small.spec = { destinationName: "small", accessPolicy: { Version: "2012-10-17" } };
  assert.deepEqual(trimForCache(small), { ...small, metadata: trimForCache(small).metadata });
});

test("a last-applied record far beyond what the controller writes is not cached", () => {
  const obj = received("rec", "7");
  if (obj.metadata) obj.metadata.annotations = { [LAST_APPLIED_ANNOTATION]: "x".repeat(100_000) };
  assert.equal(trimForCache(obj).metadata.annotations, undefined);
});
