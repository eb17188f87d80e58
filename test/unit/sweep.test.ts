import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { AwsTarget, LiveDestination } from "../../src/aws/destinations.ts";
import { canonicalJson, policyHash } from "../../src/policy/index.ts";
import { commonPrefix, settled } from "../../src/controller/sweep-match.ts";
import {
  DriftSweeper,
  FAILED_SWEEP_RETRY_MS,
  FIRST_SWEEP_DELAY_MS,
  type SweepMember,
  type SweepResult,
  type SweptAnswer,
} from "../../src/controller/sweep.ts";
import { FakeClock } from "./fakes/clock.ts";
import { grant } from "./fakes/objects.ts";

const GOOD = grant("111111111111");
const TAMPERED = grant("999999999999");
const GOOD_HASH = policyHash(GOOD);
const TAMPERED_HASH = policyHash(TAMPERED);

/** A fake DescribeDestinations: pages of 50, sorted by name, narrowed by prefix. */
class FakeAccount {
  readonly destinations = new Map<string, string | undefined>();
  readonly calls: { target: AwsTarget; prefix: string }[] = [];
  fail: Error | undefined;

  list = (
    target: AwsTarget,
    prefix: string,
    onPage: (page: LiveDestination[]) => void,
  ): Promise<number> => {
    this.calls.push({ target, prefix });
    if (this.fail) return Promise.reject(this.fail);
    const names = [...this.destinations.keys()].filter((n) => n.startsWith(prefix)).sort();
    let pages = 0;
    for (let i = 0; i < names.length || pages === 0; i += 50) {
      pages++;
      onPage(
        names.slice(i, i + 50).map((destinationName) => {
          const accessPolicy = this.destinations.get(destinationName);
          return { destinationName, ...(accessPolicy ? { accessPolicy } : {}) };
        }),
      );
    }
    return Promise.resolve(pages);
  };
}

/** A member whose applied policy is GOOD and whose live policy matched it. */
const member = (i: number, extra: Partial<SweepMember> = {}): SweepMember => ({
  key: `ns/p${i}`,
  uid: `uid-${i}`,
  region: "us-east-1",
  destinationName: `team-a-d${i}`,
  intervalMs: 600_000,
  desiredHash: GOOD_HASH,
  liveHash: GOOD_HASH,
  expectEqual: true,
  arn: undefined,
  ...extra,
});

/** The one member the settled() tests look at. */
const single = (extra: Partial<SweepMember> = {}) =>
  member(0, { key: "ns/p", uid: "u", destinationName: "d", intervalMs: 1, ...extra });

function harness() {
  const account = new FakeAccount();
  const clock = new FakeClock();
  const changed: [string, SweptAnswer][] = [];
  const reads = new Map<string, number>();
  const results: SweepResult[] = [];
  let resolveDone: () => void = () => undefined;
  let done = new Promise<void>((r) => (resolveDone = r));
  const sweeper = new DriftSweeper({
    list: account.list,
    changed: (key, answer) => changed.push([key, answer]),
    read: (uid, at) => reads.set(uid, at),
    done: (result) => {
      results.push(result);
      resolveDone();
      done = new Promise<void>((r) => (resolveDone = r));
    },
    now: clock.now,
    schedule: clock.schedule,
  });
  return {
    account,
    clock,
    changed,
    reads,
    results,
    sweeper,
    member,
    sweep: () => clock.next(done),
  };
}

