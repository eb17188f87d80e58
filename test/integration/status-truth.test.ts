// Status tells the truth whatever the path, on the real API server and the
// emulator: a difference the controller has seen at a destination (drift under
// Report, another object's write) makes the next Enforce/Correct reconcile read
// or put before it says Applied; and one destination reached with no role and
// with a role in the controller's own account is one target. AWS calls are
// counted at the fault proxy.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { canonicalJson } from "../../src/policy/index.ts";
import { callsFor, createDestination, putPolicyDirectly, storedPolicy } from "../support/aws.ts";
import { samplePolicy, waitFor, type Policies } from "../support/policies.ts";
import { appliedSample, DRIFT_EVERY_2S, suite, unique } from "../support/setup.ts";

/** moto's default account: the controller's own identity in the emulator. */
const OWN_ACCOUNT = "123456789012";
const OWN_ROLE = `arn:aws:iam::${OWN_ACCOUNT}:role/ldp-writer`;

/** Waits until the object shows the reason for the generation last written. */
async function settledAs(policies: Policies, name: string, reason: string, generation: number) {
  await waitFor(`${name} ${reason} at generation ${String(generation)}`, async () => {
    const obj = await policies.get(name);
    return (
      obj.status?.observedGeneration === generation &&
      policies.condition(obj, "Ready")?.reason === reason
    );
  });
}

async function patched(policies: Policies, name: string, spec: Record<string, unknown>) {
  return (await policies.patchSpec(name, spec)).metadata.generation ?? 0;
}

describe("status tells the truth", () => {
  const { env, policies } = suite(
    ["truth"],
    [...DRIFT_EVERY_2S, "--allowed-role-arns", `arn:aws:iam::${OWN_ACCOUNT}:role/ldp-*`],
    { assumesRoles: true },
  );
  const puts = async (name: string) => (await callsFor(env, name, "PutDestinationPolicy")).length;
  const reads = async (name: string) => (await callsFor(env, name, "DescribeDestinations")).length;

  test("drift seen under driftPolicy Report, then driftPolicy Correct: the drift is put right before Applied", async (t) => {
    const name = unique("report-then-correct");
    const desired = samplePolicy(name);
    await appliedSample(env, policies, name, { driftPolicy: "Report" });
    await putPolicyDirectly(env, name, samplePolicy(name, ["999999999999"]));
    await policies.waitForReason(name, "Drifted", 15_000);
    assert.equal(await puts(name), 1, "Report left the drift alone");

    const generation = await patched(policies, name, { driftPolicy: "Correct" });
    await settledAs(policies, name, "Applied", generation);
    t.diagnostic(
      `Applied after ${String(await puts(name))} puts, ${String(await reads(name))} reads`,
    );
    assert.equal(await storedPolicy(env, name), canonicalJson(desired));
    assert.equal(await puts(name), 2, "one put corrected it");
  });

  test("Observe, another object takes the destination and is deleted with Retain, then Enforce: put right before Applied", async (t) => {
    const name = unique("observe-retain");
    const desired = samplePolicy(name);
    // A long interval: only the controller's own knowledge of the other write can help.
    await appliedSample(env, policies, name, { driftDetection: { interval: "1h" } });
    let generation = await patched(policies, name, { mode: "Observe" });
    await settledAs(policies, name, "InSync", generation);

    const other = `${name}-other`;
    const foreign = samplePolicy(name, ["333333333333"]);
    await policies.create(other, { destinationName: name, accessPolicy: foreign });
    await policies.waitForReason(other, "Applied");
    await policies.delete(other);
    await policies.waitUntilGone(other);
    assert.equal(await storedPolicy(env, name), canonicalJson(foreign), "Retain left it there");
    const putsBefore = await puts(name);
    const readsBefore = await reads(name);

    generation = await patched(policies, name, { mode: "Enforce" });
    await settledAs(policies, name, "Applied", generation);
    t.diagnostic(
      `after Enforce: ${String((await puts(name)) - putsBefore)} puts, ${String((await reads(name)) - readsBefore)} reads`,
    );
    assert.equal(await storedPolicy(env, name), canonicalJson(desired));
    const looked = (await puts(name)) - putsBefore + ((await reads(name)) - readsBefore);
    assert.ok(looked >= 1, "a read or a put before Applied");
    assert.equal((await puts(name)) - putsBefore, 1, "one put put it right");
  });

  test("a role-less object owns the destination; an object whose role is in the controller's own account is Conflict and cannot revoke it", async (t) => {
    const name = unique("roleless-first");
    await createDestination(env, name);
    const ownerPolicy = samplePolicy(name, ["111111111111"]);
    await policies.create("owner-" + name, { destinationName: name, accessPolicy: ownerPolicy });
    await policies.waitForReason("owner-" + name, "Applied");
    await sleep(1100); // creationTimestamp has one-second resolution
    const late = "late-" + name;
    await policies.create(late, {
      destinationName: name,
      accessPolicy: samplePolicy(name, ["444444444444"]),
      roleArn: OWN_ROLE,
      deletionPolicy: "Revoke",
    });
    await policies.waitForReason(late, "Conflict", 5000).finally(async () => {
      t.diagnostic(`${String(await puts(name))} puts`);
    });
    await policies.delete(late);
    await policies.waitUntilGone(late);
    assert.equal(await storedPolicy(env, name), canonicalJson(ownerPolicy));
    assert.equal(await puts(name), 1, "only the owner's put: the role wrote and revoked nothing");
  });

  test("an object whose role is in the controller's own account owns the destination; a role-less one is Conflict", async (t) => {
    const name = unique("role-first");
    await createDestination(env, name);
    const ownerPolicy = samplePolicy(name, ["111111111111"]);
    await policies.create("owner-" + name, {
      destinationName: name,
      accessPolicy: ownerPolicy,
      roleArn: OWN_ROLE,
    });
    await policies.waitForReason("owner-" + name, "Applied");
    await sleep(1100);
    await policies.create("late-" + name, {
      destinationName: name,
      accessPolicy: samplePolicy(name, ["444444444444"]),
    });
    await policies.waitForReason("late-" + name, "Conflict", 5000).finally(async () => {
      t.diagnostic(`${String(await puts(name))} puts`);
    });
    assert.equal(await storedPolicy(env, name), canonicalJson(ownerPolicy));
    assert.equal(await puts(name), 1, "only the owner's put");
  });
});
