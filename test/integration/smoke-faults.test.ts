// Every fault the proxy injects reaches the AWS SDK the way the real service's
// would. The client makes one attempt only, so the SDK's own retries cannot hide
// a fault.
import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";
import {
  CloudWatchLogsServiceException,
  DescribeDestinationsCommand,
  PutDestinationCommand,
  PutDestinationPolicyCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { getTestEnv, logsClient, resetMoto } from "../support/env.ts";
import type { TestEnv } from "../support/env.ts";

const destinationName = "smoke-faults";
const accessPolicy = JSON.stringify({
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Principal: { AWS: "111122223333" },
      Action: "logs:PutSubscriptionFilter",
      Resource: "*",
    },
  ],
});

let env: TestEnv;
let logs: CloudWatchLogsClient;
const putPolicy = () =>
  logs.send(new PutDestinationPolicyCommand({ destinationName, accessPolicy }));

before(async () => {
  env = await getTestEnv();
  logs = logsClient({ maxAttempts: 1 });
  await resetMoto();
  await logs.send(
    new PutDestinationCommand({
      destinationName,
      targetArn: "arn:aws:kinesis:us-east-1:123456789012:stream/smoke",
      roleArn: "arn:aws:iam::123456789012:role/smoke",
    }),
  );
});

beforeEach(async () => {
  await env.proxy.clearFaults();
  await env.proxy.resetCalls();
});

after(async () => {
  await env.proxy.clearFaults();
  logs.destroy();
});

for (const [name, status] of [
  ["OperationAbortedException", 400],
  ["ServiceUnavailableException", 500],
  ["ThrottlingException", 400],
  ["InvalidParameterException", 400],
  ["ResourceNotFoundException", 400],
  ["AccessDeniedException", 400],
] as const) {
  void test(`an injected ${name} reaches the SDK as ${name} with status ${status}, once`, async () => {
    await env.proxy.inject({
      operation: "PutDestinationPolicy",
      fault: { kind: "error", name, message: `injected ${name}` },
      count: 1,
    });
    await assert.rejects(putPolicy(), (err: unknown) => {
      assert.ok(err instanceof CloudWatchLogsServiceException, `not an AWS error: ${String(err)}`);
      assert.equal(err.name, name);
      assert.equal(err.message, `injected ${name}`);
      assert.equal(err.$metadata.httpStatusCode, status);
      assert.equal(err.$metadata.attempts, 1);
      return true;
    });
    await putPolicy();

    const calls = await env.proxy.calls("PutDestinationPolicy");
    assert.deepEqual(
      calls.map((c) => [c.status, c.fault?.kind]),
      [
        [status, "error"],
        [200, undefined],
      ],
    );
  });
}

void test("a fault injected for a full X-Amz-Target applies to that operation only", async () => {
  await env.proxy.inject({
    operation: "Logs_20140328.PutDestinationPolicy",
    fault: { kind: "error", name: "ThrottlingException" },
    count: Infinity,
  });
  await logs.send(new DescribeDestinationsCommand({ DestinationNamePrefix: destinationName }));
  for (let i = 0; i < 3; i++) await assert.rejects(putPolicy(), { name: "ThrottlingException" });
  await env.proxy.clearFaults();
  await putPolicy();
  assert.equal((await env.proxy.calls("PutDestinationPolicy")).length, 4);
  assert.equal((await env.proxy.calls("DescribeDestinations"))[0]?.status, 200);
});

void test("injected latency delays the call, which then succeeds", async () => {
  await env.proxy.inject({
    operation: "PutDestinationPolicy",
    fault: { kind: "latency", ms: 400 },
  });
  const started = Date.now();
  await putPolicy();
  assert.ok(Date.now() - started >= 400, `took only ${Date.now() - started} ms`);
  const [call] = await env.proxy.calls("PutDestinationPolicy");
  assert.equal(call?.status, 200);
  assert.ok(call.at >= started - 5 && call.at <= started + 200, "at is the arrival time");
});

void test("a dropped connection reaches the SDK as a network error, not an AWS error", async () => {
  await env.proxy.inject({ operation: "PutDestinationPolicy", fault: { kind: "drop" } });
  await assert.rejects(putPolicy(), (err: unknown) => {
    assert.ok(!(err instanceof CloudWatchLogsServiceException), "got an AWS error");
    const { code, message } = err as { code?: string; message?: string };
    assert.match(`${code ?? ""} ${message ?? ""}`, /ECONNRESET|socket hang up/i);
    return true;
  });
  await putPolicy();
  const calls = await env.proxy.calls("PutDestinationPolicy");
  assert.deepEqual(
    calls.map((c) => [c.status, c.fault?.kind]),
    [
      [0, "drop"],
      [200, undefined],
    ],
  );
});

void test("a fault scoped to a destination leaves calls about other destinations alone", async () => {
  await env.proxy.inject({
    operation: "PutDestinationPolicy",
    fault: { kind: "error", name: "OperationAbortedException" },
    destination: "some-other-destination",
  });
  await putPolicy();
  const [call] = await env.proxy.calls("PutDestinationPolicy");
  assert.equal(call?.status, 200);
  assert.equal(call.fault, undefined);
});
