// The watcher's list follows continue tokens: with more objects than fit on a
// page, every one of them reaches the cache, not only the first page.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { KubeWatchTransport } from "../../src/kube/watch.ts";
import { getTestEnv, newNamespace, type TestEnv } from "../support/env.ts";
import { installCrd, Policies, samplePolicy } from "../support/policies.ts";

let env: TestEnv;
let policies: Policies;

before(async () => {
  env = await getTestEnv();
  await installCrd(env);
  policies = new Policies(env.kubeConfig, await newNamespace(env.kubeConfig, "paging"));
});

test("a list longer than one page returns every object", async () => {
  const names = ["a", "b", "c", "d", "e"];
  for (const name of names) {
    await policies.create(name, { destinationName: name, accessPolicy: samplePolicy(name) });
  }
  const transport = new KubeWatchTransport(env.kubeConfig, {
    inactivityTimeoutMs: 60_000,
    pageSize: 2,
  });
  const { items, resourceVersion } = await transport.list(policies.namespace);
  assert.deepEqual(items.map((o) => o.metadata?.name).sort(), names);
  assert.match(resourceVersion, /^\d+$/);
});
