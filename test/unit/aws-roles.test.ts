import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { DestinationPolicyClient } from "../../src/aws/destinations.ts";
import {
  AssumedRoleCredentials,
  RoleAllowList,
  RoleNotAllowedError,
  roleSessionName,
} from "../../src/aws/roles.ts";

const ROLE = "arn:aws:iam::111122223333:role/ldp-writer";

/** An STS stand-in that counts AssumeRole calls and hands out credentials valid for `ttlMs`. */
function fakeSts(now: () => number, ttlMs: number) {
  const calls: { RoleArn?: string; RoleSessionName?: string }[] = [];
  const client = {
    send: (command: AssumeRoleCommand) => {
      calls.push(command.input);
      const n = calls.length;
      return Promise.resolve({
        Credentials: {
          AccessKeyId: `ASIA${n}`,
          SecretAccessKey: "secret",
          SessionToken: "token",
          Expiration: new Date(now() + ttlMs),
        },
      });
    },
  } as unknown as Pick<STSClient, "send">;
  return { client, calls };
}

describe("assumed roles", () => {
  test("the allow-list takes exact ARNs and patterns whose * stays within one ARN field", () => {
    const list = RoleAllowList.parse([
      "arn:aws:iam::111122223333:role/exact",
      "arn:aws:iam::*:role/ldp-*",
    ]);
    assert.ok(list.allows("arn:aws:iam::111122223333:role/exact"));
    assert.ok(!list.allows("arn:aws:iam::111122223333:role/exact2"));
    assert.ok(list.allows("arn:aws:iam::444455556666:role/ldp-writer"));
    assert.ok(list.allows("arn:aws:iam::444455556666:role/ldp-team/path"));
    assert.ok(!list.allows("arn:aws:iam::444455556666:role/other"));
    assert.ok(!list.allows("arn:aws:iam::1:2:role/ldp-x"), "a * never spans a colon");
    assert.ok(
      !list.allows("arn:aws:iam::111122223333:role/exactXarn:aws:iam::111122223333:role/exact"),
    );
  });

  test("an empty allow-list allows no role at all", () => {
    const none = RoleAllowList.parse([]);
    assert.equal(none.size, 0);
    assert.ok(!none.allows(ROLE));
  });

  test("entries that are not role ARNs or patterns are refused with the reason", () => {
    assert.throws(() => RoleAllowList.parse(["*"]), /not an IAM role ARN/);
    assert.throws(() => RoleAllowList.parse(["arn:aws:iam::12:role/x"]), /12-digit account/);
    assert.throws(() => RoleAllowList.parse(["arn:aws:iam::111122223333:user/x"]), /role\//);
    assert.throws(() => RoleAllowList.parse(["arn:aws:s3:::bucket/x:y"]), /not an IAM role ARN/);
  });

  test("the session name identifies the object within STS's 64 characters and alphabet", () => {
    assert.equal(roleSessionName("team-a", "orders"), "ldp-team-a-orders");
    const long = roleSessionName("a".repeat(63), "b".repeat(253));
    assert.equal(long.length, 64);
    assert.match(long, /^[\w+=,.@-]{2,64}$/);
    assert.notEqual(long, roleSessionName("a".repeat(63), `${"b".repeat(252)}c`));
    assert.match(roleSessionName("ns", "a:b/c"), /^ldp-ns-a-b-c$/);
  });

  test("a role outside the allow-list is refused before any AWS call", async () => {
    let sts = 0;
    const client = new DestinationPolicyClient({
      allowedRoles: RoleAllowList.parse(["arn:aws:iam::111122223333:role/allowed"]),
      credentials: new AssumedRoleCredentials({
        stsClient: () => {
          sts++;
          return { send: () => Promise.reject(new Error("no")) };
        },
      }),
    });
    const input = {
      region: "us-east-1",
      destinationName: "d",
      accessPolicy: "{}",
      forceUpdate: false,
      roleArn: "arn:aws:iam::111122223333:role/other",
      sessionName: "ldp-ns-x",
    };
    await assert.rejects(client.putPolicy(input), (err: unknown) => {
      assert.ok(err instanceof RoleNotAllowedError);
      assert.equal(err.roleArn, input.roleArn);
      assert.match(err.message, /--allowed-role-arns/);
      return true;
    });
    await assert.rejects(
      client.describe({ region: "us-east-1", roleArn: input.roleArn }, "d"),
      RoleNotAllowedError,
    );
    assert.equal(sts, 0);
    client.destroy();
  });

  test("credentials are reused per role and session until 5 minutes before they expire", async () => {
    let now = 1_000_000;
    const sts = fakeSts(() => now, 3_600_000);
    const creds = new AssumedRoleCredentials({ stsClient: () => sts.client, now: () => now });
    const first = await creds.get(ROLE, "ldp-ns-a", "eu-west-1");
    assert.equal((await creds.get(ROLE, "ldp-ns-a", "eu-west-1")).accessKeyId, first.accessKeyId);
    assert.equal(sts.calls.length, 1);
    assert.deepEqual(sts.calls[0], {
      RoleArn: ROLE,
      RoleSessionName: "ldp-ns-a",
      DurationSeconds: 3600,
    });
    await creds.get(ROLE, "ldp-ns-b", "eu-west-1");
    assert.equal(sts.calls.length, 2, "another object gets its own session");

    now += 3_600_000 - 5 * 60_000 - 1;
    assert.equal((await creds.get(ROLE, "ldp-ns-a", "eu-west-1")).accessKeyId, first.accessKeyId);
    now += 2;
    const refreshed = await creds.get(ROLE, "ldp-ns-a", "eu-west-1");
    assert.notEqual(refreshed.accessKeyId, first.accessKeyId);
    assert.equal(sts.calls.length, 3);
  });

  test("concurrent callers share one AssumeRole call, and a failure keeps the AWS error name", async () => {
    const sts = fakeSts(() => Date.now(), 3_600_000);
    const creds = new AssumedRoleCredentials({ stsClient: () => sts.client });
    await Promise.all(Array.from({ length: 10 }, () => creds.get(ROLE, "s", "eu-west-1")));
    assert.equal(sts.calls.length, 1);

    const denied = Object.assign(new Error("not authorized to perform sts:AssumeRole"), {
      name: "AccessDenied",
      $metadata: { httpStatusCode: 403 },
    });
    const failing = new AssumedRoleCredentials({
      stsClient: () => ({ send: () => Promise.reject(denied) }),
    });
    await assert.rejects(failing.get(ROLE, "s", "eu-west-1"), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.equal(err.name, "AccessDenied");
      assert.match(err.message, /AssumeRole arn:aws:iam::111122223333:role\/ldp-writer/);
      return true;
    });
  });
});
