// docs/aws-setup.md and its IAM documents (deploy/aws/*.json) held to the code:
// the AWS calls the code can make are found in the source, and the controller's
// policy grants exactly their IAM actions, each scoped as IAM allows.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { glob } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { AWS_OPERATIONS, type AwsOperation } from "../../src/aws/operations.ts";
import { roleSessionTags, sweepSessionTags } from "../../src/aws/role-sessions.ts";
import { validatePolicyDocument } from "../../src/policy/index.ts";

const root = join(import.meta.dirname, "..", "..");
const awsDir = join(root, "deploy", "aws");
const operations: Record<string, AwsOperation> = AWS_OPERATIONS;

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource?: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, string | string[]>>;
}
interface Document {
  Statement: Statement[];
}

const list = (value: string | string[] | undefined) =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const readDocument = (file: string) =>
  JSON.parse(readFileSync(join(awsDir, file), "utf8")) as Document;
const actionsOf = (document: Document) =>
  new Set(document.Statement.filter((s) => s.Effect === "Allow").flatMap((s) => list(s.Action)));
const sorted = (values: Iterable<string>) => [...values].sort();

/** `new XCommand(` for every X imported from an @aws-sdk package, per source file. */
async function sdkCommandsSent(): Promise<Map<string, string>> {
  const sent = new Map<string, string>();
  for await (const file of glob("src/**/*.ts", { cwd: root })) {
    const text = readFileSync(join(root, file), "utf8");
    const imported = new Set<string>();
    for (const [, names = ""] of text.matchAll(
      /import\s*\{([^}]*)\}\s*from\s*"@aws-sdk\/[^"]+"/g,
    )) {
      for (const name of names.split(",")) {
        const match = /^\s*(?:type\s+)?(\w+Command)\s*$/.exec(name);
        if (match?.[1] && !name.trim().startsWith("type ")) imported.add(match[1]);
      }
    }
    for (const [, command = ""] of text.matchAll(/new\s+(\w+Command)\s*\(/g)) {
      if (imported.has(command)) sent.set(command.replace(/Command$/, ""), file);
    }
  }
  return sent;
}

