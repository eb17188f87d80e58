import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { conditionsFor, sameConditions } from "../../src/controller/conditions.ts";
import { OUTCOMES } from "../../src/controller/outcomes.ts";

const t0 = new Date("2026-01-01T00:00:00.000Z");
const t1 = new Date("2026-01-01T00:05:00.000Z");

describe("status conditions", () => {
  test("success gives Ready=True alone, without Reconciling or Stalled", () => {
    const c = conditionsFor([], { reason: "Applied", message: "ok" }, 3, t0);
    assert.deepEqual(
      c.map((x) => [x.type, x.status, x.reason, x.observedGeneration]),
      [["Ready", "True", "Applied", 3]],
    );
    assert.equal(c[0]?.lastTransitionTime, "2026-01-01T00:00:00Z");
  });

  test("a spec problem stalls and a transient AWS problem keeps reconciling", () => {
    const stalled = conditionsFor([], { reason: "InvalidSpec", message: "bad" }, 1, t0);
    assert.deepEqual(
      stalled.map((x) => [x.type, x.status]),
      [
        ["Ready", "False"],
        ["Stalled", "True"],
      ],
    );
    const retrying = conditionsFor([], { reason: "AWSUnavailable", message: "down" }, 1, t0);
    assert.deepEqual(
      retrying.map((x) => [x.type, x.status]),
      [
        ["Ready", "False"],
        ["Reconciling", "True"],
      ],
    );
  });

  test("lastTransitionTime moves only when the status changes", () => {
    const first = conditionsFor([], { reason: "AWSUnavailable", message: "down" }, 1, t0);
    const again = conditionsFor(first, { reason: "DestinationNotFound", message: "gone" }, 1, t1);
    assert.equal(again[0]?.lastTransitionTime, "2026-01-01T00:00:00Z", "Ready stayed False");
    const ready = conditionsFor(again, { reason: "Applied", message: "ok" }, 1, t1);
    assert.equal(ready[0]?.lastTransitionTime, "2026-01-01T00:05:00Z");
    assert.equal(ready.length, 1, "Reconciling is removed once False");
  });

  test("the same outcome twice yields identical conditions, so no status write is needed", () => {
    const a = conditionsFor([], { reason: "Applied", message: "ok" }, 2, t0);
    const b = conditionsFor(a, { reason: "Applied", message: "ok" }, 2, t1);
    assert.ok(sameConditions(a, b));
    assert.ok(!sameConditions(a, conditionsFor(a, { reason: "Applied", message: "ok" }, 3, t1)));
  });

  test("conditions of other types are kept", () => {
    const other = {
      type: "Custom",
      status: "True" as const,
      reason: "X",
      message: "",
      lastTransitionTime: "2025-01-01T00:00:00Z",
    };
    const c = conditionsFor([other], { reason: "Applied", message: "ok" }, 1, t0);
    assert.deepEqual(
      c.map((x) => x.type),
      ["Ready", "Custom"],
    );
  });

  test("every declared outcome settles as one state, and only retrying outcomes back off", () => {
    for (const [reason, rule] of Object.entries(OUTCOMES)) {
      const states = [rule.stalled, rule.reconciling, rule.ready === "True"].filter(Boolean).length;
      assert.equal(states, 1, `${reason} settles as exactly one of Ready, Stalled or Reconciling`);
      assert.equal(
        rule.requeue === "backoff",
        rule.reconciling,
        `${reason} backs off exactly when it keeps reconciling`,
      );
      // A stalled outcome is only looked at again when AWS (or its DNS) itself may clear it.
      if (rule.stalled && !["OutOfSync", "Drifted", "RegionUnreachable"].includes(reason))
        assert.equal(rule.requeue, "none", `${reason} waits for a spec change`);
    }
  });
});
