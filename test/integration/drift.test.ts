// Drift detection: someone changes the policy in AWS behind the controller's back.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { canonicalJson } from "../../src/policy/index.ts";
import { callsFor, putPolicyDirectly, storedPolicy } from "../support/aws.ts";
import { samplePolicy, waitFor } from "../support/policies.ts";
import { appliedSample, DRIFT_EVERY_2S, suite, unique } from "../support/setup.ts";

describe("drift detection", () => {
  const { env, policies, controller } = suite(["drift"], DRIFT_EVERY_2S);
  const metric = "log_destination_policy_drift_detected_total";

  const tamper = (name: string) =>
    putPolicyDirectly(env, name, samplePolicy(name, ["999999999999"]));

  test("a policy changed in AWS is detected and corrected by default", async () => {
    const name = unique("correct");
    const desired = samplePolicy(name);
    await appliedSample(env, policies, name);
    const detected = await controller.metric(metric);
    await tamper(name);
    await waitFor(
      "drift corrected",
      async () => (await storedPolicy(env, name)) === canonicalJson(desired),
      15_000,
    );
    // The put comes first; the metric and the status follow when the reconcile ends.
    await waitFor("the drift counted", async () => (await controller.metric(metric)) > detected);
    const obj = await policies.waitForReason(name, "Applied");
    assert.match(obj.status?.lastDriftCheckTime ?? "", /^\d{4}-/);
  });

  test("with driftPolicy Report the drift is reported as Drifted and left alone", async () => {
    const name = unique("report");
    await appliedSample(env, policies, name, { driftPolicy: "Report" });
    await tamper(name);
    const obj = await policies.waitForReason(name, "Drifted", 15_000);
    assert.match(policies.condition(obj, "Ready")?.message ?? "", /999999999999/);
    assert.equal(
      (await callsFor(env, name, "PutDestinationPolicy")).length,
      1,
      "only the first apply",
    );
    assert.equal(
      await storedPolicy(env, name),
      JSON.stringify(samplePolicy(name, ["999999999999"])),
    );
  });

  test("an interval of 0 disables drift checks for that object", async () => {
    const name = unique("off");
    await appliedSample(env, policies, name, { driftDetection: { interval: "0" } });
    await tamper(name);
    await new Promise((resolve) => setTimeout(resolve, 5000));
    assert.deepEqual(await callsFor(env, name, "DescribeDestinations"), []);
    assert.equal(
      await storedPolicy(env, name),
      JSON.stringify(samplePolicy(name, ["999999999999"])),
    );
  });
});
