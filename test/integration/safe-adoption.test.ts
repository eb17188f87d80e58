// Observe mode and the public-access guardrail against the real API server and
// the emulator: adoption must never write before the user says so, and a policy
// open to every AWS account must never reach AWS unless explicitly allowed.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { canonicalJson } from "../../src/policy/index.ts";
import { callsFor, createDestination, putPolicyDirectly, storedPolicy } from "../support/aws.ts";
import { samplePolicy } from "../support/policies.ts";
import { sampleObject, suite, unique } from "../support/setup.ts";

const PUT = "PutDestinationPolicy";

describe("safe adoption", () => {
  const { env, policies } = suite(["adoption"], ["--min-drift-detection-interval", "1s"]);
  const { policies: strict } = suite(["adoption-strict"], ["--deny-public-access-override"]);
  const putCount = async () => (await env.proxy.calls(PUT)).length;

  const putDirectly = (name: string, policy: unknown) => putPolicyDirectly(env, name, policy);

  test("observe mode reports a different live policy as OutOfSync, names the difference and never writes", async () => {
    const name = unique("observe");
    await createDestination(env, name);
    await putDirectly(name, samplePolicy(name, ["111111111111"]));
    const before = await putCount();
    const desired = samplePolicy(name, ["111111111111", "333333333333"]);
    await policies.create(name, {
      destinationName: name,
      accessPolicy: desired,
      mode: "Observe",
      driftDetection: { interval: "1s" },
    });
    const obj = await policies.waitForReason(name, "OutOfSync");
    const ready = policies.condition(obj, "Ready");
    assert.equal(ready?.status, "False");
    assert.match(ready.message, /333333333333/);
    assert.match(obj.status?.livePolicyHash ?? "", /^sha256:/);
    // A person decides, so GitOps tools see it settled rather than in progress.
    assert.equal(policies.condition(obj, "Stalled")?.status, "True");
    await sleep(30_000);
    assert.equal((await putCount()) - before, 0, "zero PutDestinationPolicy calls over 30 s");
    assert.equal(
      await storedPolicy(env, name),
      JSON.stringify(samplePolicy(name, ["111111111111"])),
    );

    // The live policy is made equal by hand: the next periodic look reports InSync.
    await putDirectly(name, desired);
    const inSync = await policies.waitForReason(name, "InSync", 15_000);
    assert.notEqual(
      inSync.status?.livePolicyHash,
      obj.status?.livePolicyHash,
      "the live hash follows the live policy",
    );

    // Switching to Enforce makes the first write, exactly once.
    const changed = await putDirectly(name, samplePolicy(name, ["111111111111"])).then(() =>
      policies.patchSpec(name, { mode: "Enforce" }),
    );
    const applied = await policies.waitForReason(name, "Applied");
    assert.equal(applied.metadata.generation, changed.metadata.generation);
    await sleep(1000);
    assert.equal((await putCount()) - before, 1);
    assert.equal(await storedPolicy(env, name), canonicalJson(desired));
  });

  const everyone = (principal: unknown, condition?: unknown) => ({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "Safe",
        Effect: "Allow",
        Principal: { AWS: ["111111111111"] },
        Action: "logs:PutSubscriptionFilter",
        Resource: "*",
      },
      {
        Sid: "Open",
        Effect: "Allow",
        Principal: principal,
        Action: "logs:PutSubscriptionFilter",
        Resource: "*",
        ...(condition ? { Condition: condition } : {}),
      },
    ],
  });

  const unsafe: [string, unknown][] = [
    ['"Principal": "*" with no condition', everyone("*")],
    [
      '"Principal": "*" with an unrelated condition',
      everyone("*", { IpAddress: { "aws:SourceIp": "10.0.0.0/8" } }),
    ],
    ['{"AWS": "*"}', everyone({ AWS: "*" })],
    ['a list of principals that includes "*"', everyone({ AWS: ["111111111111", "*"] })],
  ];

  for (const [shape, policy] of unsafe) {
    test(`a policy with ${shape} is refused as UnsafePolicy naming the statement, with zero AWS calls`, async () => {
      const name = unique("unsafe");
      await createDestination(env, name);
      await policies.create(name, { destinationName: name, accessPolicy: policy });
      const obj = await policies.waitForReason(name, "UnsafePolicy");
      assert.equal(policies.condition(obj, "Stalled")?.status, "True");
      assert.match(
        policies.condition(obj, "Ready")?.message ?? "",
        /Statement\[1\] \(Sid "Open"\)/,
      );
      await sleep(300);
      assert.deepEqual(await callsFor(env, name), []);
    });
  }

  const safe: [string, unknown][] = [
    [
      "an organization ID condition",
      everyone("*", { StringEquals: { "aws:PrincipalOrgID": ["o-abc123def4"] } }),
    ],
    ["account IDs only", samplePolicy("x", ["111111111111", "222222222222"])],
  ];

  for (const [shape, policy] of safe) {
    test(`a policy with ${shape} is accepted and applied`, async () => {
      const name = unique("safe");
      await createDestination(env, name);
      await policies.create(name, { destinationName: name, accessPolicy: policy });
      await policies.waitForReason(name, "Applied");
    });
  }

  test("spec.allowPublicAccess lifts the refusal", async () => {
    const name = unique("override");
    await sampleObject(env, policies, name, {
      accessPolicy: everyone("*"),
      allowPublicAccess: true,
    });
    await policies.waitForReason(name, "Applied");
  });

  test("the controller flag that forbids the override wins over spec.allowPublicAccess", async () => {
    const name = unique("forbidden");
    await sampleObject(env, strict, name, { accessPolicy: everyone("*"), allowPublicAccess: true });
    const obj = await strict.waitForReason(name, "UnsafePolicy");
    assert.match(strict.condition(obj, "Ready")?.message ?? "", /--deny-public-access-override/);
    assert.deepEqual(await callsFor(env, name), []);
  });
});
