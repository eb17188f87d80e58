// Status says Applied only when AWS holds what the object asks for, whatever
// path led there (record.ts states the rule). One row per path through mode,
// driftPolicy, suspend, ownership and another object's deletion policy; each
// ends with the change that used to trust a stale record. The world keeps
// state: the API server applies the controller's patches and AWS holds what
// was put, so every Ready=True Applied the controller writes is checked against
// AWS at the moment it is written.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { canonicalJson, policiesEqual } from "../../src/policy/index.ts";
import { StatefulWorld } from "./fakes/cluster.ts";
import { GOOD, grant, OTHER, policyObject, REGION } from "./fakes/objects.ts";

const A = "ns/a";
const B = "ns/b";
/** Another object's policy. */
const THIRD = grant("333333333333");
const OWN = "123456789012";
const OWN_ROLE = `arn:aws:iam::${OWN}:role/writer`;
const D = `${OWN}/${REGION}/d`;

const older = "2024-01-01T00:00:00Z";
const newer = "2025-06-01T00:00:00Z";
const objectA = (spec: Record<string, unknown> = {}) =>
  policyObject("a", spec, { creationTimestamp: "2025-01-01T00:00:00Z" });
const objectB = (spec: Record<string, unknown> = {}, createdAt = newer) =>
  policyObject("b", { accessPolicy: THIRD, ...spec }, { creationTimestamp: createdAt });

/** Someone with console access writes the destination. */
const consoleWrites = (w: StatefulWorld, policy = OTHER) => {
  w.aws.policies.set(D, canonicalJson(policy));
};

/** B is created, and has put its policy by the time this resolves. */
async function bTakesD(w: StatefulWorld, spec: Record<string, unknown> = {}, createdAt = newer) {
  w.cluster.create(objectB(spec, createdAt));
  await w.until(B, "Applied");
}

/** B is deleted and gone (a Revoke runs its revoke first). */
async function bGoes(w: StatefulWorld) {
  w.cluster.delete(B);
  await w.settle();
  for (let i = 0; w.cluster.objects.has(B) && i < 10; i++) await w.tick();
  assert.equal(w.cluster.objects.has(B), false, "B is gone");
}

interface Row {
  name: string;
  /** A's spec before the path. */
  spec?: Record<string, unknown>;
  /** What happens between A's first Applied (or InSync) and the final change. */
  path: (w: StatefulWorld) => Promise<void>;
  /** The change after which A must not report Applied without reading or writing AWS. */
  last: Record<string, unknown> | ((w: StatefulWorld) => Promise<void>);
  /** False for the control row: nothing was seen, so the record stands and no call is needed. */
  looks?: boolean;
  /** How A ends, and what AWS holds then; by default Applied, with A's policy. */
  ends?: { reason: string; holds: typeof GOOD };
}

const rows: Row[] = [
  {
    name: "drift seen under driftPolicy Report, then driftPolicy Correct",
    spec: { driftPolicy: "Report" },
    path: async (w) => {
      consoleWrites(w);
      await w.until(A, "Drifted");
    },
    last: { driftPolicy: "Correct" },
  },
  {
    name: "drift seen under driftPolicy Report, a controller restart, then driftPolicy Correct",
    spec: { driftPolicy: "Report" },
    path: async (w) => {
      consoleWrites(w);
      await w.until(A, "Drifted");
      await w.restart();
    },
    last: { driftPolicy: "Correct" },
  },
  {
    name: "a difference seen in Observe mode (OutOfSync), then Enforce",
    path: async (w) => {
      w.cluster.edit(A, { mode: "Observe" });
      await w.until(A, "InSync");
      consoleWrites(w);
      await w.until(A, "OutOfSync");
    },
    last: { mode: "Enforce" },
  },
  {
    name: "Observe mode, another object takes the destination and is deleted with Retain, then Enforce",
    path: async (w) => {
      w.cluster.edit(A, { mode: "Observe" });
      await w.until(A, "InSync");
      await bTakesD(w);
      await bGoes(w);
    },
    last: { mode: "Enforce" },
  },
  {
    name: "Observe mode, another object takes the destination, is deleted with Retain, a restart, then Enforce",
    path: async (w) => {
      w.cluster.edit(A, { mode: "Observe" });
      await w.until(A, "InSync");
      await bTakesD(w);
      await bGoes(w);
      await w.restart();
    },
    last: { mode: "Enforce" },
  },
  {
    name: "Observe mode, another object takes the destination and revokes it on deletion, then Enforce",
    path: async (w) => {
      w.cluster.edit(A, { mode: "Observe" });
      await w.until(A, "InSync");
      await bTakesD(w, { deletionPolicy: "Revoke" });
      await bGoes(w);
    },
    last: { mode: "Enforce" },
  },
  {
    name: "Observe mode, then Enforce under driftPolicy Report, after another object wrote the destination",
    path: async (w) => {
      w.cluster.edit(A, { mode: "Observe" });
      await w.until(A, "InSync");
      await bTakesD(w);
      await bGoes(w);
      w.cluster.edit(A, { driftPolicy: "Report" });
      await w.settle();
    },
    last: { mode: "Enforce" },
    // What A applied was replaced: Report reports it and leaves it.
    ends: { reason: "Drifted", holds: THIRD },
  },
  {
    name: "suspended under driftPolicy Report while the console changes the policy, then resumed",
    spec: { driftPolicy: "Report" },
    path: async (w) => {
      w.cluster.edit(A, { suspend: true });
      await w.until(A, "Suspended");
      consoleWrites(w);
    },
    last: { suspend: false },
    ends: { reason: "Drifted", holds: OTHER },
  },
  {
    name: "drift seen under driftPolicy Report, then Observe, then Enforce with driftPolicy Correct",
    spec: { driftPolicy: "Report" },
    path: async (w) => {
      consoleWrites(w);
      await w.until(A, "Drifted");
      w.cluster.edit(A, { mode: "Observe" });
      await w.until(A, "OutOfSync");
    },
    last: { mode: "Enforce", driftPolicy: "Correct" },
  },
  {
    name: "a put that may have landed, then a change back to the policy of the record",
    path: async (w) => {
      w.aws.failPuts = true;
      w.cluster.edit(A, { accessPolicy: THIRD });
      await w.until(A, "ReconcileError");
      w.aws.failPuts = false;
    },
    last: { accessPolicy: GOOD },
  },
  {
    name: "suspended while the console changes the policy, then resumed",
    path: async (w) => {
      w.cluster.edit(A, { suspend: true });
      await w.until(A, "Suspended");
      consoleWrites(w);
    },
    last: { suspend: false },
  },
  {
    name: "an older object owns the destination for a while (Conflict), then goes with Retain",
    path: async (w) => {
      await bTakesD(w, {}, older);
      await w.until(A, "Conflict");
    },
    last: bGoes,
  },
  {
    name: "an older object whose role is in the controller's own account owns the destination, then goes with Retain",
    path: async (w) => {
      await bTakesD(w, { roleArn: OWN_ROLE }, older);
      await w.until(A, "Conflict");
    },
    last: bGoes,
  },
  {
    name: "nothing seen: Enforce, Observe in sync, Enforce again stands on the record",
    path: async (w) => {
      w.cluster.edit(A, { mode: "Observe" });
      await w.until(A, "InSync");
    },
    last: { mode: "Enforce" },
    looks: false,
  },
];

