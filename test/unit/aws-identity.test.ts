// The account status names: from the role's ARN, or one GetCallerIdentity.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DestinationPolicyClient } from "../../src/aws/destinations.ts";
import { CallerIdentity, destinationArn } from "../../src/aws/identity.ts";
import { accountOfArn } from "../../src/util/arn.ts";

function scriptedSts(answers: (string | Error)[]) {
  const calls: string[] = [];
  const stsClient = (region: string) => ({
    send: () => {
      calls.push(region);
      const answer = answers.shift();
      if (answer === undefined || answer instanceof Error) {
        return Promise.reject(answer ?? new Error("no answer scripted"));
      }
      return Promise.resolve({ Arn: answer });
    },
  });
  return { calls, stsClient };
}

describe("the account a destination lives in", () => {
  test("an ARN gives its partition and account, and a destination ARN is built from them", () => {
    const account = accountOfArn("arn:aws-cn:iam::123456789012:role/writer");
    assert.deepEqual(account, { partition: "aws-cn", accountId: "123456789012" });
    assert.equal(
      destinationArn({ partition: "aws", accountId: "123456789012" }, "eu-west-1", "central"),
      "arn:aws:logs:eu-west-1:123456789012:destination:central",
    );
    assert.equal(accountOfArn("not an arn"), undefined);
  });

  test("the controller's own account is looked up once, however many ask at the same time", async () => {
    const sts = scriptedSts(["arn:aws:sts::111122223333:assumed-role/ldpc/pod"]);
    const identity = new CallerIdentity({ stsClient: sts.stsClient });
    const answers = await Promise.all([
      identity.account("us-east-1"),
      identity.account("eu-west-1"),
    ]);
    assert.deepEqual(answers, [
      { partition: "aws", accountId: "111122223333" },
      { partition: "aws", accountId: "111122223333" },
    ]);
    await identity.account("us-east-1");
    assert.equal(sts.calls.length, 1);
  });

  test("a failed lookup is not retried until a minute has passed", async () => {
    let now = 0;
    const sts = scriptedSts([new Error("no credentials"), "arn:aws:iam::111122223333:user/ci"]);
    const identity = new CallerIdentity({ stsClient: sts.stsClient, now: () => now });
    assert.equal(await identity.account("us-east-1"), undefined);
    now = 59_000;
    assert.equal(await identity.account("us-east-1"), undefined);
    assert.equal(sts.calls.length, 1);
    now = 60_000;
    assert.deepEqual(await identity.account("us-east-1"), {
      partition: "aws",
      accountId: "111122223333",
    });
  });

  test("an assumed role's account comes from its ARN, with no STS call", async () => {
    const sts = scriptedSts([]);
    const client = new DestinationPolicyClient({
      identity: new CallerIdentity({ stsClient: sts.stsClient }),
    });
    const account = await client.account({
      region: "us-east-1",
      roleArn: "arn:aws:iam::444455556666:role/ldp-writer",
    });
    assert.deepEqual(account, { partition: "aws", accountId: "444455556666" });
    assert.equal(sts.calls.length, 0);
    client.destroy();
  });
});
