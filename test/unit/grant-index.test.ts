// Which policy a grant's event reconciles: the policy it names, before and
// after, and never a grant key, so a destination's writes stay with its policy.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { LogDestinationGrant } from "../../src/api/grant.ts";
import { GrantIndex, policyKeyOfGrant } from "../../src/controller/grant-index.ts";

function grant(namespace: string, name: string, policyRef: unknown): LogDestinationGrant {
  return {
    metadata: { namespace, name, uid: `${namespace}-${name}` },
    spec: { policyRef, principals: { accounts: ["444455556666"] } },
  };
}

describe("the policy a grant names", () => {
  const rows: { name: string; ref: unknown; key: string | undefined }[] = [
    {
      name: "a reference with a namespace names that namespace's policy",
      ref: { namespace: "logging", name: "central" },
      key: "logging/central",
    },
    {
      name: "a reference without a namespace names the grant's own namespace",
      ref: { name: "central" },
      key: "payments/central",
    },
    {
      name: "a reference without a name names nothing",
      ref: { namespace: "logging" },
      key: undefined,
    },
    {
      name: "a reference that is not an object names nothing",
      ref: "logging/central",
      key: undefined,
    },
  ];
  for (const row of rows) {
    test(row.name, () => {
      assert.equal(policyKeyOfGrant(grant("payments", "senders", row.ref)), row.key);
    });
  }
});

describe("the grant index", () => {
  test("two teams' grants are listed under the policy they both name, in a fixed order", () => {
    const index = new GrantIndex();
    assert.deepEqual(
      index.set(grant("shipping", "senders", { namespace: "logging", name: "central" })),
      ["logging/central"],
    );
    assert.deepEqual(
      index.set(grant("payments", "senders", { namespace: "logging", name: "central" })),
      ["logging/central"],
    );
    assert.deepEqual(index.grantsOf("logging/central"), ["payments/senders", "shipping/senders"]);
  });

  test("a grant that moves to another policy reconciles the one it left and the one it joined", () => {
    const index = new GrantIndex();
    index.set(grant("payments", "senders", { namespace: "logging", name: "central" }));
    const keys = index.set(grant("payments", "senders", { namespace: "logging", name: "audit" }));
    assert.deepEqual(keys, ["logging/central", "logging/audit"]);
    assert.deepEqual(index.grantsOf("logging/central"), []);
    assert.deepEqual(index.grantsOf("logging/audit"), ["payments/senders"]);
  });

  test("an unchanged grant reconciles its policy once", () => {
    const index = new GrantIndex();
    const g = grant("payments", "senders", { namespace: "logging", name: "central" });
    index.set(g);
    assert.deepEqual(index.set(g), ["logging/central"]);
  });

  test("a deleted grant reconciles the policy it named, and is forgotten", () => {
    const index = new GrantIndex();
    const g = grant("payments", "senders", { namespace: "logging", name: "central" });
    index.set(g);
    assert.deepEqual(index.delete(g), ["logging/central"]);
    assert.deepEqual(index.grantsOf("logging/central"), []);
    assert.equal(index.size, 0);
    assert.deepEqual(index.delete(g), []);
  });

  test("a grant that names no policy reconciles nothing, and stops naming the one it named", () => {
    const index = new GrantIndex();
    index.set(grant("payments", "senders", { namespace: "logging", name: "central" }));
    assert.deepEqual(index.set(grant("payments", "senders", {})), ["logging/central"]);
    assert.deepEqual(index.grantsOf("logging/central"), []);
  });
});
