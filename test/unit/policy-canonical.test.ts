import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  canonicalJson,
  normalizePolicy,
  policiesEqual,
  policyHash,
  resolveAccessPolicy,
  type PolicyDocument,
  type PolicyDocumentInput,
} from "../../src/policy/index.ts";
import { accountPolicy, DESTINATION_ARN, orgPolicy, reverseKeys } from "./policy-fixtures.ts";

function withStatements(...statements: PolicyDocument["Statement"][]): PolicyDocument {
  return { Version: "2012-10-17", Statement: statements.flat() };
}

const base = {
  Effect: "Allow",
  Principal: { AWS: "111111111111" },
  Action: "logs:PutSubscriptionFilter",
  Resource: DESTINATION_ARN,
} as const;

function assertSamePolicy(a: PolicyDocumentInput, b: PolicyDocumentInput): void {
  assert.ok(policiesEqual(a, b), "expected the policies to be equal");
  assert.equal(policyHash(a), policyHash(b));
}

function assertDifferentPolicy(a: PolicyDocumentInput, b: PolicyDocumentInput): void {
  assert.ok(!policiesEqual(a, b), "expected the policies to differ");
  assert.notEqual(policyHash(a), policyHash(b));
}

void describe("canonical JSON", () => {
  void it("sorts object keys at every level, keeps array order and has no whitespace", () => {
    const value = { b: [3, { z: 1, a: [2, 1] }], a: { d: "x", c: null } };
    assert.equal(canonicalJson(value), '{"a":{"c":null,"d":"x"},"b":[3,{"a":[2,1],"z":1}]}');
  });

  void it("skips undefined members and escapes strings exactly like JSON.stringify", () => {
    const value = { s: 'quote " and \n and \u2028 and \ud800', u: undefined, list: [undefined] };
    assert.equal(canonicalJson(value), `{"list":[null],"s":${JSON.stringify(value.s)}}`);
  });

  void it("keeps the scalar and single-statement forms the user wrote", () => {
    const policy = { Version: "2012-10-17", Statement: { Effect: "Allow", Action: "a:b" } };
    assert.equal(
      canonicalJson(policy),
      '{"Statement":{"Action":"a:b","Effect":"Allow"},"Version":"2012-10-17"}',
    );
  });
});

