// Two objects claiming one destination, and what deleting an object does to AWS.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { REVOKE_FINALIZER } from "../../src/api/names.ts";
import { canonicalJson } from "../../src/policy/index.ts";
import { DENY_ALL_POLICY } from "../../src/controller/phases/deletion.ts";
import { callsFor, createDestination, storedPolicy } from "../support/aws.ts";
import { samplePolicy, waitFor } from "../support/policies.ts";
import { sampleObject, suite, unique } from "../support/setup.ts";

describe("conflicts and deletion", () => {
  const { env, namespaces } = suite(["team-a", "team-b"]);
  const [first, second] = namespaces;

  test("the older of two objects for one destination owns it and the newer reports Conflict without naming another namespace's owner", async () => {
    const name = unique("shared");
    await createDestination(env, name);
    const ownerPolicy = samplePolicy(name, ["111111111111"]);
    await first.create("owner", { destinationName: name, accessPolicy: ownerPolicy });
    await first.waitForReason("owner", "Applied");
    await sleep(1100); // creationTimestamp has one-second resolution
    await second.create("late", {
      destinationName: name,
      accessPolicy: samplePolicy(name, ["444444444444"]),
    });
    const late = await second.waitForReason("late", "Conflict");
    const message = second.condition(late, "Ready")?.message ?? "";
    assert.match(message, /managed by an older LogDestinationPolicy in another namespace/);
    assert.ok(!message.includes(first.namespace) && !message.includes('owner"'), message);

    // A change to the owner is applied; the newer object still never writes.
    const changed = samplePolicy(name, ["111111111111", "555555555555"]);
    await first.patchSpec("owner", { accessPolicy: changed });
    await first.waitForReason("owner", "Applied");
    await sleep(1000);
    assert.equal(await storedPolicy(env, name), canonicalJson(changed));
    assert.equal(
      (await callsFor(env, name, "PutDestinationPolicy")).length,
      2,
      "writes never alternate",
    );

    // When the owner goes, the other object takes over.
    await first.delete("owner");
    await second.waitForReason("late", "Applied");
    assert.equal(
      await storedPolicy(env, name),
      canonicalJson(samplePolicy(name, ["444444444444"])),
    );
  });

  test("deletionPolicy Retain adds no finalizer and leaves the policy in AWS", async () => {
    const name = unique("retain");
    await createDestination(env, name);
    await first.create(name, { destinationName: name, accessPolicy: samplePolicy(name) });
    const obj = await first.waitForReason(name, "Applied");
    assert.deepEqual(obj.metadata.finalizers ?? [], []);
    await first.delete(name);
    await sleep(1000);
    assert.equal(await storedPolicy(env, name), canonicalJson(samplePolicy(name)));
  });

  test("deletionPolicy Revoke puts a deny-all policy before the finalizer is removed", async () => {
    const name = unique("revoke");
    await sampleObject(env, first, name, { deletionPolicy: "Revoke" });
    const obj = await first.waitForReason(name, "Applied");
    await waitFor(
      "finalizer added",
      async () => (await first.get(name)).metadata.finalizers?.includes(REVOKE_FINALIZER) ?? false,
    );
    assert.ok(obj);
    await first.delete(name);
    await first.waitUntilGone(name);
    assert.equal(await storedPolicy(env, name), DENY_ALL_POLICY);
  });

  test("a Revoke object whose destination vanished is released instead of blocking deletion", async () => {
    const name = unique("vanished");
    await first.create(name, {
      destinationName: name,
      accessPolicy: samplePolicy(name),
      deletionPolicy: "Revoke",
    });
    await first.waitForReason(name, "DestinationNotFound");
    await first.delete(name);
    await first.waitUntilGone(name);
  });
});
