// Drift detection: someone changes the policy in AWS behind the controller's back.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { canonicalJson } from "../../src/policy/index.ts";
import { type TestEnv } from "../support/env.ts";
import { type RunningController } from "../support/controller.ts";
import {
  callsFor,
  createDestination,
  Policies,
  putPolicyDirectly,
  samplePolicy,
  storedPolicy,
  waitFor,
} from "../support/policies.ts";
import { appliedSample, setUp, unique, watching } from "../support/setup.ts";

describe("drift detection", () => {
  let env: TestEnv;
  let policies: Policies;
  let controller: RunningController;
  const metric = "log_destination_policy_drift_detected_total";

  before(async () => {
    ({
      env,
      policies: [policies],
    } = await setUp("drift"));
    controller = await watching(
      env,
      [policies],
      ["--drift-detection-interval", "2s", "--min-drift-detection-interval", "1s"],
    );
  });

  after(async () => {
    assert.equal(await controller.stop(), 0);
  });

  const tamper = (name: string) =>
    putPolicyDirectly(env, name, samplePolicy(name, ["999999999999"]));

  test("a policy changed in AWS is detected and corrected by default", async () => {
    const name = unique("correct");
    await createDestination(env, name);
    const desired = samplePolicy(name);
    await policies.create(name, { destinationName: name, accessPolicy: desired });
    await policies.waitForReason(name, "Applied");
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
