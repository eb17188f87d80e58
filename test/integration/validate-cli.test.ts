// The validate command as a user runs it: files, directories and stdin, its
// output format and its exit codes, from the source and from a build run by npx.
import assert from "node:assert/strict";
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runCommand, type Ran } from "../support/process.ts";

const root = join(import.meta.dirname, "..", "..");
const examples = join(root, "examples");

function run(
  command: string,
  args: string[],
  options: { input?: string; cwd?: string } = {},
): Promise<Ran> {
  return runCommand(command, args, {
    cwd: options.cwd ?? root,
    // The shebang's `env node` must find the node running these tests.
    env: {
      ...process.env,
      PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}`,
    },
    input: options.input ?? "",
  });
}

const validate = (args: string[], input?: string) =>
  run(process.execPath, [join(root, "src", "main.ts"), "validate", ...args], { input });

const lines = (text: string) => text.split("\n").filter((line) => line !== "");

const broken = `apiVersion: logs.gitops.dev/v1alpha1
kind: LogDestinationPolicy
metadata:
  name: broken
spec:
  destinationName: "central:logs"
  accessPolicyJson: '{"Version": "2012-10-17"'
`;

describe("validate: the command", () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "ldpc-validate-"));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  test("the examples directory passes with exit code 0 and no output on stdout", async () => {
    const result = await validate([examples]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(
      result.stderr,
      // The other documents: the binding, and the Flux and Argo CD objects of examples/gitops/.
      // The Namespaces and the bindings of examples/shared-destination.yaml too.
      /7 LogDestinationPolicies and 2 LogDestinationGrants checked in 8 inputs \(10 other documents ignored\): 0 problems/,
    );
  });

  test("--bindings: the examples pass against examples/bindings.yaml in a namespace it selects", async () => {
    const namespace = join(dir, "namespace.yaml");
    writeFileSync(
      namespace,
      "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: logging\n  labels: {team: logging}\n",
    );
    const bindings = join(examples, "bindings.yaml");
    const ok = await validate([
      examples,
      "--bindings",
      bindings,
      namespace,
      "--namespace",
      "logging",
    ]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    // The same objects in a namespace no binding selects.
    const refused = await validate([join(examples, "json-string.yaml"), "--bindings", bindings]);
    assert.equal(refused.code, 1);
    assert.deepEqual(lines(refused.stdout), [
      `${join(examples, "json-string.yaml")}:6: metadata.namespace: No LogDestinationPolicyBinding selects namespace default, so objects in it may not manage any destination.`,
    ]);
  });

  test("--bindings: each refusal is file:line: field: what is not permitted, and by which bindings", async () => {
    const bindings = join(dir, "bindings.yaml");
    writeFileSync(
      bindings,
      `apiVersion: logs.gitops.dev/v1alpha1
kind: LogDestinationPolicyBinding
metadata: {name: team-payments}
spec:
  namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: payments}}
  destinations: ["payments-*"]
  regions: ["us-east-1"]
  principals: {accounts: ["444444444444"]}
---
apiVersion: logs.gitops.dev/v1alpha1
kind: LogDestinationPolicyBinding
metadata: {name: broken}
spec:
  namespaceSelector: {}
  destinations: []
`,
    );
    const policies = join(dir, "tenant.yaml");
    const policy = (name: string, destination: string, account: string, region = "us-east-1") =>
      `apiVersion: logs.gitops.dev/v1alpha1
kind: LogDestinationPolicy
metadata: {name: ${name}, namespace: payments}
spec:
  destinationName: ${destination}
  region: ${region}
  accessPolicy:
    Version: "2012-10-17"
    Statement:
      - Effect: Allow
        Principal: {AWS: "${account}"}
        Action: logs:PutSubscriptionFilter
        Resource: "*"
`;
    writeFileSync(
      policies,
      [
        policy("ok", "payments-eu", "444444444444"),
        policy("grab", "central-security-logs", "444444444444"),
        policy("region", "payments-eu", "444444444444", "eu-west-2"),
        policy("account", "payments-eu", "999999999999"),
      ].join("---\n"),
    );
    const result = await validate([policies, "--bindings", bindings]);
    assert.equal(result.code, 1);
    const selected = "(the bindings that select namespace payments: team-payments).";
    assert.deepEqual(lines(result.stdout), [
      `${bindings}:10: LogDestinationPolicyBinding broken: spec.destinations: Too small: expected array to have >=1 items`,
      `${policies}:19: spec.destinationName: "central-security-logs" is not permitted by binding team-payments ${selected}`,
      `${policies}:34: spec.region: "eu-west-2" is not permitted by binding team-payments ${selected}`,
      `${policies}:52: spec.accessPolicy.Statement[0]: account "999999999999" is not permitted by binding team-payments ${selected}`,
    ]);
  });

  test("a grant the policy does not accept, or the bindings do not permit, fails at its line; one that does not fit waits", async () => {
    const shared = join(examples, "shared-destination.yaml");
    const grant = (namespace: string, name: string, accounts: string[]) =>
      `apiVersion: logs.gitops.dev/v1alpha1
kind: LogDestinationGrant
metadata: {name: ${name}, namespace: ${namespace}}
spec:
  policyRef: {namespace: logging, name: central-logs}
  principals:
    accounts: [${accounts.map((a) => `"${a}"`).join(", ")}]
`;
    const many = Array.from({ length: 320 }, (_, i) => String(300000000000 + i));
    const grants = join(dir, "grants.yaml");
    writeFileSync(
      grants,
      [
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: billing}\n",
        grant("billing", "stray", ["444455556666"]),
        grant("payments", "greedy", ["121212121212"]),
        grant("payments", "zzz-huge", many),
      ].join("---\n"),
    );
    // The payments team may also grant the bulk accounts.
    writeFileSync(
      join(dir, "payments-wide.yaml"),
      `apiVersion: logs.gitops.dev/v1alpha1
kind: LogDestinationPolicyBinding
metadata: {name: payments-wide}
spec:
  namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: payments}}
  destinations: ["central-logs"]
  principals:
    accounts: [${many.map((a) => `"${a}"`).join(", ")}]
