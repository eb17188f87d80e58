// Who a policy lets in, and who gains or loses access when it changes.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  readStatements,
  accessChange,
  describeGrantee,
  grantees,
  switchesToOrganization,
  type PolicyDocumentInput,
  type PolicyStatement,
} from "../../src/policy/index.ts";

const RESOURCE = "arn:aws:logs:us-east-1:111122223333:destination:central";

function policy(...statements: Partial<PolicyStatement>[]): PolicyDocumentInput {
  return {
    Version: "2012-10-17",
    Statement: statements.map((s) => ({
      Effect: "Allow",
      Action: "logs:PutSubscriptionFilter",
      Resource: RESOURCE,
      ...s,
    })),
  };
}

const accounts = (...ids: string[]) => policy({ Principal: { AWS: ids } });
const organization = (...ids: string[]) =>
  policy({ Principal: "*", Condition: { StringEquals: { "aws:PrincipalOrgID": ids } } });

describe("grantees", () => {
  test("accounts by ID or root ARN are one and the same account, listed once", () => {
    assert.deepEqual(grantees(accounts("444455556666", "arn:aws:iam::444455556666:root")), [
      { kind: "account", id: "444455556666" },
    ]);
  });

  test("an open principal narrowed by a condition names the organization, path or account", () => {
    const document = policy(
      { Principal: "*", Condition: { StringEquals: { "aws:PrincipalOrgID": "o-a1b2c3d4e5" } } },
      {
        Principal: { AWS: "*" },
        Condition: {
          "ForAnyValue:StringLike": { "aws:PrincipalOrgPaths": "o-a1b2c3d4e5/r-ab12/*" },
        },
      },
      { Principal: "*", Condition: { StringEquals: { "aws:SourceAccount": ["777788889999"] } } },
    );
    assert.deepEqual(grantees(document), [
      { kind: "organization", id: "o-a1b2c3d4e5" },
      { kind: "organization-path", id: "o-a1b2c3d4e5/r-ab12/*" },
      { kind: "account", id: "777788889999" },
    ]);
  });

  test("what the guardrail calls public is everyone, NotPrincipal included", () => {
    assert.deepEqual(grantees(policy({ Principal: "*" })), [{ kind: "everyone", id: "*" }]);
    assert.deepEqual(grantees(policy({ NotPrincipal: { AWS: "444455556666" } })), [
      { kind: "everyone", id: "*" },
    ]);
    const negated = policy({
      Principal: "*",
      Condition: { StringNotEquals: { "aws:PrincipalOrgID": "o-a1b2c3d4e5" } },
    });
    assert.deepEqual(grantees(negated), [{ kind: "everyone", id: "*" }]);
  });

  test("other principals and services keep their names; Deny statements grant nothing", () => {
    const document = policy(
      {
        Principal: {
          AWS: "arn:aws:iam::444455556666:role/shipper",
          Service: "logs.amazonaws.com",
        },
      },
      { Effect: "Deny", Principal: { AWS: "999988887777" } },
    );
    assert.deepEqual(grantees(document), [
      { kind: "principal", id: "arn:aws:iam::444455556666:role/shipper" },
      { kind: "service", id: "logs.amazonaws.com" },
    ]);
  });

  test("descriptions read as a reviewer would say them", () => {
    assert.equal(describeGrantee({ kind: "account", id: "444455556666" }), "account 444455556666");
    assert.equal(describeGrantee({ kind: "everyone", id: "*" }), "everyone (any AWS account)");
    assert.equal(
      describeGrantee({ kind: "organization-path", id: "o-a/r-b" }),
      "organization path o-a/r-b",
    );
  });
});

