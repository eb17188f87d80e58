// A chaos soak for shared destinations: grants are created, changed and deleted
// at random across two teams and three destinations, with throttling,
// unavailability, dropped connections and latency injected into
// PutDestinationPolicy along the way and a controller restart halfway, and without
// waiting for the controller between steps. At the end every grant and policy
// must settle, and AWS must hold exactly the document the merge makes of the
// grants that are left. A second run churns big grants on one destination near
// its 5,120 bytes, where the end state depends on history: there each grant ends
// Applied or waiting only for want of room, and AWS holds exactly the principals
// the grants hold. The run is reproducible: its seed is printed, and
// LDPC_SOAK_SEED replays one.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { GRANT_FINALIZER } from "../../src/api/names.ts";
import { mergeGrants } from "../../src/policy/merge.ts";
import { ownerlessPolicy, sendablePolicy } from "../../src/policy/ownerless.ts";
import type { PolicyDocument } from "../../src/policy/types.ts";
import { createDestination, storedPolicy } from "../support/aws.ts";
import type { LogDestinationGrant } from "../../src/api/grant.ts";
import { accounts, destinationArn, grantedAccounts, Grants } from "../support/grants.ts";
import { samplePolicy, TEST_NAMESPACE_LABEL, waitFor } from "../support/policies.ts";
import { suite, unique } from "../support/setup.ts";

const STEPS = 120;
const PUT = "PutDestinationPolicy";
const ACTION = "logs:PutSubscriptionFilter";

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Living {
  team: Grants;
  name: string;
  policy: string;
  accounts: string[];
}

