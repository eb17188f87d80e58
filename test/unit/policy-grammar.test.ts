import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  parseLivePolicy,
  validatePolicyDocument,
  type PolicyIssue,
} from "../../src/policy/index.ts";
import { accountPolicy, DESTINATION_ARN } from "./policy-fixtures.ts";

const PREFIX = "spec.accessPolicy";

function issuesOf(value: unknown): PolicyIssue[] {
  const result = validatePolicyDocument(value, PREFIX);
  if (result.ok) assert.fail("expected the policy to be rejected");
  return result.issues;
}

function issueAt(value: unknown, path: string): PolicyIssue {
  const issues = issuesOf(value);
  const issue = issues.find((candidate) => candidate.path === path);
  assert.ok(issue, `no issue at ${path}; got ${JSON.stringify(issues)}`);
  return issue;
}

function withStatement(statement: Record<string, unknown>): unknown {
  return { Version: "2012-10-17", Statement: [statement] };
}

const allow = { Effect: "Allow", Action: "logs:PutSubscriptionFilter" };

void describe("policy grammar", () => {
  void it("a typical destination policy is accepted unchanged", () => {
    const policy = accountPolicy("111111111111", "222222222222");
    const result = validatePolicyDocument(policy, PREFIX);
    assert.deepEqual(result, { ok: true, document: policy });
  });

  void it("a single statement object is accepted and kept as an object", () => {
    const policy = { Version: "2008-10-17", Statement: { ...allow, Principal: "*" } };
    const result = validatePolicyDocument(policy);
    assert.ok(result.ok);
    assert.deepEqual(result.document.Statement, policy.Statement);
  });

  void it("the validated document shares no objects with the input", () => {
    const policy = accountPolicy("111111111111");
    const result = validatePolicyDocument(policy);
    assert.ok(result.ok);
    const statements = result.document.Statement;
    assert.ok(Array.isArray(statements) && Array.isArray(policy.Statement));
    assert.notEqual(statements[0], policy.Statement[0]);
  });

  void it("a statement whose Effect is Permit is rejected naming the field and the allowed values", () => {
    const issue = issueAt(
      withStatement({ ...allow, Effect: "Permit" }),
      `${PREFIX}.Statement[0].Effect`,
    );
    assert.equal(issue.message, 'Effect must be "Allow" or "Deny", got "Permit"');
  });

  void it("a statement without Effect is rejected naming Effect", () => {
    const issue = issueAt(withStatement({ Action: "a:b" }), `${PREFIX}.Statement[0].Effect`);
    assert.match(issue.message, /Effect is required/);
  });

  void it("a policy without Version is rejected naming Version", () => {
    const issue = issueAt({ Statement: [allow] }, `${PREFIX}.Version`);
    assert.match(issue.message, /Version is required/);
  });

  void it("an unknown Version is rejected listing both accepted versions", () => {
    const issue = issueAt({ Version: "2012-10-18", Statement: [allow] }, `${PREFIX}.Version`);
    assert.equal(issue.message, 'Version must be "2012-10-17" or "2008-10-17", got "2012-10-18"');
  });

  void it("an unknown top-level key is rejected naming the key", () => {
    const policy = { ...accountPolicy("111111111111"), Statements: [] };
    const issue = issueAt(policy, `${PREFIX}.Statements`);
    assert.match(issue.message, /unknown policy field "Statements"/);
    assert.match(issue.message, /Version, Id, Statement/);
  });

  void it("an unknown statement key is rejected naming the key and suggesting the right spelling", () => {
    const issue = issueAt(
      withStatement({ ...allow, condition: {} }),
      `${PREFIX}.Statement[0].condition`,
    );
    assert.match(
      issue.message,
      /unknown statement field "condition" \(did you mean "Condition"\?\)/,
    );
  });

  void it("an empty Statement array is rejected", () => {
    const issue = issueAt({ Version: "2012-10-17", Statement: [] }, `${PREFIX}.Statement`);
    assert.match(issue.message, /at least one statement/);
  });

  void it("a missing Statement is rejected naming Statement", () => {
    const issue = issueAt({ Version: "2012-10-17" }, `${PREFIX}.Statement`);
    assert.equal(issue.message, "Statement is required");
  });

  void it("a Statement that is neither an object nor an array is rejected", () => {
    const issue = issueAt({ Version: "2012-10-17", Statement: "Allow" }, `${PREFIX}.Statement`);
    assert.match(issue.message, /statement object or a non-empty array/);
  });

  void it("a statement that is not an object is rejected naming its index", () => {
    const issue = issueAt(
      { Version: "2012-10-17", Statement: [allow, 7] },
      `${PREFIX}.Statement[1]`,
    );
    assert.equal(issue.message, "a statement must be an object, got 7");
  });

  void it("a policy that is not an object is rejected at the prefix itself", () => {
    for (const value of [null, "policy", 42, [], undefined]) {
      const [issue] = issuesOf(value);
      assert.equal(issue?.path, PREFIX);
      assert.match(issue.message, /the policy must be a JSON object/);
    }
  });

  void it("a statement with both Action and NotAction is rejected at NotAction", () => {
    const issue = issueAt(
      withStatement({ ...allow, NotAction: "a:b" }),
      `${PREFIX}.Statement[0].NotAction`,
    );
    assert.match(issue.message, /Action/);
  });

  void it("a statement with neither Action nor NotAction is rejected naming both", () => {
    const issue = issueAt(withStatement({ Effect: "Allow" }), `${PREFIX}.Statement[0].Action`);
    assert.match(issue.message, /exactly one of Action or NotAction/);
  });

  void it("Principal with NotPrincipal and Resource with NotResource are each rejected", () => {
    const issues = issuesOf(
      withStatement({
        ...allow,
        Principal: "*",
        NotPrincipal: "*",
        Resource: "*",
        NotResource: "*",
      }),
    );
    const paths = issues.map((issue) => issue.path);
    assert.deepEqual(paths.sort(), [
      `${PREFIX}.Statement[0].NotPrincipal`,
      `${PREFIX}.Statement[0].NotResource`,
    ]);
  });

  void it("a Principal string other than * is rejected naming the accepted forms", () => {
    const issue = issueAt(
      withStatement({ ...allow, Principal: "111111111111" }),
      `${PREFIX}.Statement[0].Principal`,
    );
    assert.match(
      issue.message,
      /Principal must be "\*" or an object with AWS, Service, Federated, CanonicalUser keys/,
    );
  });

  void it("an unknown principal type is rejected naming the key", () => {
    const issue = issueAt(
      withStatement({ ...allow, Principal: { Aws: "111111111111" } }),
      `${PREFIX}.Statement[0].Principal.Aws`,
    );
    assert.match(issue.message, /did you mean "AWS"/);
  });

  void it("an empty Principal object is rejected", () => {
    const issue = issueAt(
      withStatement({ ...allow, Principal: {} }),
      `${PREFIX}.Statement[0].Principal`,
    );
    assert.match(issue.message, /at least one of AWS/);
  });

  void it("a principal list with an empty entry is rejected naming the entry's index", () => {
    const issue = issueAt(
      withStatement({ ...allow, Principal: { AWS: ["111111111111", ""] } }),
      `${PREFIX}.Statement[0].Principal.AWS[1]`,
    );
    assert.equal(issue.message, 'Principal.AWS[1] must be a non-empty string, got ""');
  });

  void it("an empty principal list is rejected", () => {
    const issue = issueAt(
      withStatement({ ...allow, Principal: { Service: [] } }),
      `${PREFIX}.Statement[0].Principal.Service`,
    );
    assert.match(issue.message, /must not be an empty array/);
  });

  void it("empty Action values are rejected", () => {
    assert.match(
      issueAt(withStatement({ ...allow, Action: "" }), `${PREFIX}.Statement[0].Action`).message,
      /Action must not be an empty string/,
    );
    assert.match(
      issueAt(withStatement({ ...allow, Action: [] }), `${PREFIX}.Statement[0].Action`).message,
      /Action must not be an empty array/,
    );
  });

  void it("a non-string Resource entry is rejected naming its index", () => {
    const issue = issueAt(
      withStatement({ ...allow, Resource: [DESTINATION_ARN, 12] }),
      `${PREFIX}.Statement[0].Resource[1]`,
    );
    assert.equal(issue.message, "Resource[1] must be a non-empty string, got 12");
  });

  void it("a NotResource object is rejected", () => {
    const issue = issueAt(
      withStatement({ ...allow, NotResource: { a: 1 } }),
      `${PREFIX}.Statement[0].NotResource`,
    );
    assert.equal(
      issue.message,
      "NotResource must be a string or an array of strings, got an object",
    );
  });

  void it("conditions with strings, numbers, booleans and lists are accepted", () => {
    const condition = {
      StringEquals: { "aws:PrincipalOrgID": ["o-a1b2c3d4e5"], "aws:PrincipalTag/Cost Center": "x" },
      Bool: { "aws:SecureTransport": true },
      NumericLessThan: { "aws:MultiFactorAuthAge": 3600 },
      "ForAnyValue:StringLike": { "aws:PrincipalOrgPaths": ["o-a1b2c3d4e5/r-ab12/*", 1, false] },
    };
    const result = validatePolicyDocument(withStatement({ ...allow, Condition: condition }));
    assert.ok(result.ok);
  });

  void it("a condition operator that is not an object is rejected naming the operator", () => {
    const issue = issueAt(
      withStatement({ ...allow, Condition: { StringEquals: "aws:PrincipalOrgID" } }),
      `${PREFIX}.Statement[0].Condition.StringEquals`,
    );
    assert.match(issue.message, /must map condition keys to values/);
  });

  void it("a malformed condition operator name is rejected", () => {
    const issue = issueAt(
      withStatement({ ...allow, Condition: { "String Equals": { "aws:SourceAccount": "1" } } }),
      `${PREFIX}.Statement[0].Condition["String Equals"]`,
    );
    assert.match(issue.message, /not an operator name/);
  });

  void it("a condition key without a service prefix is rejected naming the key", () => {
    const issue = issueAt(
      withStatement({ ...allow, Condition: { StringEquals: { PrincipalOrgID: "o-1" } } }),
      `${PREFIX}.Statement[0].Condition.StringEquals.PrincipalOrgID`,
    );
    assert.match(issue.message, /must look like "service:name"/);
  });

  void it("a web-identity condition key, prefixed by the provider's host and path, is accepted", () => {
    const key = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub";
    assert.ok(
      validatePolicyDocument(
        withStatement({
          ...allow,
          Condition: { StringEquals: { [key]: "system:serviceaccount:a:b" } },
        }),
      ).ok,
    );
    const issue = issueAt(
      withStatement({ ...allow, Condition: { StringEquals: { "/aws:x": "1" } } }),
      `${PREFIX}.Statement[0].Condition.StringEquals["/aws:x"]`,
    );
    assert.match(issue.message, /must look like "service:name"/);
  });

  void it("null and empty-list condition values are rejected naming the key", () => {
    const issues = issuesOf(
      withStatement({
        ...allow,
        Condition: { StringEquals: { "aws:PrincipalOrgID": null, "aws:SourceAccount": [] } },
      }),
    );
    assert.deepEqual(
      issues.map((issue) => issue.path),
      [
        `${PREFIX}.Statement[0].Condition.StringEquals["aws:PrincipalOrgID"]`,
        `${PREFIX}.Statement[0].Condition.StringEquals["aws:SourceAccount"]`,
      ],
    );
    assert.match(
      issues[0]?.message ?? "",
      /condition value for "aws:PrincipalOrgID" under StringEquals/,
    );
  });

  void it("a nested object inside a condition list is rejected naming its index", () => {
    const issue = issueAt(
      withStatement({ ...allow, Condition: { StringEquals: { "aws:SourceAccount": ["1", {}] } } }),
      `${PREFIX}.Statement[0].Condition.StringEquals["aws:SourceAccount"][1]`,
    );
    assert.match(issue.message, /\[1\] must be a string, number or boolean, got an object/);
  });

  void it("__proto__ keys are rejected at every level instead of being silently dropped", () => {
    const json =
      '{"Version":"2012-10-17","__proto__":{},"Statement":[{"Effect":"Allow","Action":"a:b",' +
      '"__proto__":1,"Principal":{"__proto__":"x"},"Condition":{"__proto__":{},' +
      '"StringEquals":{"__proto__":"o-1"}}}]}';
    const paths = issuesOf(JSON.parse(json)).map((issue) => issue.path);
    assert.deepEqual(paths.sort(), [
      `${PREFIX}.Statement[0].Condition.StringEquals.__proto__`,
      `${PREFIX}.Statement[0].Condition.__proto__`,
      `${PREFIX}.Statement[0].Principal.__proto__`,
      `${PREFIX}.Statement[0].__proto__`,
      `${PREFIX}.__proto__`,
    ]);
  });

  void it("a repeated Sid is rejected at the second statement", () => {
    const issue = issueAt(
      {
        Version: "2012-10-17",
        Statement: [
          { ...allow, Sid: "Same" },
          { ...allow, Sid: "Same", Effect: "Deny" },
        ],
      },
      `${PREFIX}.Statement[1].Sid`,
    );
    assert.equal(issue.message, 'Sid "Same" is already used by Statement[0]; Sids must be unique');
  });

  void it("empty Sids may repeat, as in AWS's own examples", () => {
    const result = validatePolicyDocument({
      Version: "2012-10-17",
      Statement: [
        { ...allow, Sid: "" },
        { ...allow, Sid: "", Effect: "Deny" },
      ],
    });
    assert.ok(result.ok);
  });

  void it("a non-string Sid or Id is rejected naming the field", () => {
    assert.equal(
      issueAt(withStatement({ ...allow, Sid: 1 }), `${PREFIX}.Statement[0].Sid`).message,
      "Sid must be a string, got 1",
    );
    assert.equal(
      issueAt({ Version: "2012-10-17", Id: false, Statement: [allow] }, `${PREFIX}.Id`).message,
      "Id must be a string, got false",
    );
  });

  void it("every problem of a statement is reported at once", () => {
    const issues = issuesOf(withStatement({ Effect: "Maybe", Action: 5, Extra: true }));
    assert.deepEqual(issues.map((issue) => issue.path).sort(), [
      `${PREFIX}.Statement[0].Action`,
      `${PREFIX}.Statement[0].Effect`,
      `${PREFIX}.Statement[0].Extra`,
    ]);
  });

  void it("without a prefix, paths start with the field name", () => {
    const result = validatePolicyDocument(withStatement({ ...allow, Effect: "Permit" }));
    assert.ok(!result.ok);
    assert.equal(result.issues[0]?.path, "Statement[0].Effect");
  });

  void it("long offending values are shortened in messages", () => {
    const issue = issueAt(
      withStatement({ ...allow, Effect: "x".repeat(10_000) }),
      `${PREFIX}.Statement[0].Effect`,
    );
    assert.ok(issue.message.length < 200);
    assert.match(issue.message, /…"$/);
  });

  void it("a live policy without Version is readable, and garbage is not", () => {
    assert.deepEqual(parseLivePolicy({ Statement: allow }), { Statement: allow });
    assert.equal(parseLivePolicy("not a policy"), undefined);
    assert.equal(parseLivePolicy({ Version: "2012-10-17", Statement: [] }), undefined);
  });
});