`,
    );
    const ran = await validate([
      "--bindings",
      join(examples, "bindings.yaml"),
      "--bindings",
      join(dir, "payments-wide.yaml"),
      "--",
      shared,
      grants,
    ]);
    assert.equal(ran.code, 1, ran.stderr);
    assert.deepEqual(lines(ran.stdout), [
      `${grants}:9: spec.policyRef: LogDestinationPolicy logging/central-logs does not accept grants from namespace billing: spec.grants.from.namespaceSelector does not select it`,
      `${grants}:19: spec.principals.accounts: account "121212121212" is not permitted by binding payments-senders; binding payments-wide does not permit spec.principals.accounts account "121212121212" (the bindings that select namespace payments: payments-senders, payments-wide).`,
      `${grants}:26: warning: spec.principals: would wait for room: its principals need 4800 more bytes and the merged policy has 4670 of 5120 left`,
    ]);
    assert.match(ran.stderr, /merged policy 450 of 5120 bytes/);
    assert.match(ran.stderr, /waiting {2}PolicySizeExceeded: payments\/zzz-huge/);
    assert.match(
      ran.stderr,
      /1 LogDestinationPolicy and 5 LogDestinationGrants checked in 2 inputs \(4 other documents ignored\): 2 problems, 1 warning/,
    );
  });

  test("an invalid file prints file:line: path: message for each problem and exits 1", async () => {
    const file = join(dir, "broken.yaml");
    writeFileSync(file, broken);
    const result = await validate([file]);
    assert.equal(result.code, 1);
    const [first, second, ...rest] = lines(result.stdout);
    assert.equal(
      first,
      `${file}:6: spec.destinationName: must not contain ':', '*' or control characters (U+0000–U+001F, U+007F–U+009F)`,
    );
    assert.ok(
      second?.startsWith(`${file}:7: spec.accessPolicyJson: accessPolicyJson is not valid JSON: `),
      second,
    );
    assert.deepEqual(rest, []);
    assert.match(result.stderr, /1 LogDestinationPolicy checked in 1 input .*: 2 problems/);
  });

  test("multi-document Kustomize output piped on stdin is checked, other kinds ignored", async () => {
    const parts = ["cross-account.yaml", "multi-region.yaml", "json-string.yaml"].map((f) =>
      readFileSync(join(examples, f), "utf8"),
    );
    const namespace = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: logging\n";
    const stream = [namespace, ...parts].join("---\n");
    const ok = await validate(["-"], stream);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stderr, /5 LogDestinationPolicies checked in 1 input \(1 other document/);

    // The broken object last: its lines count from the start of the stream.
    const withBroken = `${stream}---\n${broken}`;
    const before = withBroken.split("\n").length - broken.split("\n").length;
    const bad = await validate(["-"], withBroken);
    assert.equal(bad.code, 1);
    assert.deepEqual(
      lines(bad.stdout).map((line) => line.split(": ")[0]),
      [`<stdin>:${before + 6}`, `<stdin>:${before + 7}`],
    );
  });

  test("directories are read recursively for *.yaml, *.yml and *.json, in order", async () => {
    const tree = join(dir, "tree");
    mkdirSync(join(tree, "b", "nested"), { recursive: true });
    mkdirSync(join(tree, ".git"), { recursive: true });
    writeFileSync(join(tree, "a.yml"), broken);
    writeFileSync(join(tree, "b", "nested", "c.json"), "{}");
    writeFileSync(join(tree, "b", "z.yaml"), broken.replace("central:logs", "central"));
    writeFileSync(join(tree, "b", "notes.txt"), broken);
    writeFileSync(join(tree, ".git", "hidden.yaml"), broken);
    const result = await validate([tree]);
    assert.equal(result.code, 1);
    assert.deepEqual(
      lines(result.stdout).map((line) => line.split(": ")[0]),
      [`${tree}/a.yml:6`, `${tree}/a.yml:7`, `${tree}/b/z.yaml:7`],
    );
    assert.match(result.stderr, /2 LogDestinationPolicies checked in 3 inputs \(1 other document/);
  });

  test("an unreadable path exits 2 and names it, after checking the others", async () => {
    const missing = join(dir, "missing.yaml");
    const result = await validate([examples, missing]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, new RegExp(`error: cannot read ${missing}: no such file`));
    assert.match(result.stderr, /7 LogDestinationPolicies and 2 LogDestinationGrants checked/);
  });

  test("no path at all is a usage error with exit code 2", async () => {
    const result = await validate([]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /missing required argument 'paths'/);
  });
});

describe("validate: the built package", () => {
  let project: string;

  before(async () => {
    // A copy of the package as npm installs it: package.json, dist/ and the dependencies.
    project = mkdtempSync(join(tmpdir(), "ldpc-package-"));
    copyFileSync(join(root, "package.json"), join(project, "package.json"));
    symlinkSync(join(root, "node_modules"), join(project, "node_modules"));
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    const build = await run(process.execPath, [
      tsc,
      "-p",
      join(root, "tsconfig.build.json"),
      "--outDir",
      join(project, "dist"),
    ]);
    assert.equal(build.code, 0, build.stdout + build.stderr);
  });
  after(() => {
    rmSync(project, { recursive: true, force: true });
  });

  test("dist/main.js starts with a node shebang and runs validate", async () => {
    const main = join(project, "dist", "main.js");
    assert.match(readFileSync(main, "utf8"), /^#!\/usr\/bin\/env node\n/);
    chmodSync(main, 0o755);
    const result = await run(main, ["validate", examples]);
    assert.equal(result.code, 0, result.stderr);
  });

  test("npx runs the package's bin, and npm makes it executable", async () => {
    const main = join(project, "dist", "main.js");
    chmodSync(main, 0o644);
    const result = await run(
      "npx",
      ["--no-install", "log-destination-policy-controller", "validate", "-"],
      { cwd: project, input: broken },
    );
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /^<stdin>:6: spec\.destinationName: /);
    assert.equal(statSync(main).mode & 0o111, 0o111);
  });
});