describe("grants chaos soak", () => {
  const { env, namespaces, controller, startAgain } = suite(
    ["soak-owner", "soak-team-a", "soak-team-b"],
    [],
    {
      clearsFaults: true,
    },
  );
  const [owner, a, b] = namespaces;

  test("grants created, changed and deleted at random while AWS fails and the controller restarts all settle, and AWS holds exactly the merged document", async (t) => {
    const seed = Number(process.env.LDPC_SOAK_SEED ?? Date.now() % 2 ** 31);
    t.diagnostic(`seed ${String(seed)} (replay with LDPC_SOAK_SEED=${String(seed)})`);
    const random = generator(seed);
    const pick = <T>(list: readonly T[]): T => {
      const item = list[Math.floor(random() * list.length)];
      if (item === undefined) throw new Error("pick from an empty list");
      return item;
    };
    const teams = [
      new Grants(env.kubeConfig, a.namespace),
      new Grants(env.kubeConfig, b.namespace),
    ];
    const pool = accounts(810_000_000_000, 30);
    const someAccounts = () => {
      const count = 1 + Math.floor(random() * 4);
      return [...new Set(Array.from({ length: count }, () => pick(pool)))];
    };

    // Three destinations: two made of grants alone, one with the owner's own statement too.
    const policies = [unique("soak-x"), unique("soak-y"), unique("soak-z")];
    const ownerDocuments = new Map<string, PolicyDocument>();
    for (const [i, name] of policies.entries()) {
      await createDestination(env, name);
      const own = i === 2 ? (samplePolicy(name) as PolicyDocument) : undefined;
      if (own) ownerDocuments.set(name, own);
      await owner.create(name, {
        destinationName: name,
        grants: {
          from: { namespaceSelector: { matchLabels: { [TEST_NAMESPACE_LABEL]: "true" } } },
        },
        ...(own ? { accessPolicy: own } : {}),
      });
    }

    const living = new Map<string, Living>();
    const deleted: { team: Grants; name: string }[] = [];
    const counts = { created: 0, changed: 0, deleted: 0, faults: 0, refusedCreates: 0 };
    let serial = 0;
    for (let step = 0; step < STEPS; step++) {
      if (step === STEPS / 2) {
        // Halfway, the controller restarts, with whatever it had in flight.
        assert.equal(await controller.stop(), 0);
        await startAgain();
      }
      const roll = random();
      if (roll < 0.5 || living.size === 0) {
        const team = pick(teams);
        // Now and then a name just deleted comes back while its removal may still be under way.
        const gone = deleted.filter((d) => d.team === team);
        const reused = gone.length > 0 && random() < 0.2 ? pick(gone) : undefined;
        const name = reused?.name ?? `g${String(++serial)}`;
        const policy = pick(policies);
        const list = someAccounts();
        try {
          await team.create(name, { namespace: owner.namespace, name: policy }, { accounts: list });
          living.set(`${team.namespace}/${name}`, { team, name, policy, accounts: list });
          counts.created++;
        } catch (error) {
          // The old object still holds its finalizer: AlreadyExists, as for any user.
          if ((error as { code?: number }).code !== 409) throw error;
          counts.refusedCreates++;
        }
      } else if (roll < 0.7) {
        const grant = pick([...living.values()]);
        grant.accounts = someAccounts();
        await grant.team.patchPrincipals(grant.name, { accounts: grant.accounts });
        counts.changed++;
      } else if (roll < 0.9) {
        const grant = pick([...living.values()]);
        await grant.team.delete(grant.name);
        living.delete(`${grant.team.namespace}/${grant.name}`);
        deleted.push({ team: grant.team, name: grant.name });
        counts.deleted++;
      } else {
        await env.proxy.inject({
          operation: PUT,
          fault: pick([
            { kind: "error", name: "ThrottlingException" },
            { kind: "error", name: "ServiceUnavailableException" },
            { kind: "error", name: "OperationAbortedException" },
            { kind: "drop" },
            { kind: "latency", ms: 300 },
          ] as const),
          count: 1 + Math.floor(random() * 4),
          destination: pick(policies),
        });
        counts.faults++;
      }
    }
    t.diagnostic(JSON.stringify(counts));
    await env.proxy.clearFaults();

    // Every deleted grant goes, unless a grant of the same name was created again.
    for (const { team, name } of deleted) {
      if (living.has(`${team.namespace}/${name}`)) continue;
      await team.waitUntilGone(name, 120_000);
    }
    for (const grant of living.values()) {
      const settled = await grant.team.waitForReason(grant.name, "Applied", 120_000);
      assert.deepEqual(
        [...(settled.status?.applied?.accounts ?? [])].sort(),
        [...grant.accounts].sort(),
        `${grant.name}: status.applied names what its spec asks for`,
      );
      assert.ok(
        settled.metadata.finalizers?.includes(GRANT_FINALIZER),
        `${grant.name} holds its finalizer`,
      );
    }
    for (const name of policies) {
      const mine = [...living.values()].filter((g) => g.policy === name);
      await owner.waitForReason(name, "Applied", 60_000);
      await waitFor(
        `${name} counts its ${String(mine.length)} grants`,
        async () => {
          const counted = (await owner.get(name)).status?.grants;
          return (
            counted?.accepted === mine.length && counted.waiting === 0 && counted.refused === 0
          );
        },
        30_000,
      );
      const result = mergeGrants({
        resource: destinationArn(env, name),
        actions: [ACTION],
        owner: ownerDocuments.get(name),
        grants: mine.map((g, i) => ({
          namespace: g.team.namespace,
          name: g.name,
          createdAt: i,
          desired: { accounts: g.accounts, organizationIds: [], organizationPaths: [] },
        })),
        forceUpdate: false,
      });
      const expected =
        (Array.isArray(result.document.Statement) ? result.document.Statement.length : 1) > 0
          ? result.canonical
          : sendablePolicy(ownerlessPolicy()).canonical;
      await waitFor(
        `AWS holds exactly the merged document of ${name}`,
        async () => (await storedPolicy(env, name)) === expected,
        30_000,
        () => `expected ${expected}`,
      );
    }
  });

  test("grants churned on a destination near its size limit end either Applied or waiting, and AWS holds exactly what the Applied and kept ones name", async (t) => {
    const seed = Number(process.env.LDPC_SOAK_SEED ?? Date.now() % 2 ** 31) + 1;
    t.diagnostic(`seed ${String(seed)} (replay with LDPC_SOAK_SEED=${String(seed - 1)})`);
    const random = generator(seed);
    const pick = <T>(list: readonly T[]): T => {
      const item = list[Math.floor(random() * list.length)];
      if (item === undefined) throw new Error("pick from an empty list");
      return item;
    };
    const teams = [
      new Grants(env.kubeConfig, a.namespace),
      new Grants(env.kubeConfig, b.namespace),
    ];
    // Blocks of accounts, so grants overlap now and then; about six blocks fill the destination.
    const blocks = Array.from({ length: 12 }, (_, i) => accounts(820_000_000_000 + i * 1000, 50));
    const someAccounts = () => [...new Set([...pick(blocks), ...pick(blocks).slice(0, 10)])];
    const name = unique("soak-full");
    await createDestination(env, name);
    await owner.create(name, {
      destinationName: name,
      grants: { from: { namespaceSelector: { matchLabels: { [TEST_NAMESPACE_LABEL]: "true" } } } },
    });
    const living = new Map<string, Living>();
    let serial = 0;
    for (let step = 0; step < 40; step++) {
      const roll = random();
      if (roll < 0.5 || living.size === 0) {
        const team = pick(teams);
        const grant = `full-${String(++serial)}`;
        const list = someAccounts();
        await team.create(grant, { namespace: owner.namespace, name }, { accounts: list });
        living.set(`${team.namespace}/${grant}`, {
          team,
          name: grant,
          policy: name,
          accounts: list,
        });
      } else if (roll < 0.7) {
        const grant = pick([...living.values()]);
        grant.accounts = someAccounts();
        await grant.team.patchPrincipals(grant.name, { accounts: grant.accounts });
      } else if (roll < 0.9) {
        const grant = pick([...living.values()]);
        await grant.team.delete(grant.name);
        living.delete(`${grant.team.namespace}/${grant.name}`);
      } else {
        await env.proxy.inject({
          operation: PUT,
          fault: { kind: "error", name: "ThrottlingException" },
          count: 1 + Math.floor(random() * 3),
          destination: name,
        });
      }
    }
    await env.proxy.clearFaults();

    // Settled: every grant is Applied or waits for room, for its latest generation.
    const settled = new Map<string, LogDestinationGrant>();
    for (const [key, grant] of living) {
      await waitFor(
        `${key} settled`,
        async () => {
          const obj = await grant.team.get(grant.name);
          const ready = grant.team.condition(obj, "Ready");
          const done =
            (ready?.reason === "Applied" || ready?.reason === "PolicySizeExceeded") &&
            ready.observedGeneration === obj.metadata.generation;
          if (done) settled.set(key, obj);
          return done;
        },
        120_000,
      );
    }
    const applied = [...living].filter(
      ([key]) =>
        settled.get(key)?.status?.conditions?.find((c) => c.type === "Ready")?.reason === "Applied",
    );
    const waiting = living.size - applied.length;
    t.diagnostic(`${String(applied.length)} Applied, ${String(waiting)} waiting for room`);
    await waitFor(`${name} counts its grants`, async () => {
      const counted = (await owner.get(name)).status?.grants;
      return counted?.accepted === applied.length && counted.waiting === waiting;
    });
    // AWS holds the union of what every grant holds: an Applied grant its spec, a waiting one what it kept.
    const held = new Set<string>();
    for (const [key, grant] of living) {
      const obj = settled.get(key);
      const reason = obj?.status?.conditions?.find((c) => c.type === "Ready")?.reason;
      const kept = obj?.status?.applied?.accounts ?? [];
      if (reason === "Applied") {
        assert.deepEqual([...kept].sort(), [...grant.accounts].sort(), `${key} applied its spec`);
      }
      for (const account of kept) held.add(account);
    }
    await waitFor("AWS holds exactly what the grants hold", async () => {
      const live = await grantedAccounts(env, name);
      return live.join() === [...held].sort().join();
    });
    assert.ok(Buffer.byteLength((await storedPolicy(env, name)) ?? "", "utf8") <= 5120);
    // And no grant waits while there is room for it: with what the others hold, it does not fit.
    for (const [key, grant] of living) {
      if (applied.some(([k]) => k === key)) continue;
      const others = new Set<string>();
      for (const [otherKey] of living) {
        if (otherKey === key) continue;
        for (const account of settled.get(otherKey)?.status?.applied?.accounts ?? [])
          others.add(account);
      }
      const result = mergeGrants({
        resource: destinationArn(env, name),
        actions: [ACTION],
        grants: [
          {
            namespace: "a",
            name: "others",
            createdAt: 0,
            desired: { accounts: [...others], organizationIds: [], organizationPaths: [] },
          },
          {
            namespace: "b",
            name: "it",
            createdAt: 1,
            desired: { accounts: grant.accounts, organizationIds: [], organizationPaths: [] },
          },
        ],
        forceUpdate: false,
      });
      assert.equal(
        result.verdicts.get("b/it")?.state,
        "Waiting",
        `${key} waits only for want of room`,
      );
    }
  });
});
