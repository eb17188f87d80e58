// Which grants of a policy may contribute principals, before room is counted:
// the grant's spec, the owner's consent and the bindings of the grant's namespace.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { LogDestinationGrant } from "../../src/api/grant.ts";
import type { LogDestinationPolicySpec } from "../../src/api/v1alpha1.ts";
import { checkSpec } from "../../src/api/spec-check.ts";
import { judgeGrants } from "../../src/tenancy/grant-verdicts.ts";
import type { Permission, PermissionRequest } from "../../src/tenancy/index.ts";

const target = {
  destinationName: "central-logs",
  region: "eu-west-1",
  resource: "arn:aws:logs:eu-west-1:111122223333:destination:central-logs",
  actions: ["logs:PutSubscriptionFilter"],
};
const LABELS: Record<string, Record<string, string>> = {
  payments: { "logs-sender": "true" },
  shipping: { "logs-sender": "true" },
  marketing: {},
};

function spec(extra: object): LogDestinationPolicySpec {
  const checked = checkSpec({
    destinationName: "central-logs",
    region: "eu-west-1",
    grants: { from: { namespaceSelector: { matchLabels: { "logs-sender": "true" } } } },
    ...extra,
  });
  assert.ok(checked.ok);
  return checked.spec;
}

function grant(namespace: string, accounts: unknown, extra: object = {}): LogDestinationGrant {
  return {
    metadata: {
      namespace,
      name: "senders",
      uid: `${namespace}-uid`,
      creationTimestamp: "2025-01-01T00:00:00Z",
      ...extra,
    },
    spec: { policyRef: { namespace: "logging", name: "central" }, principals: { accounts } },
  };
}

/** Bindings that permit account 444455556666 only, for every namespace. */
function decide(request: PermissionRequest): Permission {
  const json = JSON.stringify(request.document);
  return json.includes("999999999999")
    ? {
        permitted: false,
        bindings: ["senders"],
        refusals: [],
        reason: "",
        message: "spec.principals.accounts[0]: not permitted",
      }
    : { permitted: true, binding: "senders" };
}

const judge = (s: LogDestinationPolicySpec, grants: LogDestinationGrant[]) =>
  judgeGrants({
    spec: s,
    policyKey: "logging/central",
    grants,
    target,
    labelsOf: (namespace) => LABELS[namespace],
    decide,
  });

describe("judging a policy's grants", () => {
  test("two teams' grants in selected namespaces both contribute", () => {
    const j = judge(spec({}), [
      grant("payments", ["444455556666"]),
      grant("shipping", ["444455556666"]),
    ]);
    assert.deepEqual(
      j.contributions.map((c) => [c.namespace, c.desired.accounts]),
      [
        ["payments", ["444455556666"]],
        ["shipping", ["444455556666"]],
      ],
    );
    assert.equal(j.refused.size, 0);
  });

  const refusals: {
    name: string;
    spec: LogDestinationPolicySpec;
    grant: LogDestinationGrant;
    reason: string;
    message: RegExp;
  }[] = [
    {
      name: "a namespace grants.from does not select is not accepted",
      spec: spec({}),
      grant: grant("marketing", ["444455556666"]),
      reason: "NotAccepted",
      message: /does not accept grants from namespace marketing/,
    },
    {
      name: "a policy in Observe mode accepts no grant",
      spec: spec({ mode: "Observe" }),
      grant: grant("payments", ["444455556666"]),
      reason: "NotAccepted",
      message: /Observe mode/,
    },
    {
      name: "a principal outside the grant namespace's binding is not permitted",
      spec: spec({}),
      grant: grant("payments", ["999999999999"]),
      reason: "NotPermitted",
      message: /spec\.principals\.accounts\[0\]/,
    },
    {
      name: "a grant whose spec is invalid says which field",
      spec: spec({}),
      grant: grant("payments", ["12"]),
      reason: "InvalidSpec",
      message: /spec\.principals\.accounts\[0\]: must be a 12-digit account ID/,
    },
  ];
  for (const row of refusals) {
    test(row.name, () => {
      const j = judge(row.spec, [row.grant]);
      assert.equal(j.contributions.length, 0);
      const refused = j.refused.get(`${row.grant.metadata.namespace ?? ""}/senders`);
      assert.equal(refused?.reason, row.reason);
      assert.match(refused.message, row.message);
    });
  }

  test("a grant being deleted contributes nothing and is listed for its finalizer", () => {
    const j = judge(spec({}), [
      grant("payments", ["444455556666"], { deletionTimestamp: "2025-01-02T00:00:00Z" }),
    ]);
    assert.deepEqual(j.deleting, ["payments/senders"]);
    assert.equal(j.contributions.length, 0);
  });
});
