// The offline validator's rules and the lines it reports, without any I/O.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { formatProblem, validateManifests, type Problem } from "../../src/cli/validate-core.ts";
import { parsePath } from "../../src/cli/manifest-lines.ts";

const examples = join(import.meta.dirname, "..", "..", "examples");

/** The 1-based line of the only line of `text` that contains `needle`. */
function lineOf(text: string, needle: string): number {
  const lines = text.split("\n");
  const found = lines.flatMap((line, index) => (line.includes(needle) ? [index + 1] : []));
  assert.equal(found.length, 1, `"${needle}" must occur on exactly one line`);
  return found[0] ?? 0;
}

// The smallest policy the grammar accepts, as a YAML flow scalar for accessPolicyJson.
const json = `'{"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Principal": {"AWS": "1"}, "Action": "logs:*", "Resource": "*"}}'`;

const summary = (problems: Problem[]) => problems.map((p) => `${p.line} ${p.path}`);

const header = (name: string) =>
  `apiVersion: logs.gitops.dev/v1alpha1\nkind: LogDestinationPolicy\nmetadata:\n  name: ${name}\n`;

const validPolicy = `  accessPolicy:
    Version: "2012-10-17"
    Statement:
      - Effect: Allow
        Principal:
          AWS: "123456789012"
        Action: logs:PutSubscriptionFilter
        Resource: arn:aws:logs:us-east-1:111122223333:destination:central
`;

describe("validate: the examples", () => {
  // bindings.yaml holds the cluster-scoped bindings the others need; validate --bindings reads it.
  const files = readdirSync(examples).filter((f) => f.endsWith(".yaml") && f !== "bindings.yaml");

  test("there is an example for each documented use", () => {
    for (const file of [
      "cross-account.yaml",
      "organization.yaml",
      "json-string.yaml",
      "multi-region.yaml",
      "shared-destination.yaml",
    ]) {
      assert.ok(files.includes(file), `examples/${file} exists`);
    }
  });

  for (const file of files) {
    test(`examples/${file} has no problem`, () => {
      const result = validateManifests(readFileSync(join(examples, file), "utf8"), file);
      assert.deepEqual(result.problems.map(formatProblem), []);
      assert.ok(result.checked >= 1);
    });
  }

  test("the multi-region example holds one object per region", () => {
    const text = readFileSync(join(examples, "multi-region.yaml"), "utf8");
    assert.equal(validateManifests(text, "multi-region.yaml").checked, 3);
    const regions = [...text.matchAll(/^ {2}region: (\S+)$/gm)].map((m) => m[1]);
    assert.equal(new Set(regions).size, 3);
  });
});