describe("drift sweeps", () => {
  test("one sweep reads a region's destinations in pages of 50 and writes nothing when nothing changed", async () => {
    const h = harness();
    for (let i = 0; i < 1000; i++) {
      h.account.destinations.set(`team-a-d${i}`, canonicalJson(GOOD));
      h.sweeper.set(h.member(i));
    }
    await h.sweep();
    assert.equal(h.account.calls.length, 1, "one sweep");
    const [result] = h.results;
    assert.ok(result);
    assert.equal(result.reads, 20, "N/50 pages");
    assert.equal(result.members, 1000);
    assert.equal(h.account.calls[0]?.prefix, "team-a-d", "narrowed to the names' shared prefix");
    assert.deepEqual(h.changed, [], "nothing handed back to the queue");
    assert.equal(h.reads.size, 1000, "every covered object counts as read");
  });

  test("only the object whose live policy changed, or whose destination is gone, is handed back, with what was read", async () => {
    const h = harness();
    for (let i = 0; i < 120; i++) {
      h.account.destinations.set(`team-a-d${i}`, canonicalJson(GOOD));
      h.sweeper.set(h.member(i));
    }
    h.account.destinations.set("team-a-d7", canonicalJson(TAMPERED));
    h.account.destinations.delete("team-a-d99");
    await h.sweep();
    assert.deepEqual(
      h.changed.map(([key, answer]) => [key, answer.live?.accessPolicy]),
      [
        ["ns/p7", canonicalJson(TAMPERED)],
        ["ns/p99", undefined],
      ],
    );
    // Handed back once: until its reconcile registers it again, later sweeps leave it alone.
    assert.equal(h.sweeper.has("ns/p7"), false);
    assert.equal(h.sweeper.has("ns/p8"), true);
    await h.sweep();
    assert.equal(h.changed.length, 2);
  });

  test("a reported drift stays quiet until the live policy changes again or is put right", () => {
    const drifted = single({ liveHash: TAMPERED_HASH, expectEqual: false });
    const live = (p: object) => ({ destinationName: "d", accessPolicy: canonicalJson(p) });
    assert.equal(settled(drifted, live(TAMPERED)), true);
    assert.equal(settled(drifted, live(grant("222222222222"))), false);
    assert.equal(settled(drifted, live(GOOD)), false);
    assert.equal(settled(drifted, undefined), false);
    const applied = { ...drifted, liveHash: undefined, expectEqual: true };
    // Semantically equal, whatever the formatting AWS returns.
    assert.equal(
      settled(applied, { destinationName: "d", accessPolicy: JSON.stringify(GOOD, null, 2) }),
      true,
    );
    assert.equal(settled(applied, live(TAMPERED)), false);
  });

  test("an ARN status does not show yet is worth one status write, and then no more", () => {
    const member = single();
    const arn = "arn:aws:logs:us-east-1:123456789012:destination:d";
    const live = { destinationName: "d", arn, accessPolicy: canonicalJson(GOOD) };
    assert.equal(settled(member, live), false);
    assert.equal(settled({ ...member, arn }, live), true);
  });

  test("each region and role has its own sweep, and a role's sweep assumes that role", async () => {
    const h = harness();
    const role = "arn:aws:iam::210987654321:role/central";
    h.account.destinations.set("x", canonicalJson(GOOD));
    h.sweeper.set(h.member(1, { destinationName: "x" }));
    h.sweeper.set(h.member(2, { destinationName: "x", region: "eu-west-1" }));
    h.sweeper.set(h.member(3, { destinationName: "x", roleArn: role }));
    await h.sweep();
    await h.sweep();
    await h.sweep();
    const targets = h.account.calls.map((c) => `${c.target.region} ${c.target.roleArn ?? "-"}`);
    assert.deepEqual(targets.sort(), ["eu-west-1 -", "us-east-1 -", `us-east-1 ${role}`].sort());
    assert.ok(h.account.calls.find((c) => c.target.roleArn === role)?.target.sessionName);
  });

  test("a role's objects are swept per namespace, tagged with it, so a trust policy bound to a namespace admits the sweep", async () => {
    const h = harness();
    const role = "arn:aws:iam::210987654321:role/central";
    h.account.destinations.set("x", canonicalJson(GOOD));
    h.sweeper.set(h.member(1, { key: "team-a/p1", destinationName: "x", roleArn: role }));
    h.sweeper.set(h.member(2, { key: "team-a/p2", destinationName: "x", roleArn: role }));
    h.sweeper.set(h.member(3, { key: "team-b/p3", destinationName: "x", roleArn: role }));
    h.sweeper.set(h.member(4, { key: "team-a/p4", destinationName: "x" }));
    h.sweeper.set(h.member(5, { key: "team-b/p5", destinationName: "x" }));
    await h.sweep();
    await h.sweep();
    await h.sweep();
    assert.equal(h.clock.pending().filter((t) => t.at <= h.clock.now()).length, 0);
    const sessions = h.account.calls
      .map((c) => [c.target.sessionName ?? "-", JSON.stringify(c.target.sessionTags ?? {})])
      .sort();
    assert.deepEqual(sessions, [
      ["-", "{}"],
      ["ldp-team-a+drift-sweep", JSON.stringify({ "ldpc-namespace": "team-a" })],
      ["ldp-team-b+drift-sweep", JSON.stringify({ "ldpc-namespace": "team-b" })],
    ]);
  });

  test("a group sweeps soon after it forms, then at its members' least interval", async () => {
    const h = harness();
    h.account.destinations.set("team-a-d1", canonicalJson(GOOD));
    h.account.destinations.set("team-a-d2", canonicalJson(GOOD));
    h.sweeper.set(h.member(1, { intervalMs: 600_000 }));
    h.sweeper.set(h.member(2, { intervalMs: 120_000 }));
    assert.equal(h.clock.pending()[0]?.at, FIRST_SWEEP_DELAY_MS);
    await h.sweep();
    const next = (h.clock.pending()[0]?.at ?? 0) - h.clock.now();
    assert.ok(next >= 120_000 * 0.9 && next <= 120_000 * 1.1, `next sweep in ${next} ms`);
  });

  test("an object changed or deleted before the sweep is neither read for nor handed back", async () => {
    const h = harness();
    h.sweeper.set(h.member(1));
    h.sweeper.set(h.member(2));
    h.sweeper.delete("ns/p1");
    await h.sweep();
    assert.deepEqual(
      h.changed.map(([k]) => k),
      ["ns/p2"],
    );
    h.sweeper.delete("ns/p2");
    assert.equal(h.clock.pending().length, 0, "a group with no members sweeps no more");
  });

  test("a failed sweep hands nothing back and is tried again within a minute", async () => {
    const h = harness();
    h.sweeper.set(h.member(1));
    h.account.fail = new Error("AccessDenied");
    await h.sweep();
    assert.deepEqual(h.changed, []);
    assert.ok(h.results[0]?.error);
    const next = (h.clock.pending()[0]?.at ?? 0) - h.clock.now();
    assert.ok(next <= FAILED_SWEEP_RETRY_MS * 1.1, `retried in ${next} ms`);
  });

  test("an interval of 0 keeps an object out of sweeps", () => {
    const h = harness();
    h.sweeper.set(h.member(1, { intervalMs: 0 }));
    assert.equal(h.sweeper.size, 0);
    assert.equal(h.clock.pending().length, 0);
  });

  test("the shared prefix of destination names", () => {
    assert.equal(commonPrefix(["team-a-1", "team-a-2", "team-a-10"]), "team-a-");
    assert.equal(commonPrefix(["a", "b"]), "");
    assert.equal(commonPrefix(["only"]), "only");
    assert.equal(commonPrefix([]), "");
  });
});

