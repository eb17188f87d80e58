import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  MAX_REPORTED_ISSUES,
  policyHash,
  resolveAccessPolicy,
  utf8ByteLength,
  type AccessPolicyResult,
  type PolicyDocument,
  type PolicyIssue,
} from "../../src/policy/index.ts";
import { formatIssues } from "../../src/util/issues.ts";
import { MAX_POLICY_BYTES } from "../../src/util/limits.ts";
import { accountPolicy, orgPolicy } from "./policy-fixtures.ts";

function issuesOf(result: AccessPolicyResult): PolicyIssue[] {
  if (result.ok) assert.fail("expected the policy to be rejected");
  return result.issues;
}

/** A policy whose Sid is padded with `filler` until the canonical form is `bytes` long. */
function policyOfBytes(bytes: number, filler: string): PolicyDocument {
  const policy = (sid: string): PolicyDocument => ({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: sid,
        Effect: "Allow",
        Principal: { AWS: "111111111111" },
        Action: "logs:PutSubscriptionFilter",
      },
    ],
  });
  const empty = resolveAccessPolicy({ accessPolicy: policy("") });
  assert.ok(empty.ok);
  const missing = bytes - empty.bytes;
  const fillerBytes = utf8ByteLength(filler);
  const sid = filler.repeat(Math.floor(missing / fillerBytes)) + "a".repeat(missing % fillerBytes);
  return policy(sid);
}

