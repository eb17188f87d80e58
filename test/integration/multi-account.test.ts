// Destinations in other accounts, through spec.roleArn and the emulator's STS
// (reached through the fault proxy, which counts AssumeRole by its Action).
// moto keeps one backend per account and routes assumed-role credentials to
// the role's account, so a destination created there is invisible to the
// controller's own account.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CloudWatchLogsClient, DescribeDestinationsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { CoreV1Api, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { canonicalJson } from "../../src/policy/index.ts";
import { createDestination, emulatorAs, storedPolicy } from "../support/aws.ts";
import { samplePolicy, waitFor } from "../support/policies.ts";
import { suite, unique } from "../support/setup.ts";

const ACCOUNT = "111111111111";
const ALLOWED_ROLE = `arn:aws:iam::${ACCOUNT}:role/ldp-writer`;
const OTHER_ROLE = "arn:aws:iam::222222222222:role/not-listed";

describe("multiple accounts", () => {
  const { env, policies, controller } = suite(
    ["accounts"],
    ["--allowed-role-arns", `arn:aws:iam::${ACCOUNT}:role/ldp-*`],
    { assumesRoles: true },
  );
  let otherAccount: CloudWatchLogsClient;
  const assumeRoleCalls = async () => (await env.proxy.calls("sts.AssumeRole")).length;

  before(async () => {
    // The test's own way into the other account: straight to moto, not counted by the proxy.
    otherAccount = await emulatorAs(env, ALLOWED_ROLE);
  });

  after(() => {
    otherAccount.destroy();
  });

  const createInOtherAccount = (name: string) =>
    createDestination(env, name, env.region, { client: otherAccount, account: ACCOUNT });

  async function policyInOtherAccount(name: string): Promise<string | undefined> {
    const out = await otherAccount.send(
      new DescribeDestinationsCommand({ DestinationNamePrefix: name }),
    );
    return out.destinations?.find((d) => d.destinationName === name)?.accessPolicy;
  }

  test("an object whose role is allowed is applied in the role's account, with one AssumeRole for many reconciles", async (t) => {
    const name = unique("xacct");
    await createInOtherAccount(name);
    const assumedBefore = await assumeRoleCalls();
    await policies.create(name, {
      destinationName: name,
      accessPolicy: samplePolicy(name),
      roleArn: ALLOWED_ROLE,
    });
    await policies.waitForReason(name, "Applied");
    assert.equal(await policyInOtherAccount(name), canonicalJson(samplePolicy(name)));
    assert.equal(await storedPolicy(env, name), undefined, "nothing in the controller's account");

    // Two more changes, two more puts, still the same credentials.
    for (const accounts of [["333333333333"], ["444444444444"]]) {
      const changed = samplePolicy(name, accounts);
      const patched = await policies.patchSpec(name, { accessPolicy: changed });
      await waitFor("the change applied", async () => {
        const obj = await policies.get(name);
        return (
          obj.status?.observedGeneration === patched.metadata.generation &&
          policies.condition(obj, "Ready")?.reason === "Applied"
        );
      });
      assert.equal(await policyInOtherAccount(name), canonicalJson(changed));
    }
    const puts = (await env.proxy.calls("PutDestinationPolicy")).filter(
      (c) => c.destination === name,
    ).length;
    const assumed = (await assumeRoleCalls()) - assumedBefore;
    t.diagnostic(`${puts} puts with ${assumed} AssumeRole call(s)`);
    assert.equal(puts, 3);
    assert.equal(assumed, 1);
    assert.equal(
      await controller.metric("log_destination_policy_aws_assume_role_total", {
        outcome: "success",
      }),
      1,
    );
  });

  test("a role outside the allow-list is refused without any AWS call", async (t) => {
    const name = unique("refused");
    await createInOtherAccount(name);
    const callsBefore = (await env.proxy.calls()).length;
    await policies.create(name, {
      destinationName: name,
      accessPolicy: samplePolicy(name),
      roleArn: OTHER_ROLE,
    });
    const obj = await policies.waitForReason(name, "RoleNotAllowed");
    const message = policies.condition(obj, "Ready")?.message ?? "";
    t.diagnostic(message);
    assert.equal(policies.condition(obj, "Ready")?.status, "False");
    assert.match(message, /--allowed-role-arns/);
    assert.equal((await env.proxy.calls()).length - callsBefore, 0, "no AWS call at all");
    assert.equal(await policyInOtherAccount(name), undefined);
  });

  test("no label or annotation on the namespace or the object widens the allow-list", async () => {
    const name = unique("annotated");
    await createInOtherAccount(name);
    const widen = { "logs.gitops.dev/allowed-role-arns": OTHER_ROLE };
    await env.kubeConfig.makeApiClient(CoreV1Api).patchNamespace(
      {
        name: policies.namespace,
        body: {
          metadata: { annotations: widen, labels: { "logs.gitops.dev/allow-any-role": "true" } },
        },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    const callsBefore = (await env.proxy.calls()).length;
    await policies.create(
      name,
      { destinationName: name, accessPolicy: samplePolicy(name), roleArn: OTHER_ROLE },
      widen,
    );
    await policies.waitForReason(name, "RoleNotAllowed");
    assert.equal((await env.proxy.calls()).length - callsBefore, 0);
  });
});
