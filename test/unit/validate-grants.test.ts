// validate on LogDestinationGrant manifests: the schema, field by field with
// its limits, and, given the policy in the same run, what the controller would
// do with each grant: admit it, keep it waiting for room or forceUpdate, or
// refuse it, and the size of the merged policy. All offline.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { emptyTenancy, readBindings } from "../../src/cli/validate-bindings.ts";
import { formatProblem, validateManifests } from "../../src/cli/validate-core.ts";
import { analyseShared, PLACEHOLDER_ACCOUNT } from "../../src/cli/validate-shared.ts";
import { sharedText } from "../../src/cli/validate-shared-render.ts";
import { GRANT_LIMITS } from "../../src/api/grant.ts";

const examples = join(import.meta.dirname, "..", "..", "examples");

const policy = (extra = "") => `apiVersion: logs.gitops.dev/v1alpha1
kind: LogDestinationPolicy
metadata: {name: central-logs, namespace: logging}
spec:
  destinationName: central-logs
  region: us-east-1
${extra}  grants:
    from: {namespaceSelector: {matchLabels: {logs-sender: "true"}}}
`;

const namespace = (name: string, labels = '{logs-sender: "true"}') =>
  `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n  labels: ${labels}\n`;

const grant = (ns: string, name: string, principals: string) =>
  `apiVersion: logs.gitops.dev/v1alpha1
kind: LogDestinationGrant
metadata: {name: ${name}, namespace: ${ns}}
spec:
  policyRef: {namespace: logging, name: central-logs}
  principals:
${principals}`;

const accounts = (list: readonly string[]) =>
  `    accounts: [${list.map((a) => `"${a}"`).join(", ")}]\n`;

const many = (count: number, from = 100000000000) =>
  Array.from({ length: count }, (_, i) => String(from + i));

/** validate's whole pipeline for one input, as validate.ts runs it. */
function run(text: string, bindings?: string) {
  const tenancy = bindings === undefined ? undefined : emptyTenancy();
  if (tenancy && bindings !== undefined) {
    readBindings(tenancy, bindings, "bindings.yaml");
    readBindings(tenancy, text, "input.yaml");
  }
  const result = validateManifests(text, "input.yaml", tenancy ? { tenancy } : {});
  const shared = analyseShared({
    policies: result.policies,
    grants: result.grants,
    namespaces: result.namespaces,
    tenancy,
    namespace: "default",
  });
  return {
    result,
    shared: shared.shared,
    problems: [...result.problems, ...shared.problems].map(formatProblem),
    warnings: shared.warnings.map(formatProblem),
  };
}

const verdicts = (ran: ReturnType<typeof run>) =>
  ran.shared.flatMap((s) => s.grants.map((g) => `${g.grant.name} ${g.verdict} ${g.reason}`));

