// Shared destinations on the real API server and the emulator: teams add their
// sender accounts to one destination policy with LogDestinationGrants, merged
// into one document that fits 5,120 bytes. Every refusal and every wait is
// checked at the fault proxy (what was put) and in the emulator (what AWS holds).
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { isDeepStrictEqual } from "node:util";
import { GRANT_FINALIZER } from "../../src/api/names.ts";
import { mergeGrants, principalBytes, type GrantContribution } from "../../src/policy/merge.ts";
import type { PolicyDocument } from "../../src/policy/types.ts";
import { callsFor, createDestination, storedPolicy } from "../support/aws.ts";
import { newNamespace } from "../support/env.ts";
import {
  accounts,
  destinationArn,
  grantedAccounts,
  Grants,
  liveStatements,
} from "../support/grants.ts";
import {
  applyBinding,
  deleteBinding,
  Policies,
  samplePolicy,
  TEST_NAMESPACE_LABEL,
  waitFor,
} from "../support/policies.ts";
import { suite, unique } from "../support/setup.ts";

const run = String(process.pid);
/** The label the shared policies' grants.from selects. */
const SENDER = "grants.ldpc.test/sender";
/** The label of a namespace whose only binding permits one account. */
const NARROW = "grants.ldpc.test/narrow";
const NARROW_BINDING = `grants-narrow-${run}`;
const NARROW_ACCOUNT = "111122223333";
const ACTION = "logs:PutSubscriptionFilter";

