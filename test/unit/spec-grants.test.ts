// A LogDestinationPolicy that accepts grants: spec.grants, and the owner's own
// statements becoming optional. The schema, checkSpec and desiredState must
// agree on which specs are whole, and a policy with no statements of its own
// must never send an empty document.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildCrd } from "../../src/api/crd.ts";
import { checkSpec } from "../../src/api/spec-check.ts";
import { desiredState } from "../../src/controller/desired.ts";
import { NOBODY_SID } from "../../src/policy/ownerless.ts";
import { formatIssues } from "../../src/util/issues.ts";

const document = {
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Principal: { AWS: "111122223333" },
      Action: "logs:PutSubscriptionFilter",
      Resource: "*",
    },
  ],
};
const grants = { from: { namespaceSelector: { matchLabels: { "logs-sender": "true" } } } };
const base = { destinationName: "central-logs", region: "eu-west-1" };

const rows: { name: string; spec: object; refused?: RegExp }[] = [
  { name: "the owner's statements alone are a whole spec", spec: { accessPolicy: document } },
  { name: "grants alone are a whole spec", spec: { grants } },
  {
    name: "statements and grants together are a whole spec",
    spec: { accessPolicy: document, grants },
  },
  {
    name: "both policy fields are refused even when grants are set",
    spec: { accessPolicy: document, accessPolicyJson: JSON.stringify(document), grants },
    refused: /spec\.accessPolicy: set at most one of accessPolicy and accessPolicyJson/,
  },
  {
    name: "neither policy field nor grants is refused, naming all three",
    spec: {},
    refused: /spec\.accessPolicy: set accessPolicy or accessPolicyJson, or grants/,
  },
  {
    name: "an action a grant may not be given is refused, naming its place",
    spec: { grants: { ...grants, actions: ["logs:DeleteDestination"] } },
    refused: /spec\.grants\.actions\[0\]/,
  },
  {
    name: "grants without a namespace selector are refused",
    spec: { grants: { from: {} } },
    refused: /spec\.grants\.from\.namespaceSelector/,
  },
];

describe("a policy spec that accepts grants", () => {
  for (const row of rows) {
    test(row.name, () => {
      const checked = checkSpec({ ...base, ...row.spec });
      if (row.refused) {
        assert.ok(!checked.ok, "refused");
        assert.match(formatIssues(checked.issues), row.refused);
      } else {
        assert.ok(checked.ok, checked.ok ? "" : formatIssues(checked.issues));
      }
    });
  }

  test("grants default to subscribing only", () => {
    const checked = checkSpec({ ...base, grants });
    assert.ok(checked.ok);
    assert.deepEqual(checked.spec.grants?.actions, ["logs:PutSubscriptionFilter"]);
  });

  test("a policy made only of grants has no statements of its own", () => {
    const checked = checkSpec({ ...base, grants });
    assert.ok(checked.ok);
    assert.deepEqual(checked.policy.document.Statement, []);
  });

  test("with nothing admitted yet, what is sent lets nobody subscribe rather than being empty", () => {
    const checked = checkSpec({ ...base, grants });
    assert.ok(checked.ok);
    const desired = desiredState(checked.spec, undefined, "uid-1", checked.policy);
    const statements = desired.document.Statement;
    assert.ok(Array.isArray(statements));
    const [only, ...rest] = statements;
    assert.equal(rest.length, 0);
    assert.equal(only?.Sid, NOBODY_SID);
    assert.equal(only.Effect, "Deny");
    assert.equal(desired.canonical, JSON.stringify(JSON.parse(desired.canonical)));
    assert.match(desired.annotation, new RegExp(NOBODY_SID));
  });

  test("the owner's own statements are sent unchanged", () => {
    const checked = checkSpec({ ...base, accessPolicy: document, grants });
    assert.ok(checked.ok);
    const desired = desiredState(checked.spec, undefined, "uid-1", checked.policy);
    assert.equal(desired.canonical, checked.policy.canonical);
  });

  test("the CRD carries spec.grants with its selector and the action enum", () => {
    const crd = buildCrd() as {
      spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: unknown } } } }[] };
    };
    const spec = crd.spec.versions[0]?.schema.openAPIV3Schema.properties.spec as {
      properties: Record<string, { properties: Record<string, { items?: { enum?: string[] } }> }>;
    };
    const grantsSchema = spec.properties.grants;
    assert.ok(grantsSchema);
    assert.ok(grantsSchema.properties.from);
    assert.deepEqual(grantsSchema.properties.actions?.items?.enum, [
      "logs:PutSubscriptionFilter",
      "logs:PutAccountPolicy",
    ]);
  });
});