describe("the AWS calls the code makes", () => {
  test("are exactly the operations of AWS_OPERATIONS", async () => {
    const sent = await sdkCommandsSent();
    assert.ok(sent.size > 0, "the scan finds the SDK commands");
    assert.deepEqual(sorted(sent.keys()), sorted(Object.keys(operations)));
  });

  test("AssumeRole is sent with session tags, so it needs sts:TagSession", async () => {
    const file = (await sdkCommandsSent()).get("AssumeRole");
    assert.ok(file);
    assert.match(readFileSync(join(root, file), "utf8"), /new AssumeRoleCommand\(\{[^}]*\bTags\b/s);
    assert.ok(operations.AssumeRole?.iamActions.includes("sts:TagSession"));
  });
});

describe("the controller's IAM policy", () => {
  const policy = readDocument("controller-policy.json");

  test("allows the IAM actions of every call the code makes, and no other", () => {
    const needed = Object.values(operations).flatMap((o) => o.iamActions);
    assert.deepEqual(sorted(actionsOf(policy)), sorted(new Set(needed)));
    assert.ok(policy.Statement.every((s) => s.Effect === "Allow"));
  });

  test("scopes each action as narrowly as IAM allows: destinations, roles, or * where IAM has no resource", () => {
    const kind = (action: string) =>
      Object.values(operations).find((o) => o.iamActions.includes(action))?.resource;
    const pattern = {
      destination: /^arn:aws:logs:[^:]+:\$\{ACCOUNT_ID\}:destination:.+$/,
      role: /^arn:aws:iam::[^:]+:role\/.+$/,
      "*": /^\*$/,
    } as const;
    for (const statement of policy.Statement) {
      const kinds = new Set(list(statement.Action).map(kind));
      assert.equal(kinds.size, 1, `${statement.Sid ?? ""} mixes resource kinds`);
      const [only] = kinds;
      assert.ok(only && only !== "none", statement.Sid);
      for (const resource of list(statement.Resource)) {
        assert.match(resource, pattern[only], statement.Sid);
      }
    }
  });

  test("a target role gets the CloudWatch Logs half, and diff's identity only reads", () => {
    const logs = Object.values(operations)
      .flatMap((o) => o.iamActions)
      .filter((a) => a.startsWith("logs:"));
    assert.deepEqual(sorted(actionsOf(readDocument("target-role-policy.json"))), sorted(logs));
    assert.deepEqual(sorted(actionsOf(readDocument("diff-policy.json"))), [
      ...AWS_OPERATIONS.DescribeDestinations.iamActions,
      "sts:AssumeRole",
    ]);
  });
});

describe("the trust policies", () => {
  test("a target role admits only sessions tagged with the controller's keys, its namespace required", () => {
    const statement = readDocument("target-role-trust-policy.json").Statement[0];
    assert.ok(statement);
    assert.deepEqual(sorted(list(statement.Action)), ["sts:AssumeRole", "sts:TagSession"]);
    const keys = Object.keys(roleSessionTags("ns", "name"));
    assert.deepEqual(
      sorted(list(statement.Condition?.["ForAllValues:StringEquals"]?.["aws:TagKeys"])),
      sorted(keys),
    );
    // Drift sweeps carry only the namespace tag: the trust policy may require no other.
    const required = Object.keys(statement.Condition?.StringEquals ?? {});
    assert.deepEqual(
      required,
      Object.keys(sweepSessionTags("ns")).map((k) => `aws:RequestTag/${k}`),
    );
  });

  test("IRSA binds the role to the chart's ServiceAccount and to STS tokens; Pod Identity trusts the agent", () => {
    const irsa = readDocument("irsa-trust-policy.json").Statement[0];
    assert.deepEqual(irsa?.Condition?.StringEquals, {
      "${OIDC_PROVIDER}:sub": "system:serviceaccount:${NAMESPACE}:${SERVICE_ACCOUNT}",
      "${OIDC_PROVIDER}:aud": "sts.amazonaws.com",
    });
    const pod = readDocument("pod-identity-trust-policy.json").Statement[0];
    assert.ok(pod);
    assert.deepEqual(pod.Principal, { Service: "pods.eks.amazonaws.com" });
    assert.deepEqual(sorted(list(pod.Action)), ["sts:AssumeRole", "sts:TagSession"]);
  });
});

describe("every IAM document of deploy/aws", () => {
  const doc = readFileSync(join(root, "docs", "aws-setup.md"), "utf8");
  const files = readdirSync(awsDir).filter((f) => f.endsWith(".json"));
  const examples: Record<string, string> = {
    ACCOUNT_ID: "111122223333",
    TARGET_ACCOUNT_ID: "222222222222",
    OIDC_PROVIDER: "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE",
    NAMESPACE: "ldpc-system",
    SERVICE_ACCOUNT: "ldpc-log-destination-policy-controller",
    CONTROLLER_ROLE: "ldpc",
    TENANT_NAMESPACE: "payments",
  };
  const filled = /envsubst '([^']*)'/
    .exec(doc)?.[1]
    ?.split(/\s+/)
    .map((v) => v.replace(/^\$/, ""));

  for (const file of files) {
    test(`${file}: passes the project's IAM grammar once its placeholders are filled`, () => {
      const text = readFileSync(join(awsDir, file), "utf8");
      const placeholders = [...text.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1] ?? "");
      for (const name of placeholders) {
        assert.ok(filled?.includes(name), `${name} is filled in by the doc's envsubst`);
      }
      const value: unknown = JSON.parse(
        text.replace(/\$\{(\w+)\}/g, (_, name: string) => examples[name] ?? ""),
      );
      const result = validatePolicyDocument(value);
      assert.ok(result.ok, JSON.stringify(result.ok ? [] : result.issues));
      assert.ok(doc.includes(text.trim()), `docs/aws-setup.md shows ${file} as it is`);
    });
  }
});