describe("status tells the truth whatever the path", () => {
  const worlds: StatefulWorld[] = [];
  after(async () => {
    await Promise.all(worlds.map((w) => w.stop()));
  });

  for (const row of rows) {
    test(row.name, async () => {
      const w = new StatefulWorld();
      worlds.push(w);
      w.aws.create(OWN, REGION, "d", "{}");
      // Every Applied the controller writes must be true of AWS at that moment.
      const lies: string[] = [];
      w.cluster.onStatus = (key, patch) => {
        const ready = (
          patch.conditions as { type: string; status: string; reason: string }[] | undefined
        )?.find((c) => c.type === "Ready");
        if (ready?.reason !== "Applied") return;
        const spec = w.cluster.objects.get(key)?.spec as { accessPolicy: unknown } | undefined;
        const held = w.aws.policies.get(D);
        if (!held || !policiesEqual(JSON.parse(held), spec?.accessPolicy))
          lies.push(`${key} Applied while AWS holds ${held ?? "nothing"}`);
      };
      w.cluster.create(objectA(row.spec));
      await w.until(A, "Applied");
      await row.path(w);
      const before = w.aws.calls.length;
      const last = row.last;
      if (typeof last === "function") await last(w);
      else w.cluster.edit(A, last);
      const ends = row.ends ?? { reason: "Applied", holds: GOOD };
      await w.until(A, ends.reason);
      const calls = w.aws.calls.slice(before);
      const looked = calls.some((c) => c === "put d" || c === "describe d" || c === "list d");
      assert.equal(looked, row.looks ?? true, `AWS calls after the change: ${calls.join(", ")}`);
      assert.deepEqual(lies, []);
      const held = JSON.parse(w.aws.policies.get(D) ?? "{}") as unknown;
      assert.ok(policiesEqual(held, ends.holds), "AWS holds the policy status speaks of");
    });
  }
});

describe("one destination, one identity", () => {
  test("a role-less object and one whose role is in the own account are one target: one writes, neither revokes the other's", async () => {
    const w = new StatefulWorld();
    try {
      w.aws.create(OWN, REGION, "d", "{}");
      w.cluster.create(objectA());
      await w.until(A, "Applied");
      const puts = w.aws.calls.filter((c) => c === "put d").length;
      w.cluster.create(objectB({ roleArn: OWN_ROLE, deletionPolicy: "Revoke" }, newer));
      await w.until(B, "Conflict");
      w.cluster.delete(B);
      await w.settle();
      assert.equal(w.cluster.objects.has(B), false);
      assert.equal(w.aws.calls.filter((c) => c === "put d").length, puts, "B wrote nothing");
      assert.ok(w.events.emitted.some((e) => e.key === B && e.reason === "RevokeSkipped"));
      assert.ok(policiesEqual(JSON.parse(w.aws.policies.get(D) ?? "{}"), GOOD));
    } finally {
      await w.stop();
    }
  });

  test("until the controller knows its own account it makes no AWS call", async () => {
    const w = new StatefulWorld();
    try {
      w.aws.own = undefined;
      w.aws.create(OWN, REGION, "d", "{}");
      w.cluster.create(objectA());
      await w.until(A, "AWSUnavailable");
      assert.deepEqual(
        w.aws.calls.filter((c) => c !== "account"),
        [],
      );
      w.aws.own = { partition: "aws", accountId: OWN };
      await w.until(A, "Applied");
    } finally {
      await w.stop();
    }
  });
});