describe("validate: problems and their lines", () => {
  test("a valid object has no problem", () => {
    const text = `${header("ok")}spec:\n  destinationName: central\n${validPolicy}`;
    const { policies, ...counts } = validateManifests(text, "ok.yaml");
    assert.deepEqual(counts, {
      problems: [],
      warnings: [],
      checked: 1,
      grantsChecked: 0,
      ignored: 0,
      grants: [],
      namespaces: new Map(),
    });
    // What diff compares: the parsed spec with its defaults, and lines to report against.
    const [policy] = policies;
    assert.equal(policies.length, 1);
    assert.equal(policy?.name, "ok");
    assert.equal(policy.line, lineOf(text, "name: ok"));
    assert.equal(policy.lineOf("destinationName"), lineOf(text, "destinationName:"));
    assert.equal(policy.lineOf("region"), lineOf(text, "spec:"));
    assert.equal(policy.spec.mode, "Enforce");
    assert.equal(policy.policy.bytes, policy.policy.canonical.length);
    assert.deepEqual(policy.guardrail, []);
  });

  test("a policy above 80 % of the size limit is a warning on its field, not a problem", () => {
    const accounts = (count: number) =>
      Array.from({ length: count }, (_, i) => `            - "${String(100000000000 + i)}"`).join(
        "\n",
      );
    const policy = (count: number) => `spec:
  destinationName: central
  accessPolicy:
    Version: "2012-10-17"
    Statement:
      - Effect: Allow
        Principal:
          AWS:
${accounts(count)}
        Action: logs:PutSubscriptionFilter
        Resource: arn:aws:logs:us-east-1:111122223333:destination:central
`;
    const near = `${header("near")}${policy(290)}`;
    const result = validateManifests(near, "near.yaml");
    assert.deepEqual(result.problems, []);
    assert.deepEqual(summary(result.warnings), [
      `${lineOf(near, "accessPolicy:")} spec.accessPolicy`,
    ]);
    assert.match(result.warnings[0]?.message ?? "", /of the 5120-byte limit.*aws:PrincipalOrgID/);
    const below = validateManifests(`${header("below")}${policy(200)}`, "below.yaml");
    assert.deepEqual(below.warnings, []);
  });

  test("only objects without problems, or with the guardrail's alone, are handed to diff", () => {
    const bad = `${header("bad")}spec:\n  destinationName: "a:b"\n${validPolicy}`;
    const open = `${header("open")}spec:
  destinationName: central
  accessPolicy:
    Version: "2012-10-17"
    Statement:
      - Effect: Allow
        Principal: "*"
        Action: logs:PutSubscriptionFilter
        Resource: "*"
`;
    const result = validateManifests(`${bad}---\n${open}`, "two.yaml");
    assert.deepEqual(
      result.problems.map((problem) => problem.guardrail === true),
      [false, true],
    );
    assert.deepEqual(
      result.policies.map((policy) => [policy.name, policy.guardrail.length]),
      [["open", 1]],
    );
  });

  test("each schema problem points at the line of its field", () => {
    const text = `${header("broken")}spec:
  destinationName: "central:logs"
  region: Europe
  regoin: eu-west-1
  mode: Enforced
  driftDetection:
    interval: soon
${validPolicy}`;
    const { problems } = validateManifests(text, "broken.yaml");
    assert.deepEqual(summary(problems), [
      `${lineOf(text, "destinationName:")} spec.destinationName`,
      `${lineOf(text, "region: Europe")} spec.region`,
      `${lineOf(text, "regoin:")} spec.regoin`,
      `${lineOf(text, "mode:")} spec.mode`,
      `${lineOf(text, "interval:")} spec.driftDetection.interval`,
    ]);
    assert.match(problems[0]?.message ?? "", /must not contain ':', '\*' or control characters/);
    assert.match(problems[2]?.message ?? "", /unknown field \(did you mean "region"\?\)/);
  });

  test("a policy problem points at the line of the statement field", () => {
    const text = `${header("grammar")}spec:
  destinationName: central
  accessPolicy:
    Version: "2012-10-17"
    Statement:
      - Effect: Allow
        Principal: { AWS: "123456789012" }
        Action: logs:PutSubscriptionFilter
        Resource: "*"
      - Effect: Permit
        Principal: { AWS: "123456789012" }
        Actions: logs:PutSubscriptionFilter
        Resource: "*"
`;
    const { problems } = validateManifests(text, "grammar.yaml");
    assert.deepEqual(summary(problems), [
      `${lineOf(text, "Effect: Permit")} spec.accessPolicy.Statement[1].Effect`,
      // A missing field is reported on the first line of the statement that lacks it.
      `${lineOf(text, "Effect: Permit")} spec.accessPolicy.Statement[1].Action`,
      `${lineOf(text, "Actions:")} spec.accessPolicy.Statement[1].Actions`,
    ]);
  });

  test("a problem inside accessPolicyJson points at the accessPolicyJson key", () => {
    const text = `${header("json")}spec:
  destinationName: central
  accessPolicyJson: |
    {
      "Version": "2012-10-17",
      "Statement": [{ "Effect": "Allow", "Principal": {"AWS": "1"},
        "Action": "logs:PutSubscriptionFilter", "Resource": "*", "Sid": 7 }]
    }
`;
    const { problems } = validateManifests(text, "json.yaml");
    assert.ok(problems.length > 0);
    for (const problem of problems) {
      assert.equal(problem.line, lineOf(text, "accessPolicyJson:"));
      assert.match(problem.path, /^spec\.accessPolicyJson\.Statement\[0\]/);
    }
  });

  test("JSON that does not parse is reported on the accessPolicyJson line", () => {
    const text = `${header("json")}spec:\n  destinationName: central\n  accessPolicyJson: '{"Version": '\n`;
    const { problems } = validateManifests(text, "json.yaml");
    assert.deepEqual(summary(problems), [
      `${lineOf(text, "accessPolicyJson:")} spec.accessPolicyJson`,
    ]);
    assert.match(problems[0]?.message ?? "", /not valid JSON/);
  });

  test("a missing field points at its parent, a missing spec at the document", () => {
    const text = `---
# leading comment
${header("no-destination")}spec:
  accessPolicyJson: ${json}
---
${header("no-spec")}`;
    const { problems } = validateManifests(text, "missing.yaml");
    const specLine = lineOf(text, "spec:");
    const secondDocument = lineOf(text, "name: no-spec") - 3;
    assert.deepEqual(summary(problems), [
      `${specLine} spec.destinationName`,
      `${secondDocument} spec`,
    ]);
  });

  test("an oversized policy is refused with its size in bytes", () => {
    const accounts = Array.from({ length: 400 }, (_, i) => String(100000000000 + i));
    const text = `${header("big")}spec:
  destinationName: central
  accessPolicy:
    Version: "2012-10-17"
    Statement:
      - Effect: Allow
        Principal:
          AWS: ${JSON.stringify(accounts)}
        Action: logs:PutSubscriptionFilter
        Resource: "*"
`;
    const { problems } = validateManifests(text, "big.yaml");
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.line, lineOf(text, "accessPolicy:"));
    assert.match(problems[0].message, /is \d+ bytes; PutDestinationPolicy accepts at most 5120/);
  });

  test("a public statement is an error naming its index and Sid, unless allowPublicAccess is set", () => {
    const open = (allow: string) => `${header("open")}spec:
  destinationName: central${allow}
  accessPolicy:
    Version: "2012-10-17"
    Statement:
      - Sid: Accounts
        Effect: Allow
        Principal: { AWS: ["123456789012"] }
        Action: logs:PutSubscriptionFilter
        Resource: "*"
      - Sid: Everyone
        Effect: Allow
        Principal: "*"
        Action: logs:PutSubscriptionFilter
        Resource: "*"
        Condition:
          StringNotEquals: { "aws:PrincipalOrgID": o-a1b2c3d4e5 }
`;
    const text = open("");
    const { problems } = validateManifests(text, "open.yaml");
    assert.deepEqual(summary(problems), [
      `${lineOf(text, "- Sid: Everyone")} spec.accessPolicy.Statement[1]`,
    ]);
    assert.match(
      problems[0]?.message ?? "",
      /^Statement\[1\] \(Sid "Everyone"\) allows "\*" or an AWS principal with a wildcard/,
    );
    assert.match(problems[0]?.message ?? "", /public/);
    const allowed = open("\n  allowPublicAccess: true");
    assert.deepEqual(validateManifests(allowed, "o").problems, []);
    // As the controller run with --deny-public-access-override: the override lifts nothing.
    const denied = validateManifests(allowed, "o", { denyPublicAccessOverride: true }).problems;
    assert.deepEqual(summary(denied), [
      `${lineOf(allowed, "- Sid: Everyone")} spec.accessPolicy.Statement[1]`,
    ]);
    assert.match(denied[0]?.message ?? "", /--deny-public-access-override forbids that override/);
  });

  test("an organization condition is not public", () => {
    const text = readFileSync(join(examples, "organization.yaml"), "utf8");
    assert.deepEqual(validateManifests(text, "organization.yaml").problems, []);
  });

  test("other documents are ignored, and an unserved version of the API is not", () => {
    const text = `apiVersion: v1
kind: ConfigMap
metadata: { name: settings }
data: { destinationName: "not:checked" }
---
apiVersion: other.example.com/v1
kind: LogDestinationPolicy
metadata: { name: not-ours }
spec: {}
---
# only a comment
---
${header("future")}spec:
  destinationName: central
${validPolicy}`.replace("logs.gitops.dev/v1alpha1", "logs.gitops.dev/v1");
    const result = validateManifests(text, "mixed.yaml");
    assert.equal(result.checked, 1);
    assert.equal(result.ignored, 2);
    assert.deepEqual(summary(result.problems), [
      `${lineOf(text, "logs.gitops.dev/v1")} apiVersion`,
    ]);
  });

  test("objects inside a List are checked with their own lines", () => {
    const text = `apiVersion: v1
kind: List
items:
  - ${header("first").trimEnd().replaceAll("\n", "\n    ")}
    spec:
      destinationName: "a*"
      accessPolicyJson: ${json}
  - ${header("second").trimEnd().replaceAll("\n", "\n    ")}
    spec:
      destinationName: b
      accessPolicyJson: "[]"
`;
    const result = validateManifests(text, "list.yaml");
    assert.equal(result.checked, 2);
    assert.deepEqual(summary(result.problems), [
      `${lineOf(text, `"a*"`)} spec.destinationName`,
      `${lineOf(text, `"[]"`)} spec.accessPolicyJson`,
    ]);
  });

  test("a JSON manifest is read like YAML, with lines", () => {
    const object = {
      apiVersion: "logs.gitops.dev/v1alpha1",
      kind: "LogDestinationPolicy",
      metadata: { name: "from-json" },
      spec: { destinationName: "central", accessPolicyJson: json.slice(1, -1), suspend: "yes" },
    };
    const text = JSON.stringify(object, null, "\t");
    const { problems } = validateManifests(text, "object.json");
    assert.deepEqual(summary(problems), [`${lineOf(text, `"suspend"`)} spec.suspend`]);
  });

  test("YAML syntax errors and invalid names are reported on their lines", () => {
    const text = `${header("Upper_Case")}spec:
  destinationName: central
  destinationName: twice
${validPolicy}`;
    const { problems } = validateManifests(text, "dup.yaml");
    assert.deepEqual(summary(problems), [`${lineOf(text, "destinationName: twice")} yaml`]);
    assert.match(problems[0]?.message ?? "", /unique/);

    const renamed = text.replace("  destinationName: twice\n", "");
    assert.deepEqual(summary(validateManifests(renamed, "x").problems), [
      `${lineOf(renamed, "Upper_Case")} metadata.name`,
    ]);
  });

  test("problems print as file:line: path: message", () => {
    assert.equal(
      formatProblem({ file: "a.yaml", line: 7, path: "spec.region", message: "bad" }),
      "a.yaml:7: spec.region: bad",
    );
  });
});

describe("validate: policy paths", () => {
  test("paths written by the policy core split back into segments", () => {
    assert.deepEqual(parsePath("spec.accessPolicy.Statement[2].Principal.AWS[0]"), [
      "spec",
      "accessPolicy",
      "Statement",
      2,
      "Principal",
      "AWS",
      0,
    ]);
    assert.deepEqual(parsePath('spec.accessPolicy.Statement[0].Condition["aws:PrincipalOrgID"]'), [
      "spec",
      "accessPolicy",
      "Statement",
      0,
      "Condition",
      "aws:PrincipalOrgID",
    ]);
    assert.deepEqual(parsePath("spec.x[?]"), ["spec", "x"]);
  });
});
