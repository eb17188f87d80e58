// Grants after something else changed, on the real API server and the emulator:
// a grant grown past the room left, a namespace relabelled out of grants.from, a
// binding narrowed, a policy that stops accepting grants, a policy that is not
// there or not Ready, and a forged grant status. What AWS holds is read from the
// emulator, and puts are counted at the fault proxy.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { CoreV1Api, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import {
  GRANT_FINALIZER,
  GRANT_PLURAL,
  GROUP,
  LAST_APPLIED_ANNOTATION,
  PLURAL,
  VERSION,
} from "../../src/api/names.ts";
import { mergeGrants, type GrantContribution } from "../../src/policy/merge.ts";
import { DescribeDestinationsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { callsFor, createDestination, emulatorAs, storedPolicy } from "../support/aws.ts";
import { newNamespace } from "../support/env.ts";
import { accounts, destinationArn, grantedAccounts, Grants } from "../support/grants.ts";
import {
  applyBinding,
  deleteBinding,
  Policies,
  TEST_NAMESPACE_LABEL,
  waitFor,
} from "../support/policies.ts";
import { suite, unique } from "../support/setup.ts";

const run = String(process.pid);
const SENDER = "grants.ldpc.test/changes-sender";
const BOUND = "grants.ldpc.test/changes-bound";
const BINDING = `grants-changes-${run}`;
const ACTION = "logs:PutSubscriptionFilter";

describe("grants when something else changes", () => {
  const made: Partial<Record<"team" | "moving" | "bound", Grants>> = {};
  const ns = (key: keyof typeof made): Grants => {
    const grants = made[key];
    if (!grants) throw new Error(`namespace ${key} is used before the suite's before hook ran`);
    return grants;
  };
  const { env, policies: owner } = suite(["grants-changes-owner"], [], {
    alsoWatch: async (env) => {
      await applyBinding(env.kubeConfig, BINDING, {
        namespaceSelector: { matchLabels: { [BOUND]: run } },
        destinations: ["*"],
        principals: { accounts: ["111122223333", "444455556666"] },
      });
      const make = async (key: keyof typeof made, labels: Record<string, string>) => {
        const namespace = await newNamespace(env.kubeConfig, `grants-changes-${key}`, labels);
        made[key] = new Grants(env.kubeConfig, namespace);
        return new Policies(env.kubeConfig, namespace);
      };
      const bound = { [TEST_NAMESPACE_LABEL]: "true" };
      return [
        await make("team", { ...bound, [SENDER]: run }),
        await make("moving", { ...bound, [SENDER]: run }),
        await make("bound", { [BOUND]: run, [SENDER]: run }),
      ];
    },
  });

  after(async () => {
    await deleteBinding(env.kubeConfig, BINDING).catch(() => undefined);
  });

  const puts = async (name: string) => (await callsFor(env, name, "PutDestinationPolicy")).length;
  const ref = (name: string) => ({ namespace: owner.namespace, name });
  const grantsFrom = { from: { namespaceSelector: { matchLabels: { [SENDER]: run } } } };
  const hasFinalizer = async (grants: Grants, name: string) =>
    ((await grants.get(name)).metadata.finalizers ?? []).includes(GRANT_FINALIZER);

  async function sharedPolicy(name: string, spec: Record<string, unknown> = {}) {
    await createDestination(env, name);
    await owner.create(name, { destinationName: name, grants: grantsFrom, ...spec });
    return owner.waitForReason(name, "Applied");
  }

  function fits(name: string, parts: string[][]): boolean {
    const grants: GrantContribution[] = parts.map((list, i) => ({
      namespace: "ns",
      name: `g${String(i)}`,
      createdAt: i,
      desired: { accounts: list, organizationIds: [], organizationPaths: [] },
    }));
    const result = mergeGrants({
      resource: destinationArn(env, name),
      actions: [ACTION],
      grants,
      forceUpdate: false,
    });
    return [...result.verdicts.values()].every((v) => v.state === "Admitted");
  }

  test("a grant grown past the room left waits with PolicySizeExceeded, says so, and AWS keeps its previously applied accounts", async (t) => {
    const name = unique("grown");
    const other = accounts(100_000_000_000, 290);
    const first = accounts(200_000_000_000, 10);
    const grown = [...first, ...accounts(300_000_000_000, 40)];
    assert.ok(fits(name, [other, first]) && !fits(name, [other, grown]));
    await sharedPolicy(name);
    await ns("team").create(`${name}-other`, ref(name), { accounts: other });
    await ns("team").create(name, ref(name), { accounts: first });
    await ns("team").waitForReason(`${name}-other`, "Applied");
    await ns("team").waitForReason(name, "Applied");
    const stored = await storedPolicy(env, name);
    const before = await puts(name);

    await ns("team").patchPrincipals(name, { accounts: grown });
    const waiting = await ns("team").waitForReason(name, "PolicySizeExceeded");
    const message = ns("team").condition(waiting, "Ready")?.message ?? "";
    t.diagnostic(message);
    assert.match(message, /\d+ bytes/);
    assert.match(message, /stay|kept|keep|remain/i, "it says the applied principals stay");
    assert.deepEqual(waiting.status?.applied?.accounts, first, "status names what AWS holds");
    assert.ok(await hasFinalizer(ns("team"), name));
    assert.equal(await puts(name), before, "nothing put");
    assert.equal(await storedPolicy(env, name), stored, "AWS keeps its applied accounts");

    // Shrunk back to what fits, it is Applied again.
    await ns("team").patchPrincipals(name, { accounts: first.slice(0, 5) });
    await ns("team").waitForReason(name, "Applied");
    assert.deepEqual(await grantedAccounts(env, name), [...other, ...first.slice(0, 5)].sort());
  });

  test("a namespace relabelled out of grants.from has its grant NotAccepted, its accounts removed from AWS and its finalizer released", async () => {
    const name = unique("relabelled");
    await sharedPolicy(name);
    await ns("moving").create(name, ref(name), { accounts: ["444455556666"] });
    await ns("team").create(name, ref(name), { accounts: ["777788889999"] });
    await ns("moving").waitForReason(name, "Applied");
    await ns("team").waitForReason(name, "Applied");

    await env.kubeConfig
      .makeApiClient(CoreV1Api)
      .patchNamespace(
        { name: ns("moving").namespace, body: { metadata: { labels: { [SENDER]: null } } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    await ns("moving").waitForReason(name, "NotAccepted");
    await waitFor(
      "the refused grant's finalizer goes",
      async () => !(await hasFinalizer(ns("moving"), name)),
    );
    assert.deepEqual(await grantedAccounts(env, name), ["777788889999"]);
    await ns("team").waitForReason(name, "Applied");
  });

  test("a binding narrowed under an applied grant makes it NotPermitted and removes its accounts from AWS", async () => {
    const name = unique("narrowed");
    await sharedPolicy(name);
    await ns("bound").create(name, ref(name), { accounts: ["444455556666"] });
    await ns("bound").create(`${name}-kept`, ref(name), { accounts: ["111122223333"] });
    await ns("bound").waitForReason(name, "Applied");
    await ns("bound").waitForReason(`${name}-kept`, "Applied");

    try {
      await applyBinding(env.kubeConfig, BINDING, {
        namespaceSelector: { matchLabels: { [BOUND]: run } },
        destinations: ["*"],
        principals: { accounts: ["111122223333"] },
      });
      await ns("bound").waitForReason(name, "NotPermitted");
      await waitFor(
        "its accounts leave AWS",
        async () => (await grantedAccounts(env, name)).join() === "111122223333",
      );
      await waitFor("its finalizer goes", async () => !(await hasFinalizer(ns("bound"), name)));
      await ns("bound").waitForReason(`${name}-kept`, "Applied");
    } finally {
      await applyBinding(env.kubeConfig, BINDING, {
        namespaceSelector: { matchLabels: { [BOUND]: run } },
        destinations: ["*"],
        principals: { accounts: ["111122223333", "444455556666"] },
      });
    }
  });

  test("a policy that stops accepting grants removes every grant's accounts from AWS and releases their finalizers", async () => {
    const name = unique("stops");
    await sharedPolicy(name, {
      accessPolicy: {
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { AWS: ["111111111111"] },
            Action: ACTION,
            Resource: destinationArn(env, name),
          },
        ],
      },
    });
    await ns("team").create(name, ref(name), { accounts: ["444455556666"] });
    await ns("team").waitForReason(name, "Applied");
    assert.deepEqual(await grantedAccounts(env, name), ["444455556666"]);

    await owner.patchSpec(name, { grants: null });
    await owner.waitForReason(name, "Applied");
    await ns("team").waitForReason(name, "NotAccepted");
    assert.deepEqual(await grantedAccounts(env, name), [], "no granted account left in AWS");
    await waitFor("the finalizer goes", async () => !(await hasFinalizer(ns("team"), name)));
  });

  test("a grant naming a policy that does not exist is PolicyNotFound, holds no finalizer and sends nothing", async () => {
    const name = unique("no-policy");
    await ns("team").create(name, ref(name), { accounts: ["444455556666"] });
    const grant = await ns("team").waitForReason(name, "PolicyNotFound");
    assert.equal(ns("team").condition(grant, "Ready")?.status, "False");
    assert.ok(!(await hasFinalizer(ns("team"), name)));
    assert.deepEqual(await callsFor(env, name), [], "no AWS call for it");
    await ns("team").delete(name);
    await ns("team").waitUntilGone(name);
  });

  test("a grant on a policy that is not Ready for its own reason reports that reason, prefixed with the policy", async () => {
    const name = unique("policy-down");
    // No destination in AWS: the policy itself cannot be applied.
    await owner.create(name, { destinationName: name, grants: grantsFrom });
    await waitFor("the policy fails", async () => {
      const ready = owner.condition(await owner.get(name), "Ready");
      return ready?.status === "False";
    });
    const reason = owner.condition(await owner.get(name), "Ready")?.reason ?? "";
    await ns("team").create(name, ref(name), { accounts: ["444455556666"] });
    const grant = await ns("team").waitForReason(name, reason);
    const message = ns("team").condition(grant, "Ready")?.message ?? "";
    assert.ok(
      message.startsWith(`LogDestinationPolicy "${owner.namespace}/${name}"`),
      `the message names the policy first: ${message}`,
    );
    assert.match(message, new RegExp(reason), "and the policy's reason");
  });

  test("a forged grant status claiming its accounts are applied changes nothing in AWS and is put right", async () => {
    const name = unique("forged");
    const big = accounts(100_000_000_000, 300);
    const late = accounts(400_000_000_000, 30);
    assert.ok(!fits(name, [big, late]));
    await sharedPolicy(name);
    await ns("team").create(`${name}-big`, ref(name), { accounts: big });
    await ns("team").waitForReason(`${name}-big`, "Applied");
    await ns("team").create(name, ref(name), { accounts: late });
    const waiting = await ns("team").waitForReason(name, "PolicySizeExceeded");
    const stored = await storedPolicy(env, name);
    const before = await puts(name);

    await ns("team").api.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        plural: GRANT_PLURAL,
        namespace: ns("team").namespace,
        name,
        body: {
          status: {
            ...waiting.status,
            applied: { accounts: late, policyUid: (await owner.get(name)).metadata.uid },
          },
        },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    // Another grant makes the policy rebuild.
    await ns("team").create(`${name}-small`, ref(name), { accounts: ["121212121212"] });
    await ns("team").waitForReason(`${name}-small`, "Applied");
    await waitFor("the forged status is put right", async () => {
      const grant = await ns("team").get(name);
      return (
        ns("team").condition(grant, "Ready")?.reason === "PolicySizeExceeded" &&
        (grant.status?.applied?.accounts ?? []).length === 0
      );
    });
    const held = await grantedAccounts(env, name);
    assert.ok(!held.includes(late[0] ?? ""), "the forged accounts are not in AWS");
    assert.equal((await puts(name)) - before, 1, "one put, for the small grant only");
    assert.notEqual(await storedPolicy(env, name), stored);
  });

  test("a grant on a suspended policy reports Suspended, and when deleted keeps its finalizer until the policy resumes and the removal lands", async () => {
    const name = unique("suspended");
    await sharedPolicy(name);
    await ns("team").create(name, ref(name), { accounts: ["444455556666"] });
    await ns("team").waitForReason(name, "Applied");
    await owner.patchSpec(name, { suspend: true });
    await owner.waitForReason(name, "Suspended");
    await ns("team").waitForReason(name, "Suspended");
    const before = await puts(name);

    await ns("team").delete(name);
    await waitFor("the deletion is seen", async () => {
      const grant = await ns("team").get(name);
      return grant.metadata.deletionTimestamp !== undefined;
    });
    // The policy is suspended: nothing may be put, so nothing releases the finalizer.
    await owner.patchSpec(name, { suspend: true, driftPolicy: "Correct" });
    await owner.waitForReason(name, "Suspended");
    assert.ok(await ns("team").exists(name), "the grant waits for its removal");
    assert.ok(await hasFinalizer(ns("team"), name));
    assert.equal(await puts(name), before, "a suspended policy puts nothing");
    assert.deepEqual(await grantedAccounts(env, name), ["444455556666"]);

    await owner.patchSpec(name, { suspend: false });
    await ns("team").waitUntilGone(name);
    assert.deepEqual(await grantedAccounts(env, name), []);
  });

  test("a grant on a policy that lost its destination to an older policy reports Conflict and adds nothing", async () => {
    const name = unique("conflict");
    await sharedPolicy(name);
    await ns("team").create(name, ref(name), { accounts: ["444455556666"] });
    await ns("team").waitForReason(name, "Applied");
    await new Promise((resolve) => setTimeout(resolve, 1100)); // creationTimestamp has one-second resolution
    const late = `${name}-late`;
    await owner.create(late, { destinationName: name, grants: grantsFrom });
    await owner.waitForReason(late, "Conflict");
    const stored = await storedPolicy(env, name);
    await ns("team").create(late, ref(late), { accounts: ["777788889999"] });
    const grant = await ns("team").waitForReason(late, "Conflict");
    assert.ok(!(grant.metadata.finalizers ?? []).includes(GRANT_FINALIZER), "no finalizer");
    assert.equal(await storedPolicy(env, name), stored, "nothing of it reaches AWS");
    await ns("team").delete(late);
    await ns("team").waitUntilGone(late);
  });

  test("a forged last-applied record claiming a waiting grant is in AWS is not believed", async () => {
    const name = unique("forged-record");
    const big = accounts(100_000_000_000, 300);
    const late = accounts(400_000_000_000, 30);
    assert.ok(!fits(name, [big, late]));
    await sharedPolicy(name);
    await ns("team").create(`${name}-big`, ref(name), { accounts: big });
    await ns("team").waitForReason(`${name}-big`, "Applied");
    const waiting = await ns("team").create(name, ref(name), { accounts: late });
    await ns("team").waitForReason(name, "PolicySizeExceeded");
    const stored = await storedPolicy(env, name);

    const policy = await owner.get(name);
    const record = JSON.parse(policy.metadata.annotations?.[LAST_APPLIED_ANNOTATION] ?? "{}") as {
      grants?: Record<string, unknown>;
    };
    record.grants = {
      ...record.grants,
      [`${ns("team").namespace}/${name}`]: { uid: waiting.metadata.uid, accounts: late },
    };
    await owner.api.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace: owner.namespace,
        name,
        body: { metadata: { annotations: { [LAST_APPLIED_ANNOTATION]: JSON.stringify(record) } } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    // Another grant makes the policy rebuild on top of whatever record it believes.
    await ns("team").create(`${name}-small`, ref(name), { accounts: ["121212121212"] });
    await ns("team").waitForReason(`${name}-small`, "Applied");
    const still = await ns("team").waitForReason(name, "PolicySizeExceeded");
    assert.deepEqual(still.status?.applied?.accounts ?? [], [], "nothing claimed as applied");
    const held = await grantedAccounts(env, name);
    assert.ok(!held.some((a) => late.includes(a)), "the forged accounts are not in AWS");
    assert.deepEqual(held, [...big, "121212121212"].sort(), "the applied grant stays");
    assert.notEqual(await storedPolicy(env, name), stored);
  });
});

describe("grants without --require-binding", () => {
  let teamNamespace = "";
  const { env, policies: owner } = suite(["grants-nobind-owner"], ["--require-binding=false"], {
    alsoWatch: async (env) => {
      teamNamespace = await newNamespace(env.kubeConfig, "grants-nobind-team", {
        [SENDER]: `nobind-${run}`,
      });
      return [new Policies(env.kubeConfig, teamNamespace)];
    },
  });

  test("a grant from a namespace no binding selects needs only the owner's consent", async () => {
    const name = unique("no-binding");
    await createDestination(env, name);
    await owner.create(name, {
      destinationName: name,
      grants: { from: { namespaceSelector: { matchLabels: { [SENDER]: `nobind-${run}` } } } },
    });
    await owner.waitForReason(name, "Applied");
    const team = new Grants(env.kubeConfig, teamNamespace);
    await team.create(name, { namespace: owner.namespace, name }, { accounts: ["999900001111"] });
    await team.waitForReason(name, "Applied");
    assert.deepEqual(await grantedAccounts(env, name), ["999900001111"]);
  });
});

describe("grants on a destination in another account", () => {
  const ACCOUNT = "111111111111";
  const ROLE = `arn:aws:iam::${ACCOUNT}:role/ldp-writer`;
  const { env, namespaces } = suite(
    ["grants-xacct-owner", "grants-xacct-team"],
    ["--allowed-role-arns", `arn:aws:iam::${ACCOUNT}:role/ldp-*`],
    { assumesRoles: true },
  );
  const [owner, teamNamespace] = namespaces;

  test("the merged statements name the destination's ARN in the role's account", async () => {
    const name = unique("xacct");
    const other = await emulatorAs(env, ROLE);
    try {
      await createDestination(env, name, env.region, { client: other, account: ACCOUNT });
      await owner.create(name, {
        destinationName: name,
        roleArn: ROLE,
        grants: {
          from: { namespaceSelector: { matchLabels: { [TEST_NAMESPACE_LABEL]: "true" } } },
        },
      });
      const team = new Grants(env.kubeConfig, teamNamespace.namespace);
      await team.create(name, { namespace: owner.namespace, name }, { accounts: ["444455556666"] });
      const grant = await team.waitForReason(name, "Applied");
      const arn = `arn:aws:logs:${env.region}:${ACCOUNT}:destination:${name}`;
      assert.equal(grant.status?.destinationArn, arn);
      const out = await other.send(
        new DescribeDestinationsCommand({ DestinationNamePrefix: name }),
      );
      const text = out.destinations?.find((d) => d.destinationName === name)?.accessPolicy ?? "{}";
      const statements = (JSON.parse(text) as { Statement: { Sid?: string; Resource?: unknown }[] })
        .Statement;
      const granted = statements.find((s) => s.Sid === "GrantedAccounts");
      assert.equal(granted?.Resource, arn, "Resource is the destination in the role's account");
      assert.equal(await storedPolicy(env, name), undefined, "nothing in the controller's account");
    } finally {
      other.destroy();
    }
  });
});