describe("readStatements: every principal type", () => {
  const narrowing = { StringEquals: { "aws:PrincipalOrgID": "o-a1b2c3d4e5" } };
  const cases: [string, Partial<PolicyStatement>, string | undefined, string[]][] = [
    [
      "fixed accounts are named",
      { Principal: { AWS: "444455556666" } },
      undefined,
      ["account 444455556666"],
    ],
    [
      "a fixed service is named",
      { Principal: { Service: "logs.amazonaws.com" } },
      undefined,
      ["service logs.amazonaws.com"],
    ],
    [
      '"*" narrowed by a fixed organization names the organization',
      { Principal: "*", Condition: narrowing },
      undefined,
      ["organization o-a1b2c3d4e5"],
    ],
    [
      "an AWS wildcard narrowed by a fixed organization names the organization",
      { Principal: { AWS: "arn:aws:iam::*:root" }, Condition: narrowing },
      undefined,
      ["organization o-a1b2c3d4e5"],
    ],
    ['"*" with no narrowing condition is open', { Principal: "*" }, "open", ["everyone *"]],
    [
      "no Principal names nobody, whatever the condition",
      { Condition: narrowing },
      "no-principal",
      ["everyone *"],
    ],
    [
      "NotPrincipal names nobody, whatever the condition",
      { NotPrincipal: { AWS: "444455556666" }, Condition: narrowing },
      "not-principal",
      ["everyone *"],
    ],
    [
      '{"Service": "*"} names nobody, whatever the condition',
      { Principal: { Service: "*" }, Condition: narrowing },
      "wildcard",
      ["everyone *"],
    ],
    [
      '{"Federated": "*"} names nobody, whatever the condition',
      { Principal: { Federated: "*" }, Condition: narrowing },
      "unnamed-type",
      ["everyone *"],
    ],
    [
      "a named Federated provider names nobody",
      { Principal: { Federated: "accounts.google.com" } },
      "unnamed-type",
      ["everyone *"],
    ],
    [
      "a CanonicalUser names nobody",
      { Principal: { CanonicalUser: "79a59df900b949e5" } },
      "unnamed-type",
      ["everyone *"],
    ],
    [
      "one unnamed type among named accounts makes the statement public",
      { Principal: { AWS: "444455556666", Federated: "accounts.google.com" } },
      "unnamed-type",
      ["everyone *"],
    ],
    [
      "a loose condition beside a fixed one names only the fixed one",
      {
        Principal: "*",
        Condition: {
          StringEquals: { "aws:PrincipalOrgID": "o-a1b2c3d4e5" },
          StringLike: { "aws:PrincipalAccount": "1*" },
        },
      },
      undefined,
      ["organization o-a1b2c3d4e5"],
    ],
  ];
  for (const [name, statement, open, expected] of cases) {
    test(name, () => {
      const [reading] = readStatements(policy(statement));
      assert.equal(reading?.open?.because, open);
      assert.deepEqual(
        reading?.grantees.map((g) => `${g.kind} ${g.id}`),
        expected,
      );
    });
  }
});

describe("accessChange", () => {
  test("names who gains and who loses, and nobody who keeps access", () => {
    assert.deepEqual(
      accessChange(
        accounts("111111111111", "222222222222"),
        accounts("222222222222", "333333333333"),
      ),
      {
        gained: [{ kind: "account", id: "333333333333" }],
        lost: [{ kind: "account", id: "111111111111" }],
      },
    );
  });

  test("with no live policy, everyone the manifest lets in gains access", () => {
    assert.deepEqual(accessChange(undefined, organization("o-a1b2c3d4e5")), {
      gained: [{ kind: "organization", id: "o-a1b2c3d4e5" }],
      lost: [],
    });
  });
});

describe("switchesToOrganization", () => {
  test("true only for a change from account IDs to an organization", () => {
    assert.equal(
      switchesToOrganization(accounts("111111111111"), organization("o-a1b2c3d4e5")),
      true,
    );
    assert.equal(switchesToOrganization(undefined, organization("o-a1b2c3d4e5")), false);
    assert.equal(
      switchesToOrganization(organization("o-a1b2c3d4e5"), organization("o-zzzzzzzzzz")),
      false,
    );
    assert.equal(switchesToOrganization(accounts("111111111111"), accounts("222222222222")), false);
  });
});