describe("validate: LogDestinationGrant manifests", () => {
  test("examples/shared-destination.yaml has no problem, and both grants would be admitted", () => {
    const text = readFileSync(join(examples, "shared-destination.yaml"), "utf8");
    const bindings = readFileSync(join(examples, "bindings.yaml"), "utf8");
    const ran = run(text, bindings);
    assert.deepEqual(ran.problems, []);
    assert.deepEqual(ran.warnings, []);
    assert.deepEqual(verdicts(ran), [
      "payments-senders admitted Applied",
      "checkout-senders admitted Applied",
    ]);
    assert.equal(ran.result.grantsChecked, 2);
  });

  test("a schema problem names the field and the limit, at its line", () => {
    const text = grant(
      "payments",
      "too-many",
      `${accounts(many(GRANT_LIMITS.accounts + 1))}    organizationIds: ["o-a1b2c3d4e5", "o-a1b2c3d4e5"]\n    organizationPaths: ["o-a1b2c3d4e5/*"]\n    acounts: []\n`,
    );
    const { problems } = run(text);
    assert.deepEqual(problems, [
      `input.yaml:7: spec.principals.accounts: at most ${GRANT_LIMITS.accounts} accounts in one grant`,
      "input.yaml:8: spec.principals.organizationIds[1]: duplicate organization o-a1b2c3d4e5",
      "input.yaml:9: spec.principals.organizationPaths[0]: must be an organization path that starts with a fixed organization and root, such as o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/",
      'input.yaml:10: spec.principals.acounts: unknown field (did you mean "accounts"?)',
    ]);
  });

  test("a grant that names nobody, or no policy, is refused with the field", () => {
    const text = `apiVersion: logs.gitops.dev/v1alpha1
kind: LogDestinationGrant
metadata: {name: empty, namespace: payments}
spec:
  principals: {}
`;
    assert.deepEqual(run(text).problems, [
      "input.yaml:4: spec.policyRef: Invalid input: expected object, received undefined",
      "input.yaml:5: spec.principals: name at least one account, organization ID or organization path",
    ]);
  });

  test("a grant from a namespace spec.grants.from does not select is NotAccepted, at spec.policyRef", () => {
    const text = [
      policy(),
      namespace("elsewhere", "{team: other}"),
      grant("elsewhere", "stray", accounts(["444455556666"])),
    ].join("---\n");
    const ran = run(text);
    assert.deepEqual(verdicts(ran), ["stray refused NotAccepted"]);
    assert.equal(ran.problems.length, 1);
    assert.match(
      ran.problems[0] ?? "",
      /^input\.yaml:\d+: spec\.policyRef: LogDestinationPolicy logging\/central-logs does not accept grants from namespace elsewhere/,
    );
  });

  test("with --bindings, a principal the grant's namespace may not grant is NotPermitted, at its line", () => {
    const bindings = `apiVersion: logs.gitops.dev/v1alpha1
kind: LogDestinationPolicyBinding
metadata: {name: payments}
spec:
  namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: payments}}
  destinations: [central-logs]
  principals: {accounts: ["444455556666"]}
`;
    const owner = `apiVersion: logs.gitops.dev/v1alpha1
kind: LogDestinationPolicyBinding
metadata: {name: logging}
spec:
  namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: logging}}
  destinations: [central-logs]
`;
    const text = [
      policy(),
      namespace("payments"),
      grant("payments", "ok", accounts(["444455556666"])),
      grant(
        "payments",
        "greedy",
        '    accounts:\n      - "444455556666"\n      - "121212121212"\n',
      ),
    ].join("---\n");
    const ran = run(text, `${bindings}---\n${owner}`);
    assert.deepEqual(verdicts(ran), ["ok admitted Applied", "greedy refused NotPermitted"]);
    const lines = text.split("\n");
    const line = lines.findIndex((l) => l.includes('"121212121212"')) + 1;
    assert.deepEqual(ran.problems, [
      `input.yaml:${line}: spec.principals.accounts: account "121212121212" is not permitted by binding payments (the bindings that select namespace payments: payments).`,
    ]);
    // Without bindings only the owner's consent counts, as without --require-binding.
    assert.deepEqual(verdicts(run(text)), ["ok admitted Applied", "greedy admitted Applied"]);
  });

  test("grants are admitted in (namespace, name) order while they fit; the next waits with bytes needed and left", () => {
    const text = [
      policy(),
      namespace("a-team"),
      namespace("b-team"),
      grant("a-team", "big", accounts(many(300))),
      grant("b-team", "more", accounts(many(30, 200000000000))),
    ].join("---\n");
    const ran = run(text);
    assert.deepEqual(verdicts(ran), ["big admitted Applied", "more waiting PolicySizeExceeded"]);
    const [shared] = ran.shared;
    assert.ok(shared);
    const more = shared.grants[1];
    assert.equal(more?.neededBytes, 30 * 15);
    assert.ok(more.leftBytes !== undefined && more.leftBytes < 30 * 15);
    assert.equal(shared.bytes, shared.merge.bytes);
    assert.ok(shared.bytes <= 5120);
    assert.deepEqual(ran.problems, []);
    assert.equal(ran.warnings.length, 1);
    assert.match(
      ran.warnings[0] ?? "",
      /spec\.principals: would wait for room: its principals need 450 more bytes/,
    );
    const block = sharedText(shared);
    assert.match(block, /merged policy \d+ of 5120 bytes/);
    assert.match(block, new RegExp(`account ${PLACEHOLDER_ACCOUNT.accountId} stands in`));
  });

  test("offline no grant is applied yet, so an organization next to accounts is admitted at once", () => {
    const grants = [
      namespace("payments"),
      grant("payments", "a-accounts", accounts(["444455556666"])),
      grant("payments", "b-org", '    organizationIds: ["o-a1b2c3d4e5"]\n'),
    ];
    // Offline no grant is applied yet, so a fresh destination takes both at once.
    assert.deepEqual(verdicts(run([policy(), ...grants].join("---\n"))), [
      "a-accounts admitted Applied",
      "b-org admitted Applied",
    ]);
  });

  test("an owner statement may not use the ids the merge writes", () => {
    const owner = `  accessPolicy:
    Version: "2012-10-17"
    Statement:
      - Sid: GrantedAccounts
        Effect: Allow
        Principal: {AWS: "999988887777"}
        Action: logs:PutSubscriptionFilter
        Resource: "*"
`;
    const ran = run(policy(owner));
    assert.deepEqual(ran.problems, [
      'input.yaml:7: spec.accessPolicy.Statement[0].Sid: "GrantedAccounts" is reserved for the statements merged from grants while spec.grants is set',
    ]);
  });

  test("a grant's namespace is checked, and nothing from a manifest reaches the terminal raw", () => {
    const bad = grant("Payments\u001b[2J", "x", accounts(["444455556666"])).replace(
      "namespace: Payments\u001b[2J",
      'namespace: "Payments\\e[2J"',
    );
    const ran = run(bad);
    assert.deepEqual(ran.problems, [
      "input.yaml:3: metadata.namespace: must be a namespace name: lower-case letters, digits and '-', at most 63 characters",
    ]);
    assert.equal(ran.result.grants.length, 0);
    // A policy's namespace is not checked offline, so the report escapes it.
    const text = policy().replace("namespace: logging", 'namespace: "log\\eging"');
    const [shared] = run(text).shared;
    assert.ok(shared);
    assert.match(sharedText(shared), /log\\u001bging\/central-logs/);
  });

  test("the destination's account comes from spec.roleArn when it names one", () => {
    const ran = run(policy("  roleArn: arn:aws:iam::111122223333:role/logs\n"));
    assert.equal(
      ran.shared[0]?.resource,
      "arn:aws:logs:us-east-1:111122223333:destination:central-logs",
    );
    assert.deepEqual(ran.shared[0].placeholders, []);
  });
});
