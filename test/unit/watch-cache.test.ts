// What the watcher keeps of each object: everything but managedFields, which
// nothing reads and which cost about a fifth of the cache's memory.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { KubernetesObject } from "@kubernetes/client-node";
import type { LogDestinationPolicy } from "../../src/api/v1alpha1.ts";
import { PolicyWatcher, type WatchTransport } from "../../src/kube/watch.ts";

const managedFields = [
  { manager: "kubectl", operation: "Update", fieldsType: "FieldsV1", fieldsV1: { "f:spec": {} } },
];

test("cached objects and the objects handed to the controller carry no managedFields", async () => {
  const listed: KubernetesObject = {
    metadata: { namespace: "ns", name: "a", resourceVersion: "3", managedFields },
  };
  let emit: ((type: string, object: unknown) => void) | undefined;
  const transport: WatchTransport = {
    list: () => Promise.resolve({ items: [listed], resourceVersion: "5" }),
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
  emit("MODIFIED", {
    metadata: { namespace: "ns", name: "b", resourceVersion: "6", managedFields },
    spec: { destinationName: "b" },
  });
  await watcher.stop();

  assert.equal(handed.length, 2);
  for (const obj of handed) assert.equal(obj.metadata.managedFields, undefined);
  assert.equal(watcher.get("ns", "a")?.metadata.managedFields, undefined);
  assert.deepEqual(watcher.get("ns", "b")?.spec, { destinationName: "b" });
});
