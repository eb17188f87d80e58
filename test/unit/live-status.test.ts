// The live fields of status: what they say, and that a stale ARN is removed.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { LogDestinationPolicy } from "../../src/api/v1alpha1.ts";
import { specSchema } from "../../src/api/v1alpha1.ts";
import type { ReconcileContext } from "../../src/controller/context.ts";
import { desiredState } from "../../src/controller/desired.ts";
import { liveFields, liveFieldsPatch } from "../../src/controller/live-status.ts";

const policy = {
  Version: "2012-10-17",
  Statement: {
    Effect: "Allow",
    Principal: { AWS: "111111111111" },
    Action: "logs:PutSubscriptionFilter",
    Resource: "*",
  },
};

function context(
  spec: Record<string, unknown>,
  status: LogDestinationPolicy["status"] = {},
  extra: Partial<ReconcileContext> = {},
): ReconcileContext {
  const parsed = specSchema.parse({ destinationName: "central", accessPolicy: policy, ...spec });
  return {
    object: { metadata: { name: "x", namespace: "ns" }, spec, status },
    ref: { namespace: "ns", name: "x" },
    generation: 1,
    signal: new AbortController().signal,
    spec: parsed,
    desired: desiredState(parsed, "eu-west-1"),
    ...extra,
  };
}

const arn = (region: string, name: string) =>
  `arn:aws:logs:${region}:222222222222:destination:${name}`;

describe("live status fields", () => {
  test("the region is the controller's default when the spec names none", () => {
    assert.equal(liveFields(context({}), "eu-west-1").region, "eu-west-1");
    assert.equal(liveFields(context({ region: "us-east-2" }), "eu-west-1").region, "us-east-2");
  });

  test("the account comes from the ARN read from AWS, before that from the role", () => {
    const role = { roleArn: "arn:aws:iam::333333333333:role/writer" };
    assert.equal(liveFields(context(role), "eu-west-1").accountId, "333333333333");
    const read = liveFields(
      context(role, {}, { liveArn: arn("eu-west-1", "central") }),
      "eu-west-1",
    );
    assert.equal(read.accountId, "222222222222");
    assert.equal(read.destinationArn, arn("eu-west-1", "central"));
  });

  test("once the policy is in AWS, the writer's account names the ARN before any read", () => {
    const account = { partition: "aws", accountId: "222222222222" };
    const written = liveFields(context({}, {}, { inSync: "written", account }), "eu-west-1");
    assert.equal(written.destinationArn, arn("eu-west-1", "central"));
    assert.equal(written.accountId, "222222222222");
    const read = liveFields(
      context({}, {}, { inSync: "already", account, liveArn: arn("eu-west-1", "central") }),
      "eu-west-1",
    );
    assert.equal(read.destinationArn, arn("eu-west-1", "central"), "what AWS said wins");
  });

  test("an ARN of another region or destination is removed, with its account", () => {
    const status = { destinationArn: arn("us-east-1", "central"), accountId: "222222222222" };
    const fields = liveFields(context({}, status), "eu-west-1");
    assert.deepEqual(liveFieldsPatch(status, fields), {
      region: "eu-west-1",
      destinationArn: null,
      accountId: null,
    });
  });

  test("the size is recorded only once AWS holds the policy, and an unchanged status needs no patch", () => {
    assert.equal(liveFields(context({}), "eu-west-1").policySizeBytes, undefined);
    const applied = context({}, {}, { inSync: "written" });
    const fields = liveFields(applied, "eu-west-1");
    assert.equal(fields.policySizeBytes, applied.desired?.canonical.length);
    const status = {
      region: "eu-west-1",
      policySizeBytes: fields.policySizeBytes ?? 0,
      grantedAccounts: ["111111111111"],
    };
    assert.deepEqual(liveFieldsPatch(status, fields), {});
  });

  test("the accounts and organizations the applied policy grants are listed, and removed when it grants none", () => {
    const org = {
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { AWS: ["222222222222", "111111111111"] },
          Action: "logs:PutSubscriptionFilter",
          Resource: "*",
        },
        {
          Effect: "Allow",
          Principal: "*",
          Action: "logs:PutSubscriptionFilter",
          Resource: "*",
          Condition: { StringEquals: { "aws:PrincipalOrgID": "o-abcdefghij" } },
        },
      ],
    };
    const fields = liveFields(
      context({ accessPolicy: org }, {}, { inSync: "already" }),
      "eu-west-1",
    );
    assert.deepEqual(fields.grantedAccounts, ["111111111111", "222222222222"]);
    assert.deepEqual(fields.grantedOrganizations, ["o-abcdefghij"]);
    const status = { grantedOrganizations: ["o-abcdefghij"], grantedAccounts: ["111111111111"] };
    const accountOnly = liveFields(context({}, status, { inSync: "already" }), "eu-west-1");
    assert.deepEqual(liveFieldsPatch(status, accountOnly).grantedOrganizations, null);
    assert.equal(liveFieldsPatch(status, accountOnly).grantedAccounts, undefined, "unchanged");
  });
});
