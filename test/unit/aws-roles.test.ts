import assert from "node:assert/strict";
import type { RequestListener } from "node:http";
import { describe, test } from "node:test";
import { DestinationPolicyClient } from "../../src/aws/destinations.ts";
import { AssumedRoleCredentials } from "../../src/aws/assumed-role.ts";
import { roleSessionName } from "../../src/aws/role-sessions.ts";
import { RoleAllowList, RoleNotAllowedError } from "../../src/aws/roles.ts";
import { ArnPattern } from "../../src/aws/arn-pattern.ts";
import { sendAwsError } from "../../env/aws-wire.ts";
import { fakeSts, ok, withLogsEndpoint } from "./fakes/logs-endpoint.ts";

const ROLE = "arn:aws:iam::111122223333:role/ldp-writer";

/** A PutDestinationPolicy call made with ROLE. */
const PUT = {
  region: "us-east-1",
  destinationName: "d",
  accessPolicy: "{}",
  forceUpdate: false,
  roleArn: ROLE,
  sessionName: "ldp-ns@a",
};

describe("assumed roles", () => {
  test("the allow-list takes exact ARNs and patterns whose * stays within one ARN field", () => {
    const list = RoleAllowList.parse([
      "arn:aws:iam::111122223333:role/exact",
      "arn:aws:iam::*:role/ldp-*",
    ]);
    assert.ok(list.allows("arn:aws:iam::111122223333:role/exact"));
    assert.ok(!list.allows("arn:aws:iam::111122223333:role/exact2"));
    assert.ok(list.allows("arn:aws:iam::444455556666:role/ldp-writer"));
    assert.ok(
      !list.allows("arn:aws:iam::444455556666:role/ldp-team/path"),
      "a * never spans a path segment",
    );
    assert.ok(!list.allows("arn:aws:iam::222222222222:role/ldp-x/OrganizationAccountAccessRole"));
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
    assert.equal(roleSessionName("team-a", "orders"), "ldp-team-a@orders");
    assert.notEqual(roleSessionName("team-a", "x"), roleSessionName("team", "a-x"));
    const long = roleSessionName("a".repeat(63), "b".repeat(253));
    assert.equal(long.length, 64);
    assert.match(long, /^[\w+=,.@-]{2,64}$/);
    assert.notEqual(long, roleSessionName("a".repeat(63), `${"b".repeat(252)}c`));
    assert.match(roleSessionName("ns", "a:b/c"), /^ldp-ns@a-b-c$/);
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

  test("a * matches within one segment, on both sides of a literal and several times", () => {
    const p = new ArnPattern("arn:aws:iam::*:role/team-*-ldp-*");
    assert.ok(p.matches("arn:aws:iam::111122223333:role/team-a-ldp-writer"));
    assert.ok(p.matches("arn:aws:iam::111122223333:role/team--ldp-"));
    assert.ok(p.matches("arn:aws:iam::111122223333:role/team-ldp-ldp-ldp-x"));
    assert.ok(!p.matches("arn:aws:iam::111122223333:role/team-a-ldp"));
    assert.ok(!p.matches("arn:aws:iam::111122223333:role/team-a/b-ldp-x"));
    assert.ok(!p.matches("arn:aws:iam::111122223333:role/xteam-a-ldp-x"));
    assert.ok(new ArnPattern("arn:aws:iam::*:role/*/*").matches("arn:aws:iam::1:role/a/b"));
    assert.ok(!new ArnPattern("arn:aws:iam::*:role/*/*").matches("arn:aws:iam::1:role/a"));
    assert.ok(new ArnPattern("arn:aws:iam::1:role/a*a").matches("arn:aws:iam::1:role/aa"));
    assert.ok(!new ArnPattern("arn:aws:iam::1:role/a*a").matches("arn:aws:iam::1:role/a"));
  });

  test("matching is linear: 512-character names against patterns full of * stay fast", () => {
    // A backtracking regex takes polynomial time on these; see ArnPattern.
    const stars = `arn:aws:iam::*:role/${"a*".repeat(200)}b`;
    const name = `arn:aws:iam::111122223333:role/${"a".repeat(512)}`;
    const pattern = new ArnPattern(stars);
    const started = performance.now();
    for (let i = 0; i < 200; i++) assert.ok(!pattern.matches(name));
    assert.ok(pattern.matches(`${name}b`));
    const list = RoleAllowList.parse([stars, `arn:aws:iam::*:role/${"*a".repeat(250)}*c`]);
    for (let i = 0; i < 200; i++) assert.ok(!list.allows(name));
    // Generous: a linear matcher needs about a millisecond for all 400 calls.
    assert.ok(performance.now() - started < 2_000, `${performance.now() - started} ms`);
  });

  test("AssumeRole carries the object's session tags, unless they are switched off", async () => {
    const sts = fakeSts(() => Date.now(), 3_600_000);
    const creds = new AssumedRoleCredentials({ stsClient: () => sts.client });
    await creds.get(ROLE, "ldp-ns@a", "eu-west-1", { "ldpc-namespace": "ns", "ldpc-name": "a" });
    assert.deepEqual((sts.calls[0] as { Tags?: unknown }).Tags, [
      { Key: "ldpc-namespace", Value: "ns" },
      { Key: "ldpc-name", Value: "a" },
    ]);
  });

  test("cached credentials are dropped when AWS says they expired or no longer work", async () => {
    let now = 1_000_000;
    const sts = fakeSts(() => now, 3_600_000);
    const creds = new AssumedRoleCredentials({ stsClient: () => sts.client, now: () => now });
    await creds.get(ROLE, "s", "eu-west-1");
    await creds.get(ROLE, "s", "eu-west-1");
    assert.equal(sts.calls.length, 1);
    creds.invalidate(ROLE, "s");
    await creds.get(ROLE, "s", "eu-west-1");
    assert.equal(sts.calls.length, 2);
    now += 1;
  });

  test("a call rejected for expired credentials drops them, and the next one assumes the role again", async () => {
    let calls = 0;
    const handler: RequestListener = (_req, res) => {
      calls++;
      if (calls === 1) {
        sendAwsError(
          res,
          400,
          "ExpiredTokenException",
          "The security token included in the request is expired",
        );
        return;
      }
      ok(res);
    };
    await withLogsEndpoint(handler, async () => {
      const sts = fakeSts(() => Date.now(), 3_600_000);
      const client = new DestinationPolicyClient({
        allowedRoles: RoleAllowList.parse([ROLE]),
        credentials: new AssumedRoleCredentials({ stsClient: () => sts.client }),
      });
      try {
        await assert.rejects(client.putPolicy(PUT));
        await client.putPolicy(PUT);
        assert.equal(calls, 2);
        assert.equal(sts.calls.length, 2, "the second call assumed the role again");
      } finally {
        client.destroy();
      }
    });
  });

  test("with session tags switched off, AssumeRole carries none", async () => {
    await withLogsEndpoint(
      (_req, res) => {
        ok(res);
      },
      async () => {
        for (const sessionTags of [true, false]) {
          const sts = fakeSts(() => Date.now(), 3_600_000);
          const client = new DestinationPolicyClient({
            allowedRoles: RoleAllowList.parse([ROLE]),
            credentials: new AssumedRoleCredentials({ stsClient: () => sts.client }),
            sessionTags,
          });
          await client.putPolicy({
            ...PUT,
            sessionTags: { "ldpc-namespace": "ns", "ldpc-name": "a" },
          });
          client.destroy();
          const tags = (sts.calls[0] as { Tags?: unknown } | undefined)?.Tags;
          assert.equal(tags !== undefined, sessionTags);
        }
      },
    );
  });
});
