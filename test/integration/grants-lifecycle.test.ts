// What happens to grants over time, on the real API server and the emulator:
// deleted while AWS fails, outliving their policy, drifted away in AWS, offered
// to a policy that only observes, waited on with kubectl, and how many writes
// the API server takes to make one Ready. AWS calls are counted at the fault proxy.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { GRANT_FINALIZER, GRANT_PLURAL, GROUP, VERSION } from "../../src/api/names.ts";
import { DENY_ALL_POLICY } from "../../src/controller/phases/deletion.ts";
import { mergeGrants } from "../../src/policy/merge.ts";
import { callsFor, createDestination, putPolicyDirectly, storedPolicy } from "../support/aws.ts";
import { accounts, destinationArn, grantedAccounts, Grants } from "../support/grants.ts";
import { samplePolicy, TEST_NAMESPACE_LABEL, waitFor } from "../support/policies.ts";
import { DRIFT_EVERY_2S, suite, unique } from "../support/setup.ts";

const PUT = "PutDestinationPolicy";
const ACTION = "logs:PutSubscriptionFilter";
const run = promisify(execFile);

describe("grants over their lifetime", () => {
  const { env, namespaces, controller, startAgain } = suite(
    ["grants-life-owner", "grants-life-team"],
    DRIFT_EVERY_2S,
    {
      clearsFaults: true,
    },
  );
  const [owner, teamNamespace] = namespaces;
  let cachedTeam: Grants | undefined;
  const team = (): Grants => (cachedTeam ??= new Grants(env.kubeConfig, teamNamespace.namespace));

  const puts = async (name: string) => (await callsFor(env, name, PUT)).length;
  const failedPuts = async (name: string) =>
    (await callsFor(env, name, PUT)).filter((c) => c.fault !== undefined).length;
  const ref = (name: string) => ({ namespace: owner.namespace, name });
  const grantsFrom = {
    from: { namespaceSelector: { matchLabels: { [TEST_NAMESPACE_LABEL]: "true" } } },
  };

  async function sharedPolicy(name: string, spec: Record<string, unknown> = {}) {
    await createDestination(env, name);
    await owner.create(name, { destinationName: name, grants: grantsFrom, ...spec });
    if (spec.mode === "Observe") return;
    await owner.waitForReason(name, "Applied");
  }

  /** The merged document of these accounts, one grant each, all admitted. */
  function merged(name: string, parts: string[][]): string {
    return mergeGrants({
      resource: destinationArn(env, name),
      actions: [ACTION],
      grants: parts.map((list, i) => ({
        namespace: "ns",
        name: `g${String(i)}`,
        createdAt: i,
        desired: { accounts: list, organizationIds: [], organizationPaths: [] },
      })),
      forceUpdate: false,
    }).canonical;
  }

  test("a grant deleted while AWS fails keeps its finalizer until the put without it lands, then goes", async (t) => {
    const name = unique("delete-fails");
    await sharedPolicy(name);
    await team().create(name, ref(name), { accounts: ["444455556666"] });
    await team().create(`${name}-stays`, ref(name), { accounts: ["777788889999"] });
    await team().waitForReason(name, "Applied");
    await team().waitForReason(`${name}-stays`, "Applied");
    const failedBefore = await failedPuts(name);

    await env.proxy.inject({
      operation: PUT,
      fault: { kind: "error", name: "ServiceUnavailableException" },
      count: Infinity,
      destination: name,
    });
    try {
      await team().delete(name);
      await waitFor(
        "two failed puts",
        async () => (await failedPuts(name)) >= failedBefore + 2,
        60_000,
      );
      const held = await team().get(name);
      assert.ok(held.metadata.deletionTimestamp, "deletion was asked for");
      assert.ok(
        held.metadata.finalizers?.includes(GRANT_FINALIZER),
        "the finalizer stays while the removal has not landed",
      );
      assert.deepEqual(
        await grantedAccounts(env, name),
        ["444455556666", "777788889999"],
        "AWS still holds the deleted grant's account",
      );
    } finally {
      await env.proxy.clearFaults();
    }
    await team().waitUntilGone(name, 90_000);
    t.diagnostic(`${String((await failedPuts(name)) - failedBefore)} failed puts before it landed`);
    assert.deepEqual(await grantedAccounts(env, name), ["777788889999"]);
    const last = (await callsFor(env, name, PUT)).at(-1);
    assert.equal(last?.fault, undefined, "the last put landed");
    await team().waitForReason(`${name}-stays`, "Applied");
  });

  test("when its policy is deleted, a grant reports PolicyNotFound and loses its finalizer, and Retain leaves AWS alone", async () => {
    const name = unique("policy-gone");
    await sharedPolicy(name);
    await team().create(name, ref(name), { accounts: ["444455556666"] });
    await team().waitForReason(name, "Applied");
    const stored = await storedPolicy(env, name);
    const before = await puts(name);

    await owner.delete(name);
    await owner.waitUntilGone(name);
    const orphan = await team().waitForReason(name, "PolicyNotFound");
    assert.equal(team().condition(orphan, "Ready")?.status, "False");
    await waitFor(
      "the grant's finalizer goes",
      async () => !((await team().get(name)).metadata.finalizers ?? []).includes(GRANT_FINALIZER),
    );
    assert.equal(await storedPolicy(env, name), stored, "Retain: the policy stays in AWS");
    assert.equal(await puts(name), before, "nothing put");
    await team().delete(name);
    await team().waitUntilGone(name);
  });

  test("a granted account removed in AWS behind the controller's back is put back under driftPolicy Correct and the grant is Applied again", async () => {
    const name = unique("drift");
    await sharedPolicy(name, { driftPolicy: "Correct" });
    await team().create(name, ref(name), { accounts: ["444455556666"] });
    await team().waitForReason(name, "Applied");
    const expected = merged(name, [["444455556666"]]);
    assert.equal(await storedPolicy(env, name), expected);
    const before = await puts(name);

    await putPolicyDirectly(env, name, samplePolicy(name, ["999999999999"]));
    await waitFor(
      "the granted account is put back",
      async () => (await storedPolicy(env, name)) === expected,
      30_000,
    );
    await team().waitForReason(name, "Applied");
    await owner.waitForReason(name, "Applied");
    assert.equal((await puts(name)) - before, 1, "one put corrected it");
  });

  test("a policy in Observe mode accepts no grant and nothing is put", async () => {
    const name = unique("observe");
    await sharedPolicy(name, { mode: "Observe", accessPolicy: samplePolicy(name) });
    await team().create(name, ref(name), { accounts: ["444455556666"] });
    const grant = await team().waitForReason(name, "NotAccepted");
    assert.equal(team().condition(grant, "Stalled")?.status, "True");
    assert.ok(!(grant.metadata.finalizers ?? []).includes(GRANT_FINALIZER), "no finalizer");
    assert.equal(await puts(name), 0, "Observe never writes");
    await team().delete(name);
    await team().waitUntilGone(name);
  });

  test("kubectl wait --for=condition=Ready on a grant returns once the grant is Applied", async () => {
    const name = unique("kubectl-wait");
    await sharedPolicy(name);
    await team().create(name, ref(name), { accounts: ["444455556666"] });
    const { stdout } = await run(env.kubectl, [
      "--kubeconfig",
      env.kubeconfigPath,
      "-n",
      teamNamespace.namespace,
      "wait",
      "--for=condition=Ready",
      `ldg/${name}`,
      "--timeout=60s",
    ]);
    assert.match(stdout, /condition met/);
    const grant = await team().get(name);
    assert.equal(team().condition(grant, "Ready")?.reason, "Applied");
  });

  test("each of three grants created at once takes at most 2 API-server writes to reach Ready", async (t) => {
    const name = unique("writes");
    await sharedPolicy(name);
    const watch = await team().watchWrites();
    try {
      const names = ["a", "b", "c"].map((suffix) => `${name}-${suffix}`);
      for (const [i, grant] of names.entries()) {
        await team().create(grant, ref(name), { accounts: [String(444455556660 + i)] });
      }
      for (const grant of names) {
        await team().waitForReason(grant, "Applied");
        await waitFor(`the watch saw ${grant} Ready`, () =>
          Promise.resolve(watch.untilReady(grant) !== undefined),
        );
        const writes = watch.untilReady(grant) ?? 0;
        t.diagnostic(`${grant}: ${String(writes)} writes to reach Ready`);
        assert.ok(writes <= 2, `${grant} took ${String(writes)} writes to reach Ready`);
      }
    } finally {
      watch.stop();
    }
  });

  test("a grant moved to another policy leaves the first policy's document and joins the second's", async () => {
    const first = unique("move-from");
    const second = unique("move-to");
    await sharedPolicy(first);
    await sharedPolicy(second);
    await team().create(first, ref(first), { accounts: ["444455556666"] });
    await team().waitForReason(first, "Applied");
    assert.deepEqual(await grantedAccounts(env, first), ["444455556666"]);

    await team().api.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        plural: GRANT_PLURAL,
        namespace: teamNamespace.namespace,
        name: first,
        body: { spec: { policyRef: ref(second) } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    const moved = await team().waitForReason(first, "Applied");
    assert.equal(moved.status?.destinationArn, destinationArn(env, second));
    assert.deepEqual(await grantedAccounts(env, second), ["444455556666"]);
    await waitFor(
      "the account leaves the first policy",
      async () => (await grantedAccounts(env, first)).length === 0,
    );
    await team().delete(first);
    await team().waitUntilGone(first);
    assert.deepEqual(await grantedAccounts(env, second), []);
  });

  test("a waiting grant holds no finalizer and is deleted without a put", async () => {
    const name = unique("waiting-deleted");
    await sharedPolicy(name);
    await team().create(`${name}-big`, ref(name), { accounts: accounts(100_000_000_000, 310) });
    await team().waitForReason(`${name}-big`, "Applied");
    await team().create(name, ref(name), { accounts: accounts(200_000_000_000, 20) });
    const waiting = await team().waitForReason(name, "PolicySizeExceeded");
    assert.ok(!(waiting.metadata.finalizers ?? []).includes(GRANT_FINALIZER), "no finalizer");
    const before = await puts(name);
    await team().delete(name);
    await team().waitUntilGone(name);
    assert.equal(await puts(name), before, "nothing to remove from AWS");
  });

  test("a policy deleted with deletionPolicy Revoke denies everyone in AWS and its grants report PolicyNotFound without a finalizer", async () => {
    const name = unique("revoked");
    await sharedPolicy(name, { deletionPolicy: "Revoke" });
    await team().create(name, ref(name), { accounts: ["444455556666"] });
    await team().waitForReason(name, "Applied");
    await owner.delete(name);
    await owner.waitUntilGone(name);
    await team().waitForReason(name, "PolicyNotFound");
    await waitFor(
      "the grant's finalizer goes",
      async () => !((await team().get(name)).metadata.finalizers ?? []).includes(GRANT_FINALIZER),
    );
    assert.equal(await storedPolicy(env, name), DENY_ALL_POLICY);
  });

  test("a controller restart puts nothing and writes no grant", async () => {
    const name = unique("restart");
    await sharedPolicy(name);
    for (const suffix of ["a", "b"]) {
      await team().create(`${name}-${suffix}`, ref(name), {
        accounts: [`44445555666${suffix === "a" ? "1" : "2"}`],
      });
      await team().waitForReason(`${name}-${suffix}`, "Applied");
    }
    await controller.stop();
    const before = (await env.proxy.calls(PUT)).length;
    const watch = await team().watchWrites();
    try {
      await startAgain();
      const applied = (await owner.list()).filter(
        (p) => owner.condition(p, "Ready")?.reason === "Applied",
      ).length;
      await waitFor(
        "every applied policy verified",
        async () =>
          (await controller.metric("log_destination_policy_apply_skipped_total")) >= applied,
      );
      await team().waitForReason(`${name}-a`, "Applied");
      // Nothing announces that no write follows; give a stray one a moment to show.
      await sleep(1000);
      assert.equal((await env.proxy.calls(PUT)).length - before, 0, "no put after the restart");
      assert.equal(watch.total(), 0, "no grant written after the restart");
    } finally {
      watch.stop();
    }
  });

  test("a grant holds its finalizer before the put that carries it, and is Applied only once that put landed", async () => {
    const name = unique("in-flight");
    await sharedPolicy(name);
    await env.proxy.inject({
      operation: PUT,
      fault: { kind: "latency", ms: 2000 },
      destination: name,
    });
    const before = (await callsFor(env, name, PUT)).length;
    await team().create(name, ref(name), { accounts: ["444455556666"] });
    await waitFor("the put is in flight", async () => {
      const calls = await callsFor(env, name, PUT);
      return calls.length > before && calls.at(-1)?.status === 0;
    });
    const inFlight = await team().get(name);
    assert.ok(inFlight.metadata.finalizers?.includes(GRANT_FINALIZER), "finalizer first");
    assert.notEqual(team().condition(inFlight, "Ready")?.status, "True", "not Ready yet");
    let putWhenApplied: number | undefined;
    await waitFor("the grant is Applied", async () => {
      const grant = await team().get(name);
      if (team().condition(grant, "Ready")?.reason !== "Applied") return false;
      putWhenApplied = (await callsFor(env, name, PUT)).at(-1)?.status;
      return true;
    });
    assert.equal(putWhenApplied, 200, "Applied only after the put landed");
  });

  test("a policy switched to Observe releases its grants' finalizers and leaves AWS as it is", async () => {
    const name = unique("to-observe");
    await sharedPolicy(name);
    await team().create(name, ref(name), { accounts: ["444455556666"] });
    await team().waitForReason(name, "Applied");
    const before = await puts(name);
    await owner.patchSpec(name, { mode: "Observe" });
    await team().waitForReason(name, "NotAccepted");
    await waitFor(
      "the finalizer goes",
      async () => !((await team().get(name)).metadata.finalizers ?? []).includes(GRANT_FINALIZER),
    );
    assert.equal(await puts(name), before, "Observe writes nothing");
    assert.deepEqual(await grantedAccounts(env, name), ["444455556666"]);
  });

  test("a policy moved to another destination takes its grants along", async () => {
    const name = unique("moved-from");
    const target = unique("moved-to");
    await sharedPolicy(name);
    await createDestination(env, target);
    await team().create(name, ref(name), { accounts: ["444455556666"] });
    await team().waitForReason(name, "Applied");
    await owner.patchSpec(name, { destinationName: target });
    await owner.waitForReason(name, "Applied");
    const grant = await team().waitForReason(name, "Applied");
    assert.equal(grant.status?.destinationArn, destinationArn(env, target));
    assert.equal(await storedPolicy(env, target), merged(target, [["444455556666"]]));
  });

  test("an owner statement that uses a Sid the merge writes is refused and nothing is put", async () => {
    const name = unique("owner-sid");
    await createDestination(env, name);
    await owner.create(name, {
      destinationName: name,
      grants: grantsFrom,
      accessPolicy: {
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "GrantedAccounts",
            Effect: "Allow",
            Principal: { AWS: ["111111111111"] },
            Action: ACTION,
            Resource: destinationArn(env, name),
          },
        ],
      },
    });
    await waitFor("the policy is refused", async () => {
      const ready = owner.condition(await owner.get(name), "Ready");
      return ready?.status === "False" && ready.reason !== "Reconciling";
    });
    const ready = owner.condition(await owner.get(name), "Ready");
    assert.match(ready?.message ?? "", /GrantedAccounts/);
    assert.equal(await puts(name), 0);
  });

  test("under driftPolicy Report a granted account removed in AWS makes the grant say so instead of Applied", async () => {
    const name = unique("drift-report");
    await sharedPolicy(name, { driftPolicy: "Report" });
    await team().create(name, ref(name), { accounts: ["444455556666"] });
    await team().waitForReason(name, "Applied");
    const before = await puts(name);
    await putPolicyDirectly(env, name, samplePolicy(name, ["999999999999"]));
    await owner.waitForReason(name, "Drifted", 30_000);
    let reason: string | undefined;
    await waitFor(
      "the grant is no longer Applied",
      async () => {
        const grant = await team().get(name);
        reason = team().condition(grant, "Ready")?.reason;
        return team().condition(grant, "Ready")?.status === "False";
      },
      30_000,
      () => String(reason),
    );
    assert.equal(reason, "Drifted");
    assert.equal(await puts(name), before, "Report leaves AWS alone");

    await owner.patchSpec(name, { driftPolicy: "Correct" });
    await team().waitForReason(name, "Applied", 30_000);
    assert.deepEqual(await grantedAccounts(env, name), ["444455556666"]);
  });

  test("forty grants created at once are all Applied with a few puts and at most 2 writes each", async (t) => {
    const name = unique("burst");
    await sharedPolicy(name);
    const before = await puts(name);
    const watch = await team().watchWrites();
    try {
      const names = Array.from({ length: 40 }, (_, i) => `${name}-${String(i)}`);
      await Promise.all(
        names.map((grant, i) =>
          team().create(grant, ref(name), { accounts: accounts(600_000_000_000 + i * 10, 3) }),
        ),
      );
      for (const grant of names) await team().waitForReason(grant, "Applied", 60_000);
      const burstPuts = (await puts(name)) - before;
      t.diagnostic(`${String(burstPuts)} puts for 40 grants`);
      assert.ok(burstPuts <= 3, `at most 3 puts, not ${String(burstPuts)}`);
      for (const grant of names) {
        await waitFor(`the watch saw ${grant} Ready`, () =>
          Promise.resolve(watch.untilReady(grant) !== undefined),
        );
        assert.ok((watch.untilReady(grant) ?? 0) <= 2, `${grant}: at most 2 writes`);
      }
      assert.equal((await grantedAccounts(env, name)).length, 120);
    } finally {
      watch.stop();
    }
  });

  test("drift checks that find nothing write nothing to the grants", async () => {
    const name = unique("quiet");
    await sharedPolicy(name);
    const watch = await team().watchWrites();
    try {
      await team().create(name, ref(name), { accounts: ["444455556666"] });
      await team().waitForReason(name, "Applied");
      await waitFor("the watch saw it Ready", () =>
        Promise.resolve(watch.untilReady(name) !== undefined),
      );
      const writes = watch.total();
      const sweeps = () => controller.metric("log_destination_policy_drift_sweeps_total");
      const before = await sweeps();
      await waitFor("two more drift sweeps", async () => (await sweeps()) >= before + 2, 30_000);
      await team().waitForReason(name, "Applied");
      assert.equal(watch.total(), writes, "no grant write after Ready");
    } finally {
      watch.stop();
    }
  });
});
