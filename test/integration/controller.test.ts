// The controller's main scenarios against the real API server, the CloudWatch
// Logs emulator and the fault proxy. Each test asserts on conditions, on what
// the emulator stores, and on how many calls reached the proxy.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { LAST_APPLIED_ANNOTATION } from "../../src/api/names.ts";
import { canonicalJson } from "../../src/policy/index.ts";
import { createDestination, storedPolicy } from "../support/aws.ts";
import { samplePolicy, waitFor } from "../support/policies.ts";
import { appliedSample, suite, unique as uniqueName } from "../support/setup.ts";

const PUT = "PutDestinationPolicy";
const SMALL_RETRY_BUDGET = ["--aws-max-attempts", "3", "--aws-max-retry-time", "3s"];

describe("the controller", () => {
  // A small retry budget keeps the "retries exhausted" scenario short.
  const { env, policies, controller, startAgain } = suite(["controller"], SMALL_RETRY_BUDGET, {
    clearsFaults: true,
  });
  const mine = new Set<string>();
  const unique = (base: string) => {
    const name = uniqueName(base);
    mine.add(name);
    return name;
  };
  // Objects of other test files may still be retrying, so only this file's destinations count.
  const callCount = async (operation?: string) =>
    (await env.proxy.calls(operation)).filter(
      (c) => c.destination !== undefined && mine.has(c.destination),
    ).length;
  const putCount = () => callCount(PUT);

  test("a valid policy becomes Ready within seconds and the emulator holds its canonical JSON", async () => {
    const name = unique("valid");
    await createDestination(env, name);
    const before = await putCount();
    const policy = samplePolicy(name);
    await policies.create(name, { destinationName: name, accessPolicy: policy });
    const obj = await policies.waitForReason(name, "Applied", 10_000);
    assert.equal(policies.condition(obj, "Ready")?.status, "True");
    assert.equal(policies.condition(obj, "Stalled"), undefined);
    assert.equal(policies.condition(obj, "Reconciling"), undefined);
    assert.equal(await storedPolicy(env, name), canonicalJson(policy));
    assert.match(obj.status?.appliedPolicyHash ?? "", /^sha256:[0-9a-f]{64}$/);
    assert.ok(obj.metadata.annotations?.[LAST_APPLIED_ANNOTATION]);
    // The controller's own annotation and status writes must not cause a second put.
    await sleep(1500);
    assert.equal((await putCount()) - before, 1);
  });

  test("the same policy with reordered keys or as a JSON string makes no further AWS call", async () => {
    const name = unique("same");
    const policy = samplePolicy(name);
    await appliedSample(env, policies, name);
    const before = await putCount();
    const skippedBefore = await controller.metric("log_destination_policy_apply_skipped_total");

    const statement = policy.Statement[0];
    assert.ok(statement);
    const reordered = {
      Statement: [
        {
          Resource: statement.Resource,
          Action: [statement.Action],
          Principal: statement.Principal,
          Effect: "Allow",
        },
      ],
      Version: "2012-10-17",
    };
    const changed = await policies.patchSpec(name, { accessPolicy: reordered });
    await waitFor(
      "reordered generation observed",
      async () =>
        (await policies.get(name)).status?.observedGeneration === changed.metadata.generation,
    );

    const asJson = await policies.patchSpec(name, {
      accessPolicy: null,
      accessPolicyJson: `{ "Version": "2012-10-17",\n  "Statement": ${JSON.stringify(policy.Statement, null, 2)} }`,
    });
    await waitFor(
      "JSON form observed",
      async () =>
        (await policies.get(name)).status?.observedGeneration === asJson.metadata.generation,
    );

    assert.equal((await putCount()) - before, 0);
    assert.ok(
      (await controller.metric("log_destination_policy_apply_skipped_total")) >= skippedBefore + 2,
    );
    assert.equal(policies.condition(await policies.get(name), "Ready")?.status, "True");
  });

  test("a real change makes exactly one call and status follows the generation", async () => {
    const name = unique("change");
    await createDestination(env, name);
    await policies.create(name, { destinationName: name, accessPolicy: samplePolicy(name) });
    const first = await policies.waitForReason(name, "Applied");
    const before = await putCount();

    const updated = samplePolicy(name, ["111111111111", "333333333333"]);
    const patched = await policies.patchSpec(name, { accessPolicy: updated });
    const obj = await policies.waitForReason(name, "Applied");
    await sleep(1000);
    assert.equal((await putCount()) - before, 1);
    assert.equal(obj.status?.observedGeneration, patched.metadata.generation);
    assert.equal(policies.condition(obj, "Ready")?.observedGeneration, patched.metadata.generation);
    assert.notEqual(obj.status?.appliedPolicyHash, first.status?.appliedPolicyHash);
    assert.equal(await storedPolicy(env, name), canonicalJson(updated));
    const annotation = JSON.parse(obj.metadata.annotations?.[LAST_APPLIED_ANNOTATION] ?? "{}") as {
      policy?: unknown;
    };
    assert.deepEqual(annotation.policy, JSON.parse(canonicalJson(updated)));
  });

  test("OperationAborted twice then success ends Ready and bumps the retries metric by two", async () => {
    const name = unique("aborted");
    await createDestination(env, name);
    const labels = { operation: PUT, error: "OperationAbortedException" };
    const retriesBefore = await controller.metric(
      "log_destination_policy_aws_retries_total",
      labels,
    );
    const before = await putCount();
    await env.proxy.inject({
      operation: PUT,
      fault: { kind: "error", name: "OperationAbortedException" },
      count: 2,
      destination: name,
    });
    await policies.create(name, { destinationName: name, accessPolicy: samplePolicy(name) });
    await policies.waitForReason(name, "Applied");
    assert.equal(
      (await controller.metric("log_destination_policy_aws_retries_total", labels)) - retriesBefore,
      2,
    );
    assert.equal((await putCount()) - before, 3);
  });

  test("ServiceUnavailable beyond the retry budget reports AWSUnavailable and recovers by itself", async () => {
    const name = unique("unavailable");
    await createDestination(env, name);
    await env.proxy.inject({
      operation: PUT,
      fault: { kind: "error", name: "ServiceUnavailableException" },
      count: Infinity,
      destination: name,
    });
    await policies.create(name, { destinationName: name, accessPolicy: samplePolicy(name) });
    const failed = await policies.waitForReason(name, "AWSUnavailable", 15_000);
    assert.equal(policies.condition(failed, "Ready")?.status, "False");
    assert.equal(policies.condition(failed, "Reconciling")?.status, "True");
    assert.equal(policies.condition(failed, "Stalled"), undefined);
    await env.proxy.clearFaults();
    await policies.waitForReason(name, "Applied", 30_000);
  });

  test("InvalidParameter stalls with AWSRejected and does not loop", async () => {
    const name = unique("rejected");
    await createDestination(env, name);
    await env.proxy.inject({
      operation: PUT,
      fault: { kind: "error", name: "InvalidParameterException", message: "policy is not valid" },
      count: Infinity,
      destination: name,
    });
    const before = await putCount();
    try {
      await policies.create(name, { destinationName: name, accessPolicy: samplePolicy(name) });
      const obj = await policies.waitForReason(name, "AWSRejected");
      assert.equal(policies.condition(obj, "Stalled")?.status, "True");
      // Status names the AWS error and says what it means; AWS's own text stays in the log.
      const message = policies.condition(obj, "Ready")?.message ?? "";
      assert.match(message, /InvalidParameterException/);
      assert.doesNotMatch(message, /policy is not valid/);
      await sleep(30_000);
      assert.equal((await putCount()) - before, 1, "one attempt, no retries, no requeue over 30 s");
    } finally {
      await env.proxy.clearFaults();
    }
  });

  const invalidSpecs: [string, Record<string, unknown>, RegExp][] = [
    [
      "bad JSON",
      { accessPolicyJson: '{"Version": "2012-10-17", "Statement": [' },
      /spec\.accessPolicyJson/,
    ],
    [
      "a 5121-byte policy",
      {
        accessPolicy: {
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { AWS: ["111111111111"] },
              Action: "logs:PutSubscriptionFilter",
              Resource: "x",
            },
          ],
        },
      },
      /5121 bytes.*5120/,
    ],
    [
      // The CRD refuses a wrong Effect at admission; a misspelt field is the grammar's to find.
      "a misspelt Actions",
      {
        accessPolicy: {
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Principal: { AWS: ["111111111111"] },
              Actions: "logs:PutSubscriptionFilter",
              Resource: "*",
            },
          ],
        },
      },
      /spec\.accessPolicy\.Statement\[0\]\.Actions: unknown statement field/,
    ],
  ];

  for (const [what, specPart, message] of invalidSpecs) {
    test(`an invalid spec (${what}) stalls with InvalidSpec, names the field and calls AWS zero times`, async () => {
      const name = unique("invalid");
      if (what === "a 5121-byte policy") padTo5121(specPart);
      const before = await callCount();
      await policies.create(name, { destinationName: name, ...specPart });
      const obj = await policies.waitForReason(name, "InvalidSpec");
      assert.equal(policies.condition(obj, "Stalled")?.status, "True");
      assert.match(policies.condition(obj, "Ready")?.message ?? "", message);
      await sleep(500);
      assert.equal((await callCount()) - before, 0);
    });
  }

  test("a missing destination reports DestinationNotFound and becomes Ready once it exists", async () => {
    const name = unique("missing");
    await policies.create(name, { destinationName: name, accessPolicy: samplePolicy(name) });
    const obj = await policies.waitForReason(name, "DestinationNotFound");
    assert.equal(policies.condition(obj, "Reconciling")?.status, "True");
    await createDestination(env, name);
    await policies.waitForReason(name, "Applied", 30_000);
  });

  test("a suspended object causes no AWS call until it is resumed", async () => {
    const name = unique("suspended");
    await createDestination(env, name);
    const before = await callCount();
    await policies.create(name, {
      destinationName: name,
      accessPolicy: samplePolicy(name),
      suspend: true,
    });
    const obj = await policies.waitForReason(name, "Suspended");
    assert.equal(policies.condition(obj, "Ready")?.status, "False");
    await sleep(3000);
    assert.equal((await callCount()) - before, 0);
    await policies.patchSpec(name, { suspend: false });
    await policies.waitForReason(name, "Applied");
  });

  test("a controller restart makes no second put for unchanged objects", async () => {
    await controller.stop();
    const before = await putCount();
    const skippedMetric = "log_destination_policy_apply_skipped_total";
    await startAgain();
    const applied = (await policies.api.listNamespacedCustomObject({
      group: "logs.gitops.dev",
      version: "v1alpha1",
      plural: "logdestinationpolicies",
      namespace: policies.namespace,
    })) as { items: { status?: { conditions?: { type: string; reason: string }[] } }[] };
    const appliedCount = applied.items.filter((i) =>
      i.status?.conditions?.some((c) => c.type === "Ready" && c.reason === "Applied"),
    ).length;
    await waitFor(
      "every applied object verified",
      async () => (await controller.metric(skippedMetric)) >= appliedCount,
    );
    await sleep(1000);
    assert.equal((await putCount()) - before, 0);
  });
});

/**
 * Sets the Resources so that the canonical policy is exactly 5121 bytes, with
 * multi-byte characters, in two strings: the CRD admits no string beyond 2048.
 */
function padTo5121(spec: Record<string, unknown>): void {
  const policy = spec.accessPolicy as { Statement: { Resource: string | string[] }[] };
  const statement = policy.Statement[0];
  if (!statement) throw new Error("no statement");
  statement.Resource = ["", ""];
  const missing = 5121 - Buffer.byteLength(canonicalJson(policy), "utf8");
  const first = Math.floor(missing / 4);
  const rest = missing - 2 * first;
  statement.Resource = ["é".repeat(first), "é".repeat(Math.floor(rest / 2)) + "x".repeat(rest % 2)];
  assert.equal(Buffer.byteLength(canonicalJson(policy), "utf8"), 5121);
}
