import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  MAX_DIFF_TEXT_CHARS,
  summarizePolicyDiff,
  type PolicyDocument,
  type PolicyStatement,
} from "../../src/policy/index.ts";
import { accountPolicy, DESTINATION_ARN, orgPolicy, reverseKeys } from "./policy-fixtures.ts";

function statement(sid: string | undefined, ...accounts: string[]): PolicyStatement {
  return {
    ...(sid === undefined ? {} : { Sid: sid }),
    Effect: "Allow",
    Principal: { AWS: accounts },
    Action: "logs:PutSubscriptionFilter",
    Resource: DESTINATION_ARN,
  };
}

function policyWith(...statements: PolicyStatement[]): PolicyDocument {
  return { Version: "2012-10-17", Statement: statements };
}

void describe("policy diff summary", () => {
  void it("equal policies in different forms have no differences", () => {
    const desired = orgPolicy();
    const live = JSON.stringify(reverseKeys(desired), null, 2);
    assert.deepEqual(summarizePolicyDiff(live, desired), {
      equal: true,
      statementsAdded: [],
      statementsRemoved: [],
      statementsChanged: [],
      principalsAdded: [],
      principalsRemoved: [],
      text: "no differences",
    });
  });

  void it("an added statement and the principals that change are named", () => {
    const live = policyWith(
      statement("Shared", "222222222222"),
      statement("Legacy", "111111111111"),
    );
    const desired = policyWith(
      statement("Shared", "222222222222"),
      statement("AllowOrg", "333333333333"),
    );
    const summary = summarizePolicyDiff(live, desired);
    assert.equal(summary.equal, false);
    assert.deepEqual(summary.statementsAdded, ["Sid AllowOrg"]);
    assert.deepEqual(summary.statementsRemoved, ["Sid Legacy"]);
    assert.deepEqual(summary.principalsAdded, ["333333333333"]);
    assert.deepEqual(summary.principalsRemoved, ["111111111111"]);
    assert.equal(
      summary.text,
      "1 statement added (Sid AllowOrg), 1 statement removed (Sid Legacy), " +
        "principals added: 333333333333; removed: 111111111111",
    );
  });

  void it("a statement with the same Sid and new content is reported as changed", () => {
    const live = policyWith(statement("AllowAccounts", "111111111111"));
    const desired = policyWith(statement("AllowAccounts", "111111111111", "222222222222"));
    const summary = summarizePolicyDiff(live, desired);
    assert.deepEqual(summary.statementsChanged, ["Sid AllowAccounts"]);
    assert.deepEqual(summary.statementsAdded, []);
    assert.equal(
      summary.text,
      "1 statement changed (Sid AllowAccounts), principals added: 222222222222",
    );
  });

  void it("statements without a Sid are matched by content and labelled by index", () => {
    const live = policyWith(
      statement(undefined, "111111111111"),
      statement(undefined, "222222222222"),
    );
    const desired = policyWith(
      statement(undefined, "222222222222"),
      statement(undefined, "333333333333"),
    );
    const summary = summarizePolicyDiff(live, desired);
    assert.deepEqual(summary.statementsAdded, ["Statement[1]"]);
    assert.deepEqual(summary.statementsRemoved, ["Statement[0]"]);
    assert.deepEqual(summary.statementsChanged, []);
  });

  void it("a repeated identical statement counts as one more statement", () => {
    const live = policyWith(statement(undefined, "111111111111"));
    const desired = policyWith(
      statement(undefined, "111111111111"),
      statement(undefined, "111111111111"),
    );
    const summary = summarizePolicyDiff(live, desired);
    assert.equal(summary.equal, false);
    assert.deepEqual(summary.statementsAdded, ["Statement[1]"]);
  });

  void it("a Version or Id change is described", () => {
    const desired = accountPolicy("111111111111");
    const live = { ...desired, Version: undefined, Id: "old" };
    assert.equal(
      summarizePolicyDiff(live, desired).text,
      'Version changed from 2008-10-17 to 2012-10-17, Id changed from "old" to none',
    );
  });

  void it("a live policy without Version equals a desired 2008-10-17 policy", () => {
    const desired: PolicyDocument = { ...accountPolicy("111111111111"), Version: "2008-10-17" };
    const live: Partial<PolicyDocument> = { ...desired };
    delete live.Version;
    assert.equal(summarizePolicyDiff(live, desired).equal, true);
  });

  void it("a live value that is not a policy is reported as unparseable", () => {
    const desired = orgPolicy();
    for (const live of [42, "not json", "{}", { Statement: "x" }, []]) {
      const summary = summarizePolicyDiff(live, desired);
      assert.equal(summary.equal, false);
      assert.equal(summary.text, "unparseable live policy");
      assert.deepEqual(summary.statementsAdded, ["Sid AllowOrg"]);
      assert.deepEqual(summary.principalsAdded, ["*"]);
    }
  });

  void it("a missing live policy is reported as such", () => {
    assert.equal(summarizePolicyDiff(undefined, orgPolicy()).text, "no live policy");
    assert.equal(summarizePolicyDiff(null, orgPolicy()).text, "no live policy");
  });

  void it("non-AWS principals are prefixed with their type", () => {
    const desired = policyWith({ ...statement("S"), Principal: { Service: "logs.amazonaws.com" } });
    const summary = summarizePolicyDiff(policyWith(statement("S", "111111111111")), desired);
    assert.deepEqual(summary.principalsAdded, ["Service:logs.amazonaws.com"]);
  });

  void it("a very long summary is cut to a bounded length ending in an ellipsis", () => {
    const many = Array.from({ length: 200 }, (_, i) =>
      statement(`Statement${i}`, String(100000000000 + i)),
    );
    const summary = summarizePolicyDiff(
      policyWith(statement("Only", "111111111111")),
      policyWith(...many),
    );
    assert.equal(summary.text.length, MAX_DIFF_TEXT_CHARS);
    assert.ok(summary.text.endsWith("…"));
    assert.equal(summary.statementsAdded.length, 200);
  });
});
