import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  describePublicStatements,
  type ConditionBlock,
  findPublicStatements,
  type PolicyDocument,
  type PolicyStatement,
} from "../../src/policy/index.ts";
import { accountPolicy, DESTINATION_ARN, orgPolicy } from "./policy-fixtures.ts";

function policyWith(...statements: PolicyStatement[]): PolicyDocument {
  return { Version: "2012-10-17", Statement: statements };
}

const open: PolicyStatement = {
  Sid: "Open",
  Effect: "Allow",
  Principal: "*",
  Action: "logs:PutSubscriptionFilter",
  Resource: DESTINATION_ARN,
};

function isPublic(statement: PolicyStatement): boolean {
  return findPublicStatements(policyWith(statement)).length > 0;
}

void describe("public access guardrail", () => {
  void it('an Allow with "Principal": "*" and no condition is public', () => {
    assert.deepEqual(findPublicStatements(policyWith(open)), [
      { index: 0, sid: "Open", open: { because: "open" } },
    ]);
  });

  void it('an Allow with "Principal": "*" and an unrelated condition is public', () => {
    assert.ok(isPublic({ ...open, Condition: { Bool: { "aws:SecureTransport": "true" } } }));
  });

  void it('an Allow with {"AWS": "*"} is public', () => {
    assert.ok(isPublic({ ...open, Principal: { AWS: "*" } }));
  });

  void it("an Allow whose AWS principal list includes * is public", () => {
    assert.ok(isPublic({ ...open, Principal: { AWS: ["111111111111", "*"] } }));
  });

  void it("an Allow limited by an organization ID condition is safe", () => {
    assert.deepEqual(findPublicStatements(orgPolicy()), []);
  });

  void it("an Allow naming account IDs is safe", () => {
    assert.deepEqual(findPublicStatements(accountPolicy("111111111111", "222222222222")), []);
  });

  void it('a Deny with "Principal": "*" is not flagged', () => {
    assert.ok(!isPublic({ ...open, Effect: "Deny" }));
  });

  void it("every narrowing key counts, compared case-insensitively", () => {
    for (const key of [
      "aws:PrincipalOrgID",
      "aws:principalorgid",
      "AWS:PrincipalAccount",
      "aws:SourceAccount",
      "aws:SourceOrgID",
    ]) {
      assert.ok(!isPublic({ ...open, Condition: { StringEquals: { [key]: "x" } } }), key);
    }
  });

  void it("ForAnyValue: organization path conditions narrow, as in AWS's examples", () => {
    const condition = {
      "ForAnyValue:StringLike": {
        "aws:PrincipalOrgPaths": ["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"],
      },
    };
    assert.ok(!isPublic({ ...open, Condition: condition }));
    assert.ok(
      !isPublic({
        ...open,
        Condition: { StringEqualsIgnoreCase: { "aws:PrincipalOrgID": "O-A1" } },
      }),
    );
  });

  void it("a narrowing key under an unrelated operator among others still narrows", () => {
    const condition = {
      Bool: { "aws:SecureTransport": "true" },
      StringEquals: { "aws:PrincipalAccount": ["111111111111"] },
    };
    assert.ok(!isPublic({ ...open, Condition: condition }));
  });

  void it("conditions that outside callers satisfy do not narrow", () => {
    const loose: ConditionBlock[] = [
      { StringNotEquals: { "aws:PrincipalOrgID": "o-a1b2c3d4e5" } },
      { StringEqualsIfExists: { "aws:PrincipalOrgID": "o-a1b2c3d4e5" } },
      { "ForAllValues:StringEquals": { "aws:PrincipalOrgID": "o-a1b2c3d4e5" } },
      { Null: { "aws:PrincipalOrgID": "false" } },
      { StringLike: { "aws:PrincipalAccount": "*" } },
      { StringLike: { "aws:PrincipalAccount": ["1111*", "*"] } },
    ];
    for (const condition of loose) {
      assert.ok(isPublic({ ...open, Condition: condition }), JSON.stringify(condition));
    }
  });

  void it("an Allow with NotPrincipal grants everyone else and is public", () => {
    const statement: PolicyStatement = { ...open, NotPrincipal: { AWS: "111111111111" } };
    delete statement.Principal;
    assert.ok(isPublic(statement));
  });

  void it("statements are reported by their position in the document", () => {
    const safe = accountPolicy("111111111111").Statement;
    assert.ok(Array.isArray(safe));
    const document = policyWith(...safe, { ...open, Sid: "" }, { ...open, Sid: "Wide" });
    assert.deepEqual(
      findPublicStatements(document).map(({ index, sid }) => ({ index, sid })),
      [
        { index: 1, sid: undefined },
        { index: 2, sid: "Wide" },
      ],
    );
  });

  void it("a single-statement object is reported as index 0", () => {
    assert.deepEqual(findPublicStatements({ Version: "2012-10-17", Statement: open }), [
      { index: 0, sid: "Open", open: { because: "open" } },
    ]);
  });

  void it("the description names each statement by index and Sid, why it is public, and the rule", () => {
    assert.equal(
      describePublicStatements([
        { index: 1, open: { because: "no-principal" } },
        { index: 2, sid: "Wide", open: { because: "unnamed-type", type: "Federated" } },
      ]),
      "Statement[1] names no Principal, so it applies to every caller; " +
        'Statement[2] (Sid "Wide") names a "Federated" principal, a type that names no AWS account ' +
        "(a statement is not public when it names fixed AWS accounts, roles or services, with no *, ? or ${…}, " +
        "or when a StringEquals, StringEqualsIgnoreCase, StringLike condition with fixed values on " +
        'aws:PrincipalOrgID, aws:PrincipalOrgPaths, aws:PrincipalAccount, aws:SourceAccount, aws:SourceOrgID narrows "*" or an AWS wildcard)',
    );
    assert.match(
      describePublicStatements([{ index: 0, sid: "Open" }]),
      /^Statement\[0\] \(Sid "Open"\) allows /,
    );
  });

  void it("wildcards and policy variables in narrowing values do not narrow", () => {
    const loose: ConditionBlock[] = [
      { StringEquals: { "aws:PrincipalOrgID": "${aws:PrincipalOrgID}" } },
      { StringLike: { "aws:PrincipalOrgID": "o-*" } },
      { StringLike: { "aws:PrincipalOrgPaths": "o-*/*" } },
      {
        StringLike: {
          "aws:PrincipalAccount": ["0*", "1*", "2*", "3*", "4*", "5*", "6*", "7*", "8*", "9*"],
        },
      },
    ];
    for (const condition of loose) {
      assert.ok(isPublic({ ...open, Condition: condition }), JSON.stringify(condition));
    }
  });

  void it("a wildcard in any principal is public; fixed principals are not", () => {
    assert.ok(isPublic({ ...open, Principal: { AWS: "arn:aws:iam::*:root" } }));
    assert.ok(isPublic({ ...open, Principal: { Service: "*" } }));
    assert.ok(!isPublic({ ...open, Principal: { AWS: "arn:aws:iam::111111111111:root" } }));
  });

  void it("the description of an empty list says nothing is public", () => {
    assert.equal(describePublicStatements([]), "no statement allows access to every AWS principal");
  });
});
