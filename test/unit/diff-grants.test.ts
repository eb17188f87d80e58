// diff on a policy that accepts grants: the live policy is compared with the
// merged one, and each account or organization gained or lost is attributed to
// the grants (or the owner) that name it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { DestinationPolicyApi, LiveDestination } from "../../src/aws/destinations.ts";
import { diffReportSchema } from "../../src/cli/diff-report.ts";
import { diffPaths } from "../../src/cli/diff.ts";
import type { OutputFormat } from "../../src/cli/diff-render.ts";
import { GRANT_STATEMENT_IDS } from "../../src/policy/merge.ts";

const ARN = "arn:aws:logs:us-east-1:111122223333:destination:central-logs";

class FakeLogs implements DestinationPolicyApi {
  readonly #live: string | undefined;
  constructor(live: string | undefined) {
    this.#live = live;
  }
  putPolicy(): Promise<void> {
    return Promise.reject(new Error("diff must never write"));
  }
  describe(): Promise<LiveDestination | undefined> {
    return Promise.resolve({
      destinationName: "central-logs",
      arn: ARN,
      ...(this.#live === undefined ? {} : { accessPolicy: this.#live }),
    });
  }
}

const policy = (extra = "") => `apiVersion: logs.gitops.dev/v1alpha1
kind: LogDestinationPolicy
metadata: {name: central-logs, namespace: logging}
spec:
  destinationName: central-logs
  region: us-east-1
${extra}  grants:
    from: {namespaceSelector: {matchLabels: {logs-sender: "true"}}}
`;

const owner = `  accessPolicy:
    Version: "2012-10-17"
    Statement:
      - Sid: SecurityAccount
        Effect: Allow
        Principal: {AWS: "999988887777"}
        Action: logs:PutSubscriptionFilter
        Resource: ${ARN}
`;

const namespace = (name: string, sender: boolean) =>
  `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n${sender ? '  labels: {logs-sender: "true"}\n' : ""}`;

const grant = (
  ns: string,
  name: string,
  accounts: string[],
) => `apiVersion: logs.gitops.dev/v1alpha1
kind: LogDestinationGrant
metadata: {name: ${name}, namespace: ${ns}}
spec:
  policyRef: {namespace: logging, name: central-logs}
  principals: {accounts: [${accounts.map((a) => `"${a}"`).join(", ")}]}
`;

const livePolicy = (accounts: string[]) =>
  JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: GRANT_STATEMENT_IDS.accounts,
        Effect: "Allow",
        Principal: { AWS: accounts },
        Action: "logs:PutSubscriptionFilter",
        Resource: ARN,
      },
    ],
  });

async function diff(docs: string[], live: string | undefined, output: OutputFormat = "text") {
  let out = "";
  const err: string[] = [];
  const code = await diffPaths(
    ["-"],
    {
      readStdin: () => Promise.resolve(docs.join("---\n")),
      out: (text) => (out += text),
      err: (line) => err.push(line),
    },
    { output, aws: new FakeLogs(live), region: "us-east-1" },
  );
  return { code, out, err };
}

const inputs = [
  namespace("payments", true),
  namespace("checkout", true),
  namespace("elsewhere", false),
  policy(owner),
  grant("payments", "payments-senders", ["444455556666"]),
  grant("checkout", "checkout-senders", ["777788889999", "444455556666"]),
  grant("elsewhere", "stray", ["121212121212"]),
];

describe("diff: a policy that accepts grants", () => {
  test("each account gained is attributed to the grants and the owner that name it", async () => {
    const ran = await diff(inputs, livePolicy(["121212121212", "333333333333"]), "json");
    assert.equal(ran.code, 1, ran.err.join("\n"));
    const value: unknown = JSON.parse(ran.out);
    const report = diffReportSchema.parse(value);
    assert.deepEqual(report, value, "every field is in the schema");
    const [only] = report.destinations;
    assert.deepEqual(only?.grants?.gained, [
      {
        kind: "account",
        id: "444455556666",
        by: ["payments/payments-senders", "checkout/checkout-senders"],
      },
      { kind: "account", id: "777788889999", by: ["checkout/checkout-senders"] },
      { kind: "account", id: "999988887777", by: ["owner"] },
    ]);
    assert.deepEqual(only.grants.lost, [
      { kind: "account", id: "121212121212", by: ["elsewhere/stray"] },
      { kind: "account", id: "333333333333", by: [] },
    ]);
    assert.deepEqual(
      only.grants.grants.map((g) => [g.name, g.verdict, g.reason]),
      [
        ["payments-senders", "admitted", "Applied"],
        ["checkout-senders", "admitted", "Applied"],
        ["stray", "refused", "NotAccepted"],
      ],
    );
    assert.equal(only.size.after, only.grants.bytes);
  });

  test("the text names who adds and who removes each principal", async () => {
    const ran = await diff(inputs, livePolicy(["121212121212", "333333333333"]));
    assert.equal(ran.code, 1);
    const lines = ran.out.split("\n").map((line) => line.trim());
    for (const expected of [
      "grants:       account 444455556666 added by payments/payments-senders, checkout/checkout-senders",
      "account 999988887777 added by owner",
      "account 121212121212 removed: named only by elsewhere/stray, not admitted",
      "account 333333333333 removed: no grant or owner statement names it",
    ]) {
      assert.ok(lines.includes(expected), `${expected}\nin\n${ran.out}`);
    }
    const markdown = await diff(inputs, livePolicy(["333333333333"]), "markdown");
    assert.match(
      markdown.out,
      /- account `333333333333` removed: no grant or owner statement names it/,
    );
  });

  test("a live policy equal to the merged one is no change", async () => {
    const merged = JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: GRANT_STATEMENT_IDS.accounts,
          Effect: "Allow",
          Principal: { AWS: ["444455556666", "777788889999"] },
          Action: "logs:PutSubscriptionFilter",
          Resource: ARN,
        },
      ],
    });
    const ran = await diff([policy(), ...inputs.slice(0, 2), ...inputs.slice(4, 6)], merged);
    assert.equal(ran.code, 0, ran.out);
    assert.equal(ran.out, "");
  });

  test("a grants-only policy with no grant admitted would send the one Deny statement", async () => {
    const ran = await diff([policy()], livePolicy(["444455556666"]), "json");
    const [only] = diffReportSchema.parse(JSON.parse(ran.out)).destinations;
    assert.deepEqual(only?.statements.added, ["Sid NoGrantAdmitted"]);
    assert.deepEqual(only.grants?.lost, [{ kind: "account", id: "444455556666", by: [] }]);
  });
});
