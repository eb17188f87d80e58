// CloudWatch Logs destination calls go through the fault proxy to moto and come
// back in the shape the AWS SDK expects.
import assert from "node:assert/strict";
import { before, test } from "node:test";
import {
  DescribeDestinationsCommand,
  PutDestinationCommand,
  PutDestinationPolicyCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { getTestEnv, logsClient, resetMoto } from "../support/env.ts";
import type { TestEnv } from "../support/env.ts";

let env: TestEnv;

before(async () => {
  env = await getTestEnv();
  await resetMoto();
  await env.proxy.resetCalls();
});

void test("a destination and its access policy round-trip through the proxy to the emulator", async () => {
  const logs = logsClient();
  const destinationName = "smoke-destination";
  const put = await logs.send(
    new PutDestinationCommand({
      destinationName,
      targetArn: "arn:aws:kinesis:us-east-1:123456789012:stream/smoke",
      roleArn: "arn:aws:iam::123456789012:role/smoke-to-kinesis",
    }),
  );
  assert.match(
    put.destination?.arn ?? "",
    /^arn:aws:logs:us-east-1:\d{12}:destination:smoke-destination$/,
  );

  const accessPolicy = JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { AWS: "111122223333" },
        Action: "logs:PutSubscriptionFilter",
        Resource: put.destination?.arn,
      },
    ],
  });
  await logs.send(new PutDestinationPolicyCommand({ destinationName, accessPolicy }));

  const described = await logs.send(
    new DescribeDestinationsCommand({ DestinationNamePrefix: destinationName }),
  );
  const found = described.destinations?.find((d) => d.destinationName === destinationName);
  assert.ok(found, "DescribeDestinations did not return the destination");
  assert.deepEqual(JSON.parse(found.accessPolicy ?? "null"), JSON.parse(accessPolicy));

  const calls = await env.proxy.calls();
  assert.deepEqual(
    calls.map((c) => [c.operation, c.status]),
    [
      ["PutDestination", 200],
      ["PutDestinationPolicy", 200],
      ["DescribeDestinations", 200],
    ],
  );
  assert.equal(calls[1]?.target, "Logs_20140328.PutDestinationPolicy");
  logs.destroy();
});