void describe("resolveAccessPolicy", () => {
  void it("an accessPolicy object resolves to its canonical text, size and hash", () => {
    const policy = orgPolicy();
    const result = resolveAccessPolicy({ accessPolicy: policy });
    assert.ok(result.ok);
    assert.deepEqual(result.document, policy);
    assert.equal(
      result.canonical,
      '{"Statement":[{"Action":"logs:PutSubscriptionFilter","Condition":{"StringEquals":' +
        '{"aws:PrincipalOrgID":["o-a1b2c3d4e5"]}},"Effect":"Allow","Principal":"*","Resource":' +
        '"arn:aws:logs:eu-west-1:999999999999:destination:central","Sid":"AllowOrg"}],' +
        '"Version":"2012-10-17"}',
    );
    assert.equal(result.bytes, result.canonical.length);
    assert.equal(result.hash, policyHash(policy));
  });

  void it("an accessPolicyJson string resolves to the same result as the object", () => {
    const policy = accountPolicy("111111111111");
    const fromObject = resolveAccessPolicy({ accessPolicy: policy });
    const fromJson = resolveAccessPolicy({ accessPolicyJson: JSON.stringify(policy, null, 2) });
    assert.deepEqual(fromJson, fromObject);
  });

  void it("setting both fields is rejected with an issue naming both", () => {
    const [issue, ...rest] = issuesOf(
      resolveAccessPolicy({ accessPolicy: orgPolicy(), accessPolicyJson: "{}" }),
    );
    assert.deepEqual(rest, []);
    assert.deepEqual(issue, {
      path: "spec",
      message: "exactly one of spec.accessPolicy or spec.accessPolicyJson must be set; both are",
    });
  });

  void it("setting neither field is rejected with an issue naming both", () => {
    const [issue] = issuesOf(resolveAccessPolicy({}));
    assert.equal(
      issue?.message,
      "exactly one of spec.accessPolicy or spec.accessPolicyJson must be set; neither is",
    );
  });

  void it("a null field counts as unset", () => {
    const result = resolveAccessPolicy({
      accessPolicy: null,
      accessPolicyJson: JSON.stringify(orgPolicy()),
    });
    assert.ok(result.ok);
  });

  void it("malformed JSON is rejected at spec.accessPolicyJson with the parser's position", () => {
    const [issue] = issuesOf(
      resolveAccessPolicy({ accessPolicyJson: '{"Version": "2012-10-17" "Statement": []}' }),
    );
    assert.equal(issue?.path, "spec.accessPolicyJson");
    assert.match(
      issue.message,
      /^accessPolicyJson is not valid JSON: .*at position 25 \(line 1 column 26\)$/,
    );
  });

  void it("an empty JSON string is rejected as invalid JSON", () => {
    const [issue] = issuesOf(resolveAccessPolicy({ accessPolicyJson: "" }));
    assert.equal(
      issue?.message,
      "accessPolicyJson is not valid JSON: Unexpected end of JSON input",
    );
  });

  void it("a JSON string given as accessPolicy is rejected pointing to accessPolicyJson", () => {
    const [issue] = issuesOf(resolveAccessPolicy({ accessPolicy: JSON.stringify(orgPolicy()) }));
    assert.equal(issue?.path, "spec.accessPolicy");
    assert.match(issue.message, /put a JSON string in spec\.accessPolicyJson instead/);
  });

  void it("a non-string accessPolicyJson is rejected naming the field", () => {
    const input = { accessPolicyJson: { Version: "2012-10-17" } } as unknown as {
      accessPolicyJson: string;
    };
    const [issue] = issuesOf(resolveAccessPolicy(input));
    assert.deepEqual(issue, {
      path: "spec.accessPolicyJson",
      message: "accessPolicyJson must be a string, got an object",
    });
  });

  void it("grammar issues in the JSON form point into spec.accessPolicyJson", () => {
    const json = JSON.stringify({
      Version: "2012-10-17",
      Statement: [{ Effect: "Permit", Action: "a:b" }],
    });
    const [issue] = issuesOf(resolveAccessPolicy({ accessPolicyJson: json }));
    assert.equal(issue?.path, "spec.accessPolicyJson.Statement[0].Effect");
  });

  void it("grammar issues in the object form point into spec.accessPolicy", () => {
    const [issue] = issuesOf(resolveAccessPolicy({ accessPolicy: { Version: "1" } }));
    assert.equal(issue?.path, "spec.accessPolicy.Version");
  });

  void it("a caller-given prefix starts every path", () => {
    const [issue] = issuesOf(
      resolveAccessPolicy({ accessPolicy: { Version: "1", Statement: [] } }, "spec.policies[2]"),
    );
    assert.equal(issue?.path, "spec.policies[2].accessPolicy.Version");
  });

  void it("a canonical policy of exactly 5120 bytes of multi-byte characters is accepted", () => {
    for (const filler of ["é", "€", "😀"]) {
      const result = resolveAccessPolicy({ accessPolicy: policyOfBytes(MAX_POLICY_BYTES, filler) });
      assert.ok(result.ok, `rejected with filler ${filler}`);
      assert.equal(result.bytes, 5120);
      assert.ok(result.canonical.length < result.bytes, "the limit is in bytes, not characters");
    }
  });

  void it("a canonical policy of 5121 bytes is rejected with the size and the limit", () => {
    for (const filler of ["é", "€", "😀"]) {
      const [issue] = issuesOf(
        resolveAccessPolicy({ accessPolicy: policyOfBytes(MAX_POLICY_BYTES + 1, filler) }),
      );
      assert.equal(
        issue && formatIssues([issue]),
        "spec.accessPolicy: the canonical policy is 5121 bytes; PutDestinationPolicy accepts at most 5120",
      );
    }
  });

  void it("the size limit applies to the canonical text, not to the submitted JSON", () => {
    const policy = policyOfBytes(MAX_POLICY_BYTES, "€");
    const json = JSON.stringify(policy, null, 8);
    assert.ok(utf8ByteLength(json) > MAX_POLICY_BYTES);
    const result = resolveAccessPolicy({ accessPolicyJson: json });
    assert.ok(result.ok);
    assert.equal(result.bytes, MAX_POLICY_BYTES);
  });

  void it("an oversized JSON-form policy is reported at spec.accessPolicyJson", () => {
    const json = JSON.stringify(policyOfBytes(6000, "a"));
    const [issue] = issuesOf(resolveAccessPolicy({ accessPolicyJson: json }));
    assert.equal(issue?.path, "spec.accessPolicyJson");
    assert.match(issue.message, /6000 bytes/);
  });

  void it("a very long issue list is cut to a bounded number of issues", () => {
    const statements = Array.from({ length: 100 }, () => ({ Effect: "Permit", Action: "a:b" }));
    const issues = issuesOf(
      resolveAccessPolicy({ accessPolicy: { Version: "2012-10-17", Statement: statements } }),
    );
    assert.equal(issues.length, MAX_REPORTED_ISSUES);
    assert.equal(issues.at(-1)?.message, "and 81 more issues");
    assert.ok(issues.every((issue) => issue.path.startsWith("spec.accessPolicy.Statement[")));
  });

  void it("inputs that throw when read are reported instead of crashing", () => {
    const hostile = {
      get accessPolicy(): never {
        throw new Error("boom");
      },
    };
    const [issue] = issuesOf(resolveAccessPolicy(hostile));
    assert.equal(issue?.path, "spec");
    const proxy = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error("no keys");
        },
      },
    );
    const [proxied] = issuesOf(resolveAccessPolicy({ accessPolicy: proxy }));
    assert.ok(proxied?.path.startsWith("spec"));
  });

  void it("input that is not an object is reported as having neither field", () => {
    const [issue] = issuesOf(resolveAccessPolicy("policy" as never));
    assert.match(issue?.message ?? "", /neither is/);
  });

  void it("formatIssues joins issues as path: message", () => {
    assert.equal(
      formatIssues([
        { path: "spec.a", message: "one" },
        { path: "spec.b", message: "two" },
      ]),
      "spec.a: one; spec.b: two",
    );
  });
});