describe("one object's short interval", () => {
  /** Runs an hour of sweeps with 100 objects at the batch interval and one at the floor. */
  async function hour(batched: boolean) {
    const account = new FakeAccount();
    const clock = new FakeClock();
    const described: string[] = [];
    const reads = new Map<string, number[]>();
    const sweeper = new DriftSweeper({
      list: account.list,
      ...(batched
        ? {
            describe: (_target: AwsTarget, name: string) => {
              described.push(name);
              const accessPolicy = account.destinations.get(name);
              return Promise.resolve({
                destinationName: name,
                ...(accessPolicy ? { accessPolicy } : {}),
              });
            },
            batchIntervalMs: 600_000,
          }
        : {}),
      changed: () => assert.fail("nothing changed"),
      read: (uid, at) => reads.set(uid, [...(reads.get(uid) ?? []), at]),
      done: () => undefined,
      now: clock.now,
      schedule: clock.schedule,
    });
    for (let i = 0; i < 100; i++) {
      account.destinations.set(`team-a-d${String(i)}`, canonicalJson(GOOD));
      sweeper.set(member(i, { intervalMs: i === 0 ? 60_000 : 600_000 }));
    }
    while ((clock.pending()[0]?.at ?? Infinity) <= 3_600_000) {
      await clock.next();
      await new Promise((r) => setImmediate(r));
    }
    sweeper.stop();
    return { lists: account.calls.length, described, reads };
  }

  test("raises only its own reads: its region is listed at the batch interval, and it is read on its own", async () => {
    const before = await hour(false);
    const after = await hour(true);
    assert.ok(
      before.lists >= 55,
      `without reads on their own: ${String(before.lists)} listings an hour`,
    );
    assert.ok(after.lists <= 7, `${String(after.lists)} listings an hour`);
    assert.ok(after.described.length >= 50 && after.described.length <= 70);
    assert.deepEqual(new Set(after.described), new Set(["team-a-d0"]), "only its own destination");
    const own = after.reads.get("uid-0") ?? [];
    const gaps = own.slice(1).map((t, i) => t - (own[i] ?? 0));
    assert.ok(Math.max(...gaps) <= 66_000, "it is still read at its own interval");
    assert.ok((after.reads.get("uid-1")?.length ?? 0) <= 7, "the others are read at theirs");
  });

  test("a read on its own that finds a change hands the object back, and reads it no more", async () => {
    const account = new FakeAccount();
    const clock = new FakeClock();
    const changed: string[] = [];
    const sweeper = new DriftSweeper({
      list: account.list,
      describe: (_t, name) =>
        Promise.resolve({ destinationName: name, accessPolicy: canonicalJson(TAMPERED) }),
      batchIntervalMs: 600_000,
      changed: (key) => changed.push(key),
      read: () => undefined,
      done: () => undefined,
      now: clock.now,
      schedule: clock.schedule,
    });
    sweeper.set(member(0, { intervalMs: 60_000 }));
    sweeper.set(member(1));
    // The group's first sweep finds both as they were; the object's own read then finds the change.
    account.destinations.set("team-a-d0", canonicalJson(GOOD));
    account.destinations.set("team-a-d1", canonicalJson(GOOD));
    await clock.next();
    await new Promise((r) => setImmediate(r));
    await clock.next();
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(changed, ["ns/p0"]);
    assert.equal(sweeper.has("ns/p0"), false);
    assert.ok(
      clock.pending().every((t) => t.delayMs >= 500_000),
      "only the group's next sweep is planned",
    );
  });
});
