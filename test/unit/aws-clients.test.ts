// What the AWS client keeps per region, role and session is bounded by a cap,
// and one eviction drops it all together: the SDK client, the session's
// credentials, and the region's STS client and rate bucket once nothing else
// uses them.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AssumedRoleCredentials } from "../../src/aws/assumed-role.ts";
import { AwsCalls } from "../../src/aws/calls.ts";
import { DestinationPolicyClient } from "../../src/aws/destinations.ts";
import { AwsCallError } from "../../src/aws/errors.ts";
import { LogsClients } from "../../src/aws/logs-clients.ts";
import { AwsRateLimiter } from "../../src/aws/rate-limit.ts";
import { DEFAULT_RETRY_POLICY } from "../../src/aws/retry.ts";
import { RoleAllowList } from "../../src/aws/roles.ts";
import { fakeSts, ok, withLogsEndpoint } from "./fakes/logs-endpoint.ts";

const ROLE = "arn:aws:iam::111122223333:role/ldp-writer";

/** A put through ROLE in `region`, as the object ns/<name> makes it. */
const put = (region: string, name = "a") => ({
  region,
  destinationName: "d",
  accessPolicy: "{}",
  forceUpdate: false,
  roleArn: ROLE,
  sessionName: `ldp-ns@${name}`,
});

describe("AWS clients", () => {
  test("at most --aws-max-clients clients are kept; an eviction drops the client's credentials, STS client and rate bucket with it", async () => {
    await withLogsEndpoint(
      (_req, res) => {
        ok(res);
      },
      async () => {
        const sts = fakeSts(() => Date.now(), 3_600_000);
        const credentials = new AssumedRoleCredentials({ stsClient: () => sts.client });
        const client = new DestinationPolicyClient({
          allowedRoles: RoleAllowList.parse([ROLE]),
          credentials,
          rateLimit: { ratePerSecond: 1000, burst: 1000 },
          maxClients: 3,
        });
        try {
          for (let i = 0; i < 20; i++) await client.putPolicy(put(`zz-made-up-${i + 1}`, `o${i}`));
          assert.equal(client.clientCount, 3);
          assert.equal(client.bucketCount, 3, "one account and region per kept client");
          assert.equal(credentials.size, 3, "one session per kept client");
          assert.equal(credentials.stsClients, 3, "one region per kept client");
          assert.equal(sts.calls.length, 20);

          // Two sessions in one region share its STS client and bucket: both go with the last.
          await client.putPolicy(put("eu-west-1", "x"));
          await client.putPolicy(put("eu-west-1", "y"));
          await client.putPolicy(put("zz-made-up-30", "z"));
          assert.equal(client.clientCount, 3);
          assert.equal(credentials.stsClients, 2, "eu-west-1 and zz-made-up-30");
          assert.equal(client.bucketCount, 2);
          await client.putPolicy(put("zz-made-up-31", "w"));
          await client.putPolicy(put("zz-made-up-32", "v"));
          assert.equal(credentials.stsClients, 3, "eu-west-1 went with its last client");
          assert.equal(credentials.size, 3);
        } finally {
          client.destroy();
        }
      },
    );
  });

  test("a client an attempt is using is never evicted, and the cap holds again once it ends", () => {
    const credentials = new AssumedRoleCredentials();
    const dropped: string[] = [];
    const clients = new LogsClients({
      credentials,
      maxClients: 1,
      dropBucket: (key) => dropped.push(key),
    });
    const held = clients.acquire({ region: "eu-west-1" });
    const other = clients.acquire({ region: "us-east-1" });
    assert.equal(clients.size, 2, "both are in use");
    other.release();
    assert.equal(clients.size, 1, "the one no attempt uses went");
    assert.deepEqual(dropped, ["default/us-east-1"]);
    assert.equal(clients.acquire({ region: "eu-west-1" }).client, held.client);
    held.release();
    clients.destroy();
  });

  test("a region no endpoint answers for fails at its first attempt and keeps no client", async () => {
    const credentials = new AssumedRoleCredentials();
    const limiter = new AwsRateLimiter({ ratePerSecond: 100, burst: 100 });
    const clients = new LogsClients({
      credentials,
      dropBucket: (key) => {
        limiter.drop(key);
      },
    });
    const seen: string[] = [];
    const calls = new AwsCalls({
      retry: DEFAULT_RETRY_POLICY,
      observer: {
        request: (op, outcome) => seen.push(`${op} ${outcome}`),
        retry: (op) => seen.push(`retry ${op}`),
      },
      limiter,
      clients,
      mayCall: undefined,
    });
    const nxdomain = Object.assign(
      new Error("getaddrinfo ENOTFOUND logs.zz-fake-1.amazonaws.com"),
      {
        code: "ENOTFOUND",
        syscall: "getaddrinfo",
      },
    );
    await assert.rejects(
      calls.call("PutDestinationPolicy", { region: "zz-fake-1" }, () => Promise.reject(nxdomain)),
      (err: unknown) => {
        assert.ok(err instanceof AwsCallError);
        assert.deepEqual(
          [err.kind, err.awsName, err.attempts],
          ["unreachable", "EndpointNotFound", 1],
        );
        return true;
      },
    );
    assert.deepEqual(seen, ["PutDestinationPolicy EndpointNotFound"], "one attempt, no retry");
    assert.equal(clients.size, 0);
    assert.equal(clients.regions, 0);
    assert.equal(limiter.size, 0);
    clients.destroy();
  });
});