describe("shared destinations: grants merged into one policy", () => {
  const teams: Record<"a" | "b" | "outsider" | "narrow", Grants | undefined> = {
    a: undefined,
    b: undefined,
    outsider: undefined,
    narrow: undefined,
  };
  const team = (key: keyof typeof teams): Grants => {
    const grants = teams[key];
    if (!grants) throw new Error(`namespace ${key} is used before the suite's before hook ran`);
    return grants;
  };
  const {
    env,
    policies: owner,
    controller,
  } = suite(["grants-owner"], [], {
    alsoWatch: async (env) => {
      await applyBinding(env.kubeConfig, NARROW_BINDING, {
        namespaceSelector: { matchLabels: { [NARROW]: run } },
        destinations: ["*"],
        principals: { accounts: [NARROW_ACCOUNT] },
      });
      const make = async (prefix: string, labels: Record<string, string>) => {
        const namespace = await newNamespace(env.kubeConfig, prefix, labels);
        return new Policies(env.kubeConfig, namespace);
      };
      const bound = { [TEST_NAMESPACE_LABEL]: "true" };
      const a = await make("grants-team-a", { ...bound, [SENDER]: run });
      const b = await make("grants-team-b", { ...bound, [SENDER]: run });
      const outsider = await make("grants-outsider", bound);
      const narrow = await make("grants-narrow", { [SENDER]: run, [NARROW]: run });
      teams.a = new Grants(env.kubeConfig, a.namespace);
      teams.b = new Grants(env.kubeConfig, b.namespace);
      teams.outsider = new Grants(env.kubeConfig, outsider.namespace);
      teams.narrow = new Grants(env.kubeConfig, narrow.namespace);
      return [a, b, outsider, narrow];
    },
  });

  after(async () => {
    await deleteBinding(env.kubeConfig, NARROW_BINDING).catch(() => undefined);
  });

  const puts = async (name: string) => (await callsFor(env, name, "PutDestinationPolicy")).length;
  const ref = (name: string) => ({ namespace: owner.namespace, name });
  const grantsFrom = { from: { namespaceSelector: { matchLabels: { [SENDER]: run } } } };

  /** A destination and a policy for it that accepts the senders' grants, once Applied. */
  async function sharedPolicy(name: string, spec: Record<string, unknown> = {}) {
    await createDestination(env, name);
    await owner.create(name, { destinationName: name, grants: grantsFrom, ...spec });
    return owner.waitForReason(name, "Applied");
  }

  /** What the merge makes of these grants' principals, all admitted, in this order. */
  function merged(
    name: string,
    parts: string[][],
    ownerDocument?: PolicyDocument,
    alreadyApplied = false,
  ) {
    const grants: GrantContribution[] = parts.map((list, i) => {
      const principals = { accounts: list, organizationIds: [], organizationPaths: [] };
      return {
        namespace: "ns",
        name: `g${String(i)}`,
        createdAt: i,
        desired: principals,
        ...(alreadyApplied ? { applied: principals } : {}),
      };
    });
    return mergeGrants({
      resource: destinationArn(env, name),
      actions: [ACTION],
      owner: ownerDocument,
      grants,
      forceUpdate: false,
    });
  }

  async function grantCounts(name: string, expected: Record<string, number>) {
    let last: unknown;
    await waitFor(
      `${name} status.grants ${JSON.stringify(expected)}`,
      async () => {
        last = (await owner.get(name)).status?.grants;
        return isDeepStrictEqual(last, expected);
      },
      20_000,
      () => JSON.stringify(last),
    );
  }

  test("two teams grant their accounts and the policy AWS holds merges both into one statement on the destination", async (t) => {
    const name = unique("two-teams");
    await sharedPolicy(name);
    const before = await puts(name);
    await team("a").create(name, ref(name), { accounts: ["444455556666"] });
    await team("b").create(name, ref(name), { accounts: ["777788889999"] });
    const a = await team("a").waitForReason(name, "Applied");
    const b = await team("b").waitForReason(name, "Applied");
    const pairPuts = (await puts(name)) - before;
    t.diagnostic(`${String(pairPuts)} puts for the pair`);
    assert.ok(
      pairPuts >= 1 && pairPuts <= 2,
      `1 or 2 puts for two grants, not ${String(pairPuts)}`,
    );

    for (const grant of [a, b]) {
      assert.equal(team("a").condition(grant, "Ready")?.status, "True");
      assert.equal(grant.status?.destinationArn, destinationArn(env, name));
      assert.ok(
        grant.metadata.finalizers?.includes(GRANT_FINALIZER),
        "the grant holds its finalizer",
      );
      assert.equal(
        grant.status.bytes,
        principalBytes({ accounts: ["444455556666"], organizationIds: [], organizationPaths: [] }),
      );
    }
    assert.deepEqual(a.status?.applied?.accounts, ["444455556666"]);
    assert.deepEqual(b.status?.applied?.accounts, ["777788889999"]);

    const statements = await liveStatements(env, name);
    const granted = statements.filter((s) => s.Sid === "GrantedAccounts");
    assert.equal(granted.length, 1, "one statement for all granted accounts");
    assert.equal(granted[0]?.Resource, destinationArn(env, name));
    assert.equal(granted[0].Effect, "Allow");
    assert.equal(granted[0].Action, ACTION);
    assert.deepEqual(await grantedAccounts(env, name), ["444455556666", "777788889999"]);
    assert.ok(
      !statements.some((s) => s.Sid === "NoGrantAdmitted"),
      "the deny-everyone stand-in is gone",
    );
    assert.equal(
      await storedPolicy(env, name),
      merged(name, [["444455556666"], ["777788889999"]]).canonical,
      "AWS holds exactly the merged document",
    );

    await grantCounts(name, { accepted: 2, waiting: 0, refused: 0 });
    const policy = await owner.get(name);
    assert.equal(a.status.policyHash, policy.status?.appliedPolicyHash);
  });

  test("a grant from a namespace that grants.from does not select is NotAccepted and nothing is put for it", async () => {
    const name = unique("not-selected");
    await sharedPolicy(name);
    await team("a").create(name, ref(name), { accounts: ["777788889999"] });
    await team("a").waitForReason(name, "Applied");
    const before = await puts(name);
    const stored = await storedPolicy(env, name);
    await team("outsider").create(name, ref(name), { accounts: ["444455556666"] });
    const grant = await team("outsider").waitForReason(name, "NotAccepted");
    // A namespace the owner does not accept learns nothing of the policy beyond that.
    const message = team("outsider").condition(grant, "Ready")?.message ?? "";
    for (const secret of ["777788889999", destinationArn(env, name), team("a").namespace]) {
      assert.ok(!message.includes(secret), `the message does not reveal ${secret}: ${message}`);
    }
    assert.equal(grant.status?.destinationArn, undefined, "nor the destination's ARN");
    assert.equal(grant.status?.policyHash, undefined, "nor the policy's hash");
    assert.equal(team("outsider").condition(grant, "Ready")?.status, "False");
    assert.equal(team("outsider").condition(grant, "Stalled")?.status, "True");
    await grantCounts(name, { accepted: 1, waiting: 0, refused: 1 });
    assert.equal(await puts(name), before, "no put for a grant the owner does not accept");
    assert.equal(await storedPolicy(env, name), stored);
    assert.ok(!(grant.metadata.finalizers ?? []).includes(GRANT_FINALIZER), "no finalizer");
    await team("outsider").delete(name);
    await team("outsider").waitUntilGone(name);
  });

  test("a principal the grant's namespace's bindings do not permit is NotPermitted and nothing is sent, while a permitted one is applied", async () => {
    const name = unique("not-permitted");
    await sharedPolicy(name);
    const before = await puts(name);
    const stored = await storedPolicy(env, name);
    const refusedName = `${name}-wide`;
    await team("narrow").create(refusedName, ref(name), {
      accounts: [NARROW_ACCOUNT, "999900001111"],
    });
    const refused = await team("narrow").waitForReason(refusedName, "NotPermitted");
    assert.equal(team("narrow").condition(refused, "Stalled")?.status, "True");
    assert.match(team("narrow").condition(refused, "Ready")?.message ?? "", /999900001111/);
    assert.equal(await puts(name), before, "nothing sent for a refused grant");
    assert.equal(await storedPolicy(env, name), stored);

    // The same namespace's binding permits this account: the grant's bindings judge it, not the owner's.
    await team("narrow").create(name, ref(name), { accounts: [NARROW_ACCOUNT] });
    await team("narrow").waitForReason(name, "Applied");
    assert.deepEqual(await grantedAccounts(env, name), [NARROW_ACCOUNT]);
    await grantCounts(name, { accepted: 1, waiting: 0, refused: 1 });
  });

  test("an account two grants name stays in AWS until the second grant is deleted, and each finalizer goes once its put landed", async () => {
    const name = unique("same-account");
    await sharedPolicy(name);
    const shared = "444455556666";
    await team("a").create(name, ref(name), { accounts: [shared, "121212121212"] });
    await team("b").create(name, ref(name), { accounts: [shared] });
    await team("a").waitForReason(name, "Applied");
    await team("b").waitForReason(name, "Applied");
    assert.deepEqual(await grantedAccounts(env, name), ["121212121212", shared]);

    await team("a").delete(name);
    await team("a").waitUntilGone(name);
    assert.deepEqual(await grantedAccounts(env, name), [shared], "the shared account stays");
    assert.ok((await team("b").get(name)).metadata.finalizers?.includes(GRANT_FINALIZER));

    const before = await puts(name);
    // The removal is slow to land: the grant must outlive it.
    await env.proxy.inject({
      operation: "PutDestinationPolicy",
      fault: { kind: "latency", ms: 2000 },
      destination: name,
    });
    await team("b").delete(name);
    await waitFor("the removal is in flight", async () => {
      const calls = await callsFor(env, name, "PutDestinationPolicy");
      return calls.length > before && calls.at(-1)?.status === 0;
    });
    assert.ok(await team("b").exists(name), "the grant stays while its removal is in flight");
    await team("b").waitUntilGone(name);
    // The finalizer went only after the put without the account landed.
    assert.deepEqual(await grantedAccounts(env, name), [], "the account is gone from AWS");
    assert.ok((await puts(name)) > before, "a put removed it");
    const statements = await liveStatements(env, name);
    assert.deepEqual(
      statements.map((s) => s.Sid),
      ["NoGrantAdmitted"],
      "a policy of grants alone with none left denies everyone",
    );
    await owner.waitForReason(name, "Applied");
  });

  test("a grant that does not fit in 5,120 bytes waits with PolicySizeExceeded naming the bytes, and is admitted once a deletion frees room", async (t) => {
    const name = unique("size-limit");
    const big = accounts(100_000_000_000, 290);
    const small = accounts(200_000_000_000, 20);
    const waiting = accounts(300_000_000_000, 25);
    // The arithmetic the test relies on, checked with the merge itself.
    assert.ok(merged(name, [big, small]).bytes <= 5120);
    assert.ok(merged(name, [big, small, waiting]).verdicts.get("ns/g2")?.state === "Waiting");
    assert.ok(merged(name, [big, waiting]).bytes <= 5120);

    await sharedPolicy(name);
    await team("a").create(`${name}-big`, ref(name), { accounts: big });
    await team("b").create(`${name}-small`, ref(name), { accounts: small });
    await team("a").waitForReason(`${name}-big`, "Applied");
    await team("b").waitForReason(`${name}-small`, "Applied");
    const before = await puts(name);

    await team("a").create(`${name}-late`, ref(name), { accounts: waiting });
    const late = await team("a").waitForReason(`${name}-late`, "PolicySizeExceeded");
    const message = team("a").condition(late, "Ready")?.message ?? "";
    t.diagnostic(message);
    assert.match(message, /\d+ bytes/, "the message names bytes");
    assert.match(message, /need/i, "the message names the bytes needed");
    assert.match(message, /left/i, "the message names the bytes left");
    assert.ok(!(late.status?.applied?.accounts ?? []).length, "nothing applied for it");
    await grantCounts(name, { accepted: 2, waiting: 1, refused: 0 });
    assert.equal(await puts(name), before, "a waiting grant sends nothing");
    const held = await grantedAccounts(env, name);
    assert.ok(!held.includes(waiting[0] ?? ""), "its accounts are not in AWS");
    assert.equal(held.length, big.length + small.length, "nothing applied was evicted");

    await team("b").delete(`${name}-small`);
    await team("b").waitUntilGone(`${name}-small`);
    await team("a").waitForReason(`${name}-late`, "Applied");
    assert.deepEqual(await grantedAccounts(env, name), [...big, ...waiting].sort());
    await grantCounts(name, { accepted: 2, waiting: 0, refused: 0 });
    const policy = await owner.get(name);
    assert.ok((policy.status?.policySizeBytes ?? 0) <= 5120);
    assert.equal(policy.status?.policySizeBytes, merged(name, [big, waiting]).bytes);
  });

  test("an owner change that would evict applied grants is refused with PolicySizeExceeded and AWS keeps the old owner statements and the grants", async () => {
    const name = unique("owner-evicts");
    const ownerBefore = samplePolicy(name) as PolicyDocument;
    const ownerAfter = samplePolicy(name, accounts(500_000_000_000, 20)) as PolicyDocument;
    const granted = accounts(100_000_000_000, 305);
    assert.ok(merged(name, [granted], ownerBefore).bytes <= 5120, "fits with the old owner");
    assert.ok(
      merged(name, [granted], ownerAfter, true).ownerRefused,
      "the new owner statements leave no room for the applied grant",
    );

    await sharedPolicy(name, { accessPolicy: ownerBefore });
    await team("a").create(name, ref(name), { accounts: granted });
    await team("a").waitForReason(name, "Applied");
    const stored = await storedPolicy(env, name);
    const before = await puts(name);

    await owner.patchSpec(name, { accessPolicy: ownerAfter });
    const refused = await owner.waitForReason(name, "PolicySizeExceeded");
    assert.equal(owner.condition(refused, "Ready")?.status, "False");
    assert.equal(await puts(name), before, "nothing put");
    assert.equal(
      await storedPolicy(env, name),
      stored,
      "AWS keeps the old owner statements and the grant",
    );
    const grant = await team("a").waitForReason(name, "Applied");
    assert.deepEqual(grant.status?.applied?.accounts, granted);

    // Once the grant goes, the owner's change fits and is applied.
    await team("a").delete(name);
    await team("a").waitUntilGone(name);
    await owner.waitForReason(name, "Applied");
    assert.equal(await storedPolicy(env, name), merged(name, [], ownerAfter).canonical);
  });

  test("an organization grant on a destination that grants by account waits with ForceUpdateRequired until the owner sets forceUpdate", async () => {
    const name = unique("force-update");
    await sharedPolicy(name, { forceUpdate: false });
    await team("a").create(name, ref(name), { accounts: ["444455556666"] });
    await team("a").waitForReason(name, "Applied");
    const before = await puts(name);

    const org = "o-a1b2c3d4e5";
    await team("b").create(name, ref(name), { organizationIds: [org] });
    const waiting = await team("b").waitForReason(name, "ForceUpdateRequired");
    assert.match(team("b").condition(waiting, "Ready")?.message ?? "", /forceUpdate/);
    await grantCounts(name, { accepted: 1, waiting: 1, refused: 0 });
    assert.equal(await puts(name), before, "nothing put for it");
    assert.ok(
      !(await liveStatements(env, name)).some((s) => s.Sid === "GrantedOrganizations"),
      "no organization statement in AWS",
    );

    await owner.patchSpec(name, { forceUpdate: true });
    await team("b").waitForReason(name, "Applied");
    const orgs = (await liveStatements(env, name)).find((s) => s.Sid === "GrantedOrganizations");
    assert.deepEqual(orgs?.Condition, { StringEquals: { "aws:PrincipalOrgID": [org] } });
    assert.equal(orgs.Resource, destinationArn(env, name));
    assert.deepEqual(await grantedAccounts(env, name), ["444455556666"]);
  });

  test("when room frees up, waiting grants are admitted oldest first", async () => {
    const name = unique("in-order");
    const big = accounts(100_000_000_000, 290);
    const blocker = accounts(200_000_000_000, 20);
    const older = accounts(300_000_000_000, 22);
    const newer = accounts(400_000_000_000, 22);
    assert.ok(merged(name, [big, blocker]).bytes <= 5120);
    assert.ok(merged(name, [big, older]).bytes <= 5120);
    assert.ok(merged(name, [big, older, newer]).verdicts.get("ns/g2")?.state === "Waiting");
    await sharedPolicy(name);
    await team("a").create(`${name}-big`, ref(name), { accounts: big });
    await team("a").create(`${name}-blocker`, ref(name), { accounts: blocker });
    await team("a").waitForReason(`${name}-big`, "Applied");
    await team("a").waitForReason(`${name}-blocker`, "Applied");
    // Created in this order, a second apart: team b's newer grant would come first by namespace name alone.
    await team("b").create(`${name}-older`, ref(name), { accounts: older });
    await team("b").waitForReason(`${name}-older`, "PolicySizeExceeded");
    await new Promise((resolve) => setTimeout(resolve, 1100)); // creationTimestamp has one-second resolution
    await team("a").create(`${name}-newer`, ref(name), { accounts: newer });
    await team("a").waitForReason(`${name}-newer`, "PolicySizeExceeded");

    await team("a").delete(`${name}-blocker`);
    await team("b").waitForReason(`${name}-older`, "Applied");
    await team("a").waitForReason(`${name}-newer`, "PolicySizeExceeded");
    assert.deepEqual(await grantedAccounts(env, name), [...big, ...older].sort());
  });

  test("a grant created before its policy is PolicyNotFound and is applied once the policy appears", async () => {
    const name = unique("grant-first");
    await createDestination(env, name);
    await team("a").create(name, ref(name), { accounts: ["444455556666"] });
    await team("a").waitForReason(name, "PolicyNotFound");
    await owner.create(name, { destinationName: name, grants: grantsFrom });
    await team("a").waitForReason(name, "Applied");
    await owner.waitForReason(name, "Applied");
    assert.deepEqual(await grantedAccounts(env, name), ["444455556666"]);
    assert.equal(await puts(name), 1, "one put, with the grant in it");
  });

  test("organization paths and both actions are merged into their own statement on the destination", async () => {
    const name = unique("paths");
    const path = "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/";
    await sharedPolicy(name, {
      grants: { ...grantsFrom, actions: ["logs:PutSubscriptionFilter", "logs:PutAccountPolicy"] },
    });
    await team("a").create(name, ref(name), { organizationPaths: [path] });
    await team("a").waitForReason(name, "Applied");
    const statement = (await liveStatements(env, name)).find(
      (s) => s.Sid === "GrantedOrganizationPaths",
    );
    assert.deepEqual(statement?.Condition, {
      "ForAnyValue:StringLike": { "aws:PrincipalOrgPaths": [path] },
    });
    assert.deepEqual(statement.Action, ["logs:PutAccountPolicy", "logs:PutSubscriptionFilter"]);
    assert.equal(statement.Resource, destinationArn(env, name));
  });

  test("a grant whose policyRef leaves out the namespace names a policy in its own namespace", async () => {
    const name = unique("same-namespace");
    await createDestination(env, name);
    const own = new Policies(env.kubeConfig, team("a").namespace);
    await own.create(name, { destinationName: name, grants: grantsFrom });
    await team("a").create(name, { name } as { namespace: string; name: string }, {
      accounts: ["444455556666"],
    });
    await team("a").waitForReason(name, "Applied");
    assert.deepEqual(await grantedAccounts(env, name), ["444455556666"]);
  });

  test("the metrics show grants by reason and the bytes each shared policy uses", async () => {
    const name = unique("metrics");
    await sharedPolicy(name);
    await team("a").create(name, ref(name), { accounts: ["444455556666"] });
    await team("outsider").create(name, ref(name), { accounts: ["777788889999"] });
    await team("a").waitForReason(name, "Applied");
    await team("outsider").waitForReason(name, "NotAccepted");
    await grantCounts(name, { accepted: 1, waiting: 0, refused: 1 });
    const policy = await owner.get(name);
    const bytes = policy.status?.policySizeBytes ?? 0;
    assert.equal(bytes, Buffer.byteLength((await storedPolicy(env, name)) ?? "", "utf8"));
    await waitFor("the bytes metric", async () => {
      const seen = await controller.metric("log_destination_policy_shared_policy_bytes", {
        namespace: owner.namespace,
        name,
      });
      return seen === bytes;
    });
    assert.ok(
      (await controller.metric("log_destination_policy_grants", { reason: "Applied" })) >= 1,
    );
    assert.ok(
      (await controller.metric("log_destination_policy_grants", { reason: "NotAccepted" })) >= 1,
    );
  });

  test("an organization grant on a destination whose owner grants by account waits with ForceUpdateRequired too", async () => {
    const name = unique("force-owner");
    await sharedPolicy(name, { accessPolicy: samplePolicy(name, ["111111111111"]) });
    const before = await puts(name);
    await team("b").create(name, ref(name), { organizationIds: ["o-a1b2c3d4e5"] });
    await team("b").waitForReason(name, "ForceUpdateRequired");
    assert.equal(await puts(name), before, "nothing put for it");
    assert.ok(
      !(await liveStatements(env, name)).some((s) => s.Sid === "GrantedOrganizations"),
      "no organization statement in AWS",
    );
    await owner.patchSpec(name, { forceUpdate: true });
    await team("b").waitForReason(name, "Applied");
  });
});
