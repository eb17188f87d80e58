// `log-destination-policy-controller diff` as a reviewer or CI runs it: the
// built-in command, the default AWS credential chain pointed at the emulator
// through the fault proxy, and no cluster at all (KUBECONFIG names a file that
// does not exist). Every call the command makes is checked at the proxy: only
// DescribeDestinations and AssumeRole, never a write.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CloudWatchLogsClient, PutDestinationPolicyCommand } from "@aws-sdk/client-cloudwatch-logs";
import { diffReportSchema, type DiffReport } from "../../src/cli/diff-report.ts";
import { dummyCredentials } from "../../env/variables.ts";
import { getTestEnv, type TestEnv } from "../support/env.ts";
import { createDestination, emulatorAs, putPolicyDirectly } from "../support/aws.ts";
import { runCommand, type Ran } from "../support/process.ts";
import { unique } from "../support/setup.ts";

const root = join(import.meta.dirname, "..", "..");
const ROLE_ACCOUNT = "111111111111";
const ALLOWED_ROLE = `arn:aws:iam::${ROLE_ACCOUNT}:role/ldp-reader`;
const READ_ONLY = new Set(["DescribeDestinations", "AssumeRole"]);

describe("diff against the emulator", () => {
  let env: TestEnv;
  let dir: string;

  before(async () => {
    env = await getTestEnv();
    dir = mkdtempSync(join(tmpdir(), "ldpc-diff-"));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the command; asserts afterwards that it only read from AWS. */
  async function diff(args: string[], extraEnv: Record<string, string> = {}): Promise<Ran> {
    const before = (await env.proxy.calls()).length;
    const ran = await runCommand(
      process.execPath,
      [join(root, "src", "main.ts"), "diff", ...args],
      {
        cwd: dir,
        env: {
          PATH: process.env.PATH ?? "",
          HOME: dir,
          KUBECONFIG: join(dir, "no-such-kubeconfig"),
          AWS_REGION: env.region,
          AWS_ACCESS_KEY_ID: dummyCredentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: dummyCredentials.secretAccessKey,
          AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: env.awsEndpoint,
          AWS_ENDPOINT_URL_STS: env.awsEndpoint,
          // The credential chain must never reach for the instance metadata service.
          AWS_EC2_METADATA_DISABLED: "true",
          ...extraEnv,
        },
      },
    );
    const calls = (await env.proxy.calls()).slice(before);
    const writes = calls.filter((call) => !READ_ONLY.has(call.operation));
    assert.deepEqual(writes, [], "diff made no call but DescribeDestinations and AssumeRole");
    return ran;
  }

  function write(name: string, text: string): string {
    const file = join(dir, name);
    writeFileSync(file, text);
    return file;
  }

  function manifest(name: string, destination: string, policy: string, extra = ""): string {
    return `apiVersion: logs.gitops.dev/v1alpha1
kind: LogDestinationPolicy
metadata:
  name: ${name}
spec:
  destinationName: ${destination}
${extra}  accessPolicy:
${policy}`;
  }

  const senders = (destination: string, accounts: string[]) => `    Version: "2012-10-17"
    Statement:
      - Sid: Senders
        Effect: Allow
        Principal:
          AWS: [${accounts.map((a) => `"${a}"`).join(", ")}]
        Action: logs:PutSubscriptionFilter
        Resource: arn:aws:logs:${env.region}:123456789012:destination:${destination}
`;

  const livePolicy = (destination: string, accounts: string[]) => ({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "Senders",
        Effect: "Allow",
        Principal: { AWS: accounts },
        Action: "logs:PutSubscriptionFilter",
        Resource: `arn:aws:logs:${env.region}:123456789012:destination:${destination}`,
      },
    ],
  });

  function report(ran: Ran): DiffReport {
    const value: unknown = JSON.parse(ran.stdout);
    const parsed = diffReportSchema.parse(value);
    assert.deepEqual(parsed, value, "no field outside the documented schema");
    return parsed;
  }

  test("an equal policy written in another form prints nothing and exits 0", async () => {
    const name = unique("same");
    await createDestination(env, name);
    // AWS's order and forms: statement keys reordered, single values as lists, root ARNs.
    await putPolicyDirectly(env, name, {
      Statement: [
        {
          Resource: [`arn:aws:logs:${env.region}:123456789012:destination:${name}`],
          Action: ["logs:PutSubscriptionFilter"],
          Principal: { AWS: ["arn:aws:iam::222222222222:root", "111111111111"] },
          Effect: "Allow",
          Sid: "Senders",
        },
      ],
      Version: "2012-10-17",
    });
    const file = write(
      `${name}.yaml`,
      manifest(name, name, senders(name, ["111111111111", "222222222222"])),
    );
    for (const format of ["text", "markdown"]) {
      const ran = await diff(["-o", format, file]);
      assert.equal(ran.code, 0, ran.stderr);
      assert.equal(ran.stdout, "", format);
    }
    const json = await diff(["-o", "json", file]);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(report(json).destinations, []);
  });

  test("a change exits 1 and names the accounts that gain and lose access", async (t) => {
    const name = unique("change");
    await createDestination(env, name);
    await putPolicyDirectly(env, name, livePolicy(name, ["111111111111", "222222222222"]));
    const file = write(
      `${name}.yaml`,
      manifest(name, name, senders(name, ["111111111111", "333333333333"])),
    );

    const text = await diff([file]);
    t.diagnostic(text.stdout);
    assert.equal(text.code, 1, text.stderr);
    assert.match(text.stdout, new RegExp(`^~ destination ${name} in ${env.region} \\(${file}:4 `));
    assert.match(text.stdout, /gains access: account 333333333333\n/);
    assert.match(text.stdout, /loses access: account 222222222222\n/);

    const json = await diff(["-o", "json", file]);
    assert.equal(json.code, 1);
    const [changed] = report(json).destinations;
    assert.deepEqual(changed?.access, {
      gained: [{ kind: "account", id: "333333333333" }],
      lost: [{ kind: "account", id: "222222222222" }],
    });
    assert.deepEqual(changed.statements, { added: [], removed: [], changed: ["Sid Senders"] });

    const markdown = await diff(["-o", "markdown", file]);
    assert.equal(markdown.code, 1);
    assert.match(markdown.stdout, /- \*\*Gains access:\*\* account `333333333333`/);
    assert.match(markdown.stdout, /- \*\*Loses access:\*\* account `222222222222`/);
  });

  test("a policy that accepts grants: the merged document against the live one, each account attributed", async () => {
    const name = unique("shared");
    await createDestination(env, name);
    // AWS holds the merged document of an earlier day: two granted accounts.
    const arn = `arn:aws:logs:${env.region}:123456789012:destination:${name}`;
    await putPolicyDirectly(env, name, {
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "GrantedAccounts",
          Effect: "Allow",
          Principal: { AWS: ["111111111111", "222222222222"] },
          Action: "logs:PutSubscriptionFilter",
          Resource: arn,
        },
      ],
    });
    const grant = (namespace: string, grantName: string, accounts: string[]) =>
      `apiVersion: logs.gitops.dev/v1alpha1
kind: LogDestinationGrant
metadata: {name: ${grantName}, namespace: ${namespace}}
spec:
  policyRef: {namespace: logging, name: ${name}}
  principals: {accounts: [${accounts.map((a) => `"${a}"`).join(", ")}]}
`;
    const file = write(
      `${name}.yaml`,
      [
        `apiVersion: logs.gitops.dev/v1alpha1
kind: LogDestinationPolicy
metadata: {name: ${name}, namespace: logging}
spec:
  destinationName: ${name}
  grants:
    from: {namespaceSelector: {matchLabels: {logs-sender: "true"}}}
`,
        'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: payments\n  labels: {logs-sender: "true"}\n',
        grant("payments", "payments-senders", ["111111111111", "333333333333"]),
        grant("elsewhere", "stray", ["222222222222"]),
      ].join("---\n"),
    );

    const json = await diff(["-o", "json", file]);
    assert.equal(json.code, 1, json.stderr);
    const [changed] = report(json).destinations;
    assert.deepEqual(changed?.access, {
      gained: [{ kind: "account", id: "333333333333" }],
      lost: [{ kind: "account", id: "222222222222" }],
    });
    assert.deepEqual(changed.grants?.gained, [
      { kind: "account", id: "333333333333", by: ["payments/payments-senders"] },
    ]);
    assert.deepEqual(changed.grants.lost, [
      { kind: "account", id: "222222222222", by: ["elsewhere/stray"] },
    ]);
    // The statements name the live destination's ARN, so only the principals differ.
    assert.deepEqual(changed.statements, {
      added: [],
      removed: [],
      changed: ["Sid GrantedAccounts"],
    });

    const text = await diff([file]);
    assert.equal(text.code, 1);
    assert.match(
      text.stdout,
      /grants: +account 333333333333 added by payments\/payments-senders\n/,
    );
    assert.match(
      text.stdout,
      /account 222222222222 removed: named only by elsewhere\/stray, not admitted\n/,
    );
    assert.match(text.stdout, /elsewhere\/stray refused \(NotAccepted\)/);
  });

  test("a destination that does not exist exits 2 with file and line", async () => {
    const name = unique("missing");
    const file = write(
      `${name}.yaml`,
      `# a comment first, so the line is not the document's\n${manifest(name, name, senders(name, ["111111111111"]))}`,
    );
    const ran = await diff([file]);
    assert.equal(ran.code, 2);
    assert.equal(ran.stdout, "");
    assert.match(
      ran.stderr,
      new RegExp(
        `^${file}:7: spec\\.destinationName: destination "${name}" in ${env.region} does not exist$`,
        "m",
      ),
    );
  });

  test("a public policy is flagged by the guardrail", async () => {
    const name = unique("public");
    await createDestination(env, name);
    await putPolicyDirectly(env, name, livePolicy(name, ["111111111111"]));
    const open = `    Version: "2012-10-17"
    Statement:
      - Sid: Anyone
        Effect: Allow
        Principal: "*"
        Action: logs:PutSubscriptionFilter
        Resource: arn:aws:logs:${env.region}:123456789012:destination:${name}
`;
    const file = write(`${name}.yaml`, manifest(name, name, open));
    const ran = await diff([file]);
    assert.equal(ran.code, 1, ran.stderr);
    assert.match(ran.stdout, /gains access: everyone \(any AWS account\)/);
    assert.match(
      ran.stdout,
      /guardrail: +REFUSED: public \(Sid Anyone\); the controller will not apply this policy/,
    );
    const json = report(await diff(["-o", "json", file]));
    assert.equal(json.destinations[0]?.guardrail.verdict, "refused");
  });

  describe("spec.roleArn", () => {
    let other: CloudWatchLogsClient;

    before(async () => {
      // The test's own way into the role's account: straight to moto, past the proxy.
      other = await emulatorAs(env, ALLOWED_ROLE);
    });
    after(() => {
      other.destroy();
    });

    async function createInRoleAccount(name: string): Promise<void> {
      await createDestination(env, name, env.region, { client: other, account: ROLE_ACCOUNT });
      await other.send(
        new PutDestinationPolicyCommand({
          destinationName: name,
          accessPolicy: JSON.stringify(livePolicy(name, ["444444444444"])),
        }),
      );
    }

    /** A destination in the role's account, and a manifest that reaches it through the role. */
    async function inRoleAccount(name: string): Promise<string> {
      await createInRoleAccount(name);
      return write(
        `${name}.yaml`,
        manifest(name, name, senders(name, ["555555555555"]), `  roleArn: ${ALLOWED_ROLE}\n`),
      );
    }

    test("an allowed role is assumed through STS and the destination read in its account", async () => {
      const name = unique("xacct");
      const file = await inRoleAccount(name);
      const before = (await env.proxy.calls()).length;
      const ran = await diff([
        "-o",
        "json",
        "--allowed-role-arns",
        `arn:aws:iam::${ROLE_ACCOUNT}:role/ldp-*`,
        file,
      ]);
      assert.equal(ran.code, 1, ran.stderr);
      const [changed] = report(ran).destinations;
      assert.equal(changed?.roleArn, ALLOWED_ROLE);
      assert.deepEqual(changed.access, {
        gained: [{ kind: "account", id: "555555555555" }],
        lost: [{ kind: "account", id: "444444444444" }],
      });
      const operations = (await env.proxy.calls()).slice(before).map((call) => call.operation);
      assert.deepEqual(operations, ["AssumeRole", "DescribeDestinations"]);
    });

    test("a role outside --allowed-role-arns is refused at spec.roleArn without any AWS call", async () => {
      const name = unique("refused");
      const file = await inRoleAccount(name);
      const before = (await env.proxy.calls()).length;
      for (const args of [[], ["--allowed-role-arns", "arn:aws:iam::*:role/other-*"]]) {
        const ran = await diff([...args, file]);
        assert.equal(ran.code, 2);
        assert.match(
          ran.stderr,
          new RegExp(`^${file}:7: spec\\.roleArn: role "${ALLOWED_ROLE}" may not be assumed`, "m"),
        );
      }
      assert.equal((await env.proxy.calls()).length, before, "no AWS call at all");
    });
  });

  test("no credentials at all exits 2 and says so", async () => {
    const name = unique("nocreds");
    const file = write(`${name}.yaml`, manifest(name, name, senders(name, ["111111111111"])));
    const ran = await diff([file], {
      AWS_ACCESS_KEY_ID: "",
      AWS_SECRET_ACCESS_KEY: "",
      AWS_CONFIG_FILE: join(dir, "no-config"),
      AWS_SHARED_CREDENTIALS_FILE: join(dir, "no-credentials"),
    });
    assert.equal(ran.code, 2);
    assert.match(
      ran.stderr,
      new RegExp(`^${file}:6: spec\\.destinationName: no AWS credentials`, "m"),
    );
  });
});