void describe("semantic policy comparison", () => {
  void it("reordered keys give the same policy and hash", () => {
    const policy = orgPolicy();
    assertSamePolicy(policy, reverseKeys(policy) as PolicyDocument);
  });

  void it("the YAML form and an indented JSON-string form give the same canonical text and hash", () => {
    const policy = orgPolicy();
    const fromObject = resolveAccessPolicy({ accessPolicy: policy });
    const fromJson = resolveAccessPolicy({
      accessPolicyJson: JSON.stringify(reverseKeys(policy), null, "\t"),
    });
    assert.ok(fromObject.ok && fromJson.ok);
    assert.equal(fromObject.canonical, fromJson.canonical);
    assert.equal(fromObject.hash, fromJson.hash);
  });

  void it("a scalar Action is the same policy as a one-element Action array", () => {
    assertSamePolicy(
      withStatements({ ...base, Action: "logs:PutSubscriptionFilter" }),
      withStatements({ ...base, Action: ["logs:PutSubscriptionFilter"] }),
    );
  });

  void it("the order and repetition of values inside a field do not matter", () => {
    assertSamePolicy(
      withStatements({ ...base, Principal: { AWS: ["222222222222", "111111111111"] } }),
      withStatements({
        ...base,
        Principal: { AWS: ["111111111111", "222222222222", "111111111111"] },
      }),
    );
  });

  void it("the order of statements does not matter", () => {
    const deny = { Effect: "Deny", Principal: { AWS: "333333333333" }, Action: "logs:*" } as const;
    assertSamePolicy(withStatements(base, deny), withStatements(deny, base));
  });

  void it("a single statement object is the same policy as a one-element Statement list", () => {
    assertSamePolicy({ Version: "2012-10-17", Statement: base }, withStatements(base));
  });

  void it("a missing Version is the same as 2008-10-17 and differs from 2012-10-17", () => {
    const withoutVersion = { Statement: [base] };
    assertSamePolicy(withoutVersion, { ...withoutVersion, Version: "2008-10-17" });
    assertDifferentPolicy(withoutVersion, { ...withoutVersion, Version: "2012-10-17" });
    assert.equal(normalizePolicy(withoutVersion).Version, "2008-10-17");
  });

  void it("an account ID is the same principal as the account's root ARN in any partition", () => {
    assertSamePolicy(
      withStatements({ ...base, Principal: { AWS: "111111111111" } }),
      withStatements({ ...base, Principal: { AWS: ["arn:aws:iam::111111111111:root"] } }),
    );
    assertSamePolicy(
      withStatements({ ...base, Principal: { AWS: "111111111111" } }),
      withStatements({ ...base, Principal: { AWS: "arn:aws-cn:iam::111111111111:root" } }),
    );
    assertDifferentPolicy(
      withStatements({ ...base, Principal: { AWS: "111111111111" } }),
      withStatements({ ...base, Principal: { AWS: "arn:aws:iam::111111111111:role/Sender" } }),
    );
  });

  void it("condition values compare as strings, the way IAM evaluates them", () => {
    assertSamePolicy(
      withStatements({ ...base, Condition: { Bool: { "aws:SecureTransport": true } } }),
      withStatements({ ...base, Condition: { Bool: { "aws:SecureTransport": ["true"] } } }),
    );
    assertSamePolicy(
      withStatements({ ...base, Condition: { NumericLessThan: { "aws:MultiFactorAuthAge": 60 } } }),
      withStatements({
        ...base,
        Condition: { NumericLessThan: { "aws:MultiFactorAuthAge": "60" } },
      }),
    );
  });

  void it("an empty Condition constrains nothing and equals no Condition", () => {
    assertSamePolicy(withStatements({ ...base, Condition: {} }), withStatements(base));
    assertSamePolicy(
      withStatements({ ...base, Condition: { StringEquals: {} } }),
      withStatements(base),
    );
  });

  void it("an empty Sid is the same as no Sid, and a different Sid is a different policy", () => {
    assertSamePolicy(withStatements({ ...base, Sid: "" }), withStatements(base));
    assertDifferentPolicy(
      withStatements({ ...base, Sid: "A" }),
      withStatements({ ...base, Sid: "B" }),
    );
  });

  void it("Id, Effect, Resource and condition changes make a different policy", () => {
    const policy = withStatements(base);
    assertDifferentPolicy(policy, { ...policy, Id: "destination-policy" });
    assertDifferentPolicy(policy, withStatements({ ...base, Effect: "Deny" }));
    assertDifferentPolicy(policy, withStatements({ ...base, Resource: "*" }));
    assertDifferentPolicy(
      policy,
      withStatements({ ...base, NotResource: DESTINATION_ARN, Resource: undefined }),
    );
    assertDifferentPolicy(orgPolicy("o-aaaaaaaaaa"), orgPolicy("o-bbbbbbbbbb"));
  });

  void it("a scalar Principal * differs from a Principal naming accounts", () => {
    assertDifferentPolicy(
      withStatements({ ...base, Principal: "*" }),
      accountPolicy("111111111111"),
    );
  });

  void it("the hash is sha256 of the normalized policy, in hex", () => {
    assert.match(policyHash(orgPolicy()), /^sha256:[0-9a-f]{64}$/);
  });

  void it("policiesEqual treats anything that is not a policy as equal to nothing", () => {
    assert.equal(policiesEqual(undefined, orgPolicy()), false);
    assert.equal(policiesEqual("{}", "{}"), false);
    assert.equal(policiesEqual(null, null), false);
    assert.equal(policiesEqual(orgPolicy(), JSON.parse(JSON.stringify(orgPolicy()))), true);
  });

  void it("normalization sorts values and statements without changing the input", () => {
    const policy = withStatements({ ...base, Action: ["logs:b", "logs:a"] });
    const snapshot = structuredClone(policy);
    const normalized = normalizePolicy(policy);
    const [first] = normalized.Statement;
    assert.ok(first);
    assert.deepEqual(first.Action, ["logs:a", "logs:b"]);
    assert.deepEqual(first.Principal, { AWS: ["111111111111"] });
    assert.deepEqual(policy, snapshot);
  });
});
