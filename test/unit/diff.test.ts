// The diff command's logic against a stand-in for CloudWatch Logs: what it
// prints in each format, its exit codes, the JSON schema, and what it never
// reveals. test/integration/diff.test.ts runs it against the emulator.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type {
  AwsTarget,
  DestinationPolicyApi,
  LiveDestination,
} from "../../src/aws/destinations.ts";
import { AwsCallError } from "../../src/aws/errors.ts";
import { RoleAllowList, RoleNotAllowedError } from "../../src/aws/roles.ts";
import { diffReportSchema, type DiffReport } from "../../src/cli/diff-report.ts";
import { diffPaths, type DiffOptions } from "../../src/cli/diff.ts";
import type { OutputFormat } from "../../src/cli/diff-render.ts";
import { STDIN_NAME } from "../../src/cli/validate-core.ts";

const RESOURCE = "arn:aws:logs:us-east-1:111122223333:destination:central";

/** Live policies by destination name; a thrown error stands for an AWS failure. */
class FakeLogs implements DestinationPolicyApi {
  readonly calls: { target: AwsTarget; name: string }[] = [];
  readonly #live: Record<string, string | undefined | Error>;

  constructor(live: Record<string, string | undefined | Error>) {
    this.#live = live;
  }

  putPolicy(): Promise<void> {
    return Promise.reject(new Error("diff must never write"));
  }

  describe(target: AwsTarget, name: string): Promise<LiveDestination | undefined> {
    this.calls.push({ target, name });
    if (!(name in this.#live)) return Promise.resolve(undefined);
    const value = this.#live[name];
    if (value instanceof Error) return Promise.reject(value);
    return Promise.resolve({
      destinationName: name,
      ...(value === undefined ? {} : { accessPolicy: value }),
    });
  }
}

function manifest(name: string, spec: string): string {
  return `apiVersion: logs.gitops.dev/v1alpha1
kind: LogDestinationPolicy
metadata:
  name: ${name}
spec:
${spec
  .trim()
  .split("\n")
  .map((line) => `  ${line}`)
  .join("\n")}
`;
}

const accountsSpec = (destination: string, accounts: string[], extra = "") =>
  `destinationName: ${destination}
${extra}accessPolicy:
  Version: "2012-10-17"
  Statement:
    - Sid: Senders
      Effect: Allow
      Principal:
        AWS: [${accounts.map((a) => `"${a}"`).join(", ")}]
      Action: logs:PutSubscriptionFilter
      Resource: ${RESOURCE}`;

const livePolicy = (accounts: string[], sid = "Senders") =>
  JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: sid,
        Effect: "Allow",
        Principal: { AWS: accounts.length === 1 ? accounts[0] : accounts },
        Action: ["logs:PutSubscriptionFilter"],
        Resource: RESOURCE,
      },
    ],
  });

interface Ran {
  code: number;
  out: string;
  err: string[];
}

async function diff(
  input: string,
  aws: DestinationPolicyApi,
  output: OutputFormat = "text",
  options: Omit<Partial<DiffOptions>, "region"> & { region?: string | null } = {},
): Promise<Ran> {
  // null: no default region at all.
  const { region = "us-east-1", ...rest } = options;
  let out = "";
  const err: string[] = [];
  const code = await diffPaths(
    ["-"],
    {
      readStdin: () => Promise.resolve(input),
      out: (text) => (out += text),
      err: (line) => err.push(line),
    },
    { output, aws, ...rest, ...(region === null ? {} : { region }) },
  );
  return { code, out, err };
}

function parseReport(text: string): DiffReport {
  const value: unknown = JSON.parse(text);
  const report = diffReportSchema.parse(value);
  // The schema strips what it does not know, so an undocumented field shows up here.
  assert.deepEqual(report, value);
  return report;
}

describe("diff", () => {
  test("an equal policy in another form prints nothing and exits 0, in every format", async () => {
    const json = JSON.stringify({
      Statement: {
        Resource: [RESOURCE],
        Principal: { AWS: ["arn:aws:iam::222222222222:root", "111111111111"] },
        Action: "logs:PutSubscriptionFilter",
        Effect: "Allow",
        Sid: "Senders",
      },
      Version: "2012-10-17",
    });
    const input = manifest("same", `destinationName: central\naccessPolicyJson: '${json}'`);
    const aws = new FakeLogs({ central: livePolicy(["111111111111", "222222222222"]) });
    for (const format of ["text", "markdown"] as const) {
      const ran = await diff(input, aws, format);
      assert.equal(ran.code, 0);
      assert.equal(ran.out, "", format);
      assert.deepEqual(ran.err, [
        "1 LogDestinationPolicy in 1 input (0 other documents ignored): 0 would change, 0 errors",
      ]);
    }
    const ran = await diff(input, aws, "json");
    assert.equal(ran.code, 0);
    assert.deepEqual(parseReport(ran.out), {
      version: 1,
      summary: { compared: 1, changed: 0, errors: 0 },
      destinations: [],
      errors: [],
    });
  });

  test("a change exits 1 and names who gains and who loses access", async () => {
    const input = manifest("central", accountsSpec("central", ["111111111111", "333333333333"]));
    const aws = new FakeLogs({ central: livePolicy(["111111111111", "222222222222"]) });
    const text = await diff(input, aws);
    assert.equal(text.code, 1);
    assert.equal(
      text.out,
      [
        `~ destination central in us-east-1 (${STDIN_NAME}:4 central)`,
        "    gains access: account 333333333333",
        "    loses access: account 222222222222",
        "    statements:   1 changed (Sid Senders)",
        `    size:         ${livePolicy(["111111111111", "222222222222"]).length} → 232 bytes (limit 5120)`,
        "    guardrail:    passes: no statement lets every AWS account in",
        "    forceUpdate:  not needed",
        "",
        "",
      ].join("\n"),
    );

    const report = parseReport((await diff(input, aws, "json")).out);
    assert.equal(report.summary.changed, 1);
    const [only] = report.destinations;
    assert.deepEqual(only?.access, {
      gained: [{ kind: "account", id: "333333333333" }],
      lost: [{ kind: "account", id: "222222222222" }],
    });
    assert.equal(only.line, 4);
    assert.equal(only.livePolicy, "present");

    const markdown = await diff(input, aws, "markdown");
    assert.equal(markdown.code, 1);
    assert.match(
      markdown.out,
      /^### Destination access policies\n\n1 of 1 destination would change\./,
    );
    assert.match(markdown.out, /- \*\*Gains access:\*\* account `333333333333`/);
    assert.match(markdown.out, /- \*\*Loses access:\*\* account `222222222222`/);
  });

  test("Observe objects are compared like Enforce ones, and nothing is ever written", async () => {
    const input = manifest(
      "observed",
      accountsSpec("central", ["333333333333"], "mode: Observe\n"),
    );
    const aws = new FakeLogs({ central: livePolicy(["111111111111"]) });
    const ran = await diff(input, aws);
    assert.equal(ran.code, 1);
    assert.match(ran.out, /note: +Observe mode: the controller only reports the difference/);
    assert.equal(aws.calls.length, 1);
  });

  test("a destination named by several objects is read once, and each object is compared", async () => {
    const input = [
      manifest("enforced", accountsSpec("central", ["333333333333"])),
      manifest("observed", accountsSpec("central", ["444444444444"], "mode: Observe\n")),
    ].join("---\n");
    const aws = new FakeLogs({ central: livePolicy(["111111111111"]) });
    const report = parseReport((await diff(input, aws, "json")).out);
    assert.deepEqual(
      report.destinations.map((d) => [d.object.name, d.access.gained[0]?.id]),
      [
        ["enforced", "333333333333"],
        ["observed", "444444444444"],
      ],
    );
    assert.equal(aws.calls.length, 1);
  });

  test("a destination without a policy gains everyone the manifest names", async () => {
    const aws = new FakeLogs({ central: undefined });
    const report = parseReport(
      (await diff(manifest("new", accountsSpec("central", ["111111111111"])), aws, "json")).out,
    );
    const [created] = report.destinations;
    assert.equal(created?.livePolicy, "none");
    assert.equal(created.size.before, 0);
    assert.deepEqual(created.access.lost, []);
  });

  test("a switch from accounts to an organization says forceUpdate is needed", async () => {
    const spec = `destinationName: central
accessPolicy:
  Version: "2012-10-17"
  Statement:
    - Effect: Allow
      Principal: "*"
      Action: logs:PutSubscriptionFilter
      Resource: ${RESOURCE}
      Condition:
        StringEquals:
          aws:PrincipalOrgID: o-a1b2c3d4e5`;
    const aws = new FakeLogs({ central: livePolicy(["111111111111"]) });
    const ran = await diff(manifest("org", spec), aws);
    assert.equal(ran.code, 1);
    assert.match(ran.out, /gains access: organization o-a1b2c3d4e5/);
    assert.match(ran.out, /forceUpdate: +NEEDED: account IDs → organization/);
    const set = await diff(manifest("org", `forceUpdate: true\n${spec}`), aws, "json");
    assert.deepEqual(parseReport(set.out).destinations[0]?.forceUpdate, {
      needed: true,
      set: true,
    });
  });

  test("a public policy is flagged as refused, or as allowed by spec.allowPublicAccess", async () => {
    const spec = (extra: string) => `destinationName: central
${extra}accessPolicy:
  Version: "2012-10-17"
  Statement:
    - Sid: Anyone
      Effect: Allow
      Principal: "*"
      Action: logs:PutSubscriptionFilter
      Resource: ${RESOURCE}`;
    const aws = new FakeLogs({ central: livePolicy(["111111111111"]) });
    const refused = await diff(manifest("open", spec("")), aws);
    assert.equal(refused.code, 1);
    assert.match(refused.out, /gains access: everyone \(any AWS account\)/);
    assert.match(refused.out, /guardrail: +REFUSED: public \(Sid Anyone\)/);
    assert.match(
      refused.out,
      /spec\.accessPolicy\.Statement\[0\]: Statement\[0\] \(Sid "Anyone"\) allows/,
    );

    const allowed = parseReport(
      (await diff(manifest("open", spec("allowPublicAccess: true\n")), aws, "json")).out,
    );
    assert.equal(allowed.destinations[0]?.guardrail.verdict, "allowed");
    const overridden = await diff(
      manifest("open", spec("allowPublicAccess: true\n")),
      aws,
      "json",
      {
        denyPublicAccessOverride: true,
      },
    );
    assert.equal(parseReport(overridden.out).destinations[0]?.guardrail.verdict, "refused");
  });

  test("a missing destination, a bad manifest and a missing region exit 2 with file:line", async () => {
    const input = [
      manifest("missing", accountsSpec("nowhere", ["111111111111"])),
      manifest("bad", `destinationName: "a:b"\naccessPolicyJson: "{}"`),
      manifest("fine", accountsSpec("central", ["222222222222"])),
    ].join("---\n");
    const aws = new FakeLogs({ central: livePolicy(["111111111111"]) });
    const ran = await diff(input, aws);
    assert.equal(ran.code, 2);
    assert.deepEqual(ran.err.slice(0, -1), [
      `${STDIN_NAME}:22: spec.destinationName: must not contain ':', '*' or control characters (U+0000–U+001F, U+007F–U+009F)`,
      `${STDIN_NAME}:23: spec.accessPolicyJson.Version: Version is required; use "2012-10-17"`,
      `${STDIN_NAME}:23: spec.accessPolicyJson.Statement: Statement is required`,
      `${STDIN_NAME}:6: spec.destinationName: destination "nowhere" in us-east-1 does not exist`,
    ]);
    // The object that could be compared still is.
    assert.match(ran.out, /^~ destination central in us-east-1/);

    const noRegion = await diff(manifest("x", accountsSpec("central", ["1"])), aws, "text", {
      region: null,
    });
    assert.equal(noRegion.code, 2);
    assert.match(noRegion.err[0] ?? "", /^<stdin>:5: spec\.region: not set, and no default region/);
  });

  test("a file that cannot be read is an error without a line, in the JSON too", async () => {
    const aws = new FakeLogs({});
    let out = "";
    const err: string[] = [];
    const code = await diffPaths(
      ["/nonexistent/policies.yaml"],
      {
        readStdin: () => Promise.reject(new Error("unused")),
        out: (text) => (out += text),
        err: (line) => err.push(line),
      },
      { output: "json", region: "us-east-1", aws },
    );
    assert.equal(code, 2);
    assert.equal(
      err[0],
      "error: cannot read /nonexistent/policies.yaml: no such file or directory",
    );
    assert.deepEqual(parseReport(out).errors, [
      {
        file: "/nonexistent/policies.yaml",
        path: "",
        message: "cannot read /nonexistent/policies.yaml: no such file or directory",
      },
    ]);
  });

  test("a role outside the allow-list is an error at spec.roleArn", async () => {
    const role = "arn:aws:iam::999999999999:role/other";
    const aws = new FakeLogs({ central: new RoleNotAllowedError(role, RoleAllowList.parse([])) });
    const ran = await diff(
      manifest("xacct", accountsSpec("central", ["111111111111"], `roleArn: ${role}\n`)),
      aws,
    );
    assert.equal(ran.code, 2);
    assert.match(
      ran.err[0] ?? "",
      /^<stdin>:7: spec\.roleArn: role ".*" may not be assumed: no role is allowed until --allowed-role-arns lists it$/,
    );
  });

  test("AWS errors are reported by name, without the caller identity AWS puts in messages", async () => {
    const identity = "arn:aws:sts::123456789012:assumed-role/ci-runner/alice@example.com";
    const denied = new AwsCallError(
      "DescribeDestinations",
      {
        kind: "access-denied",
        name: "AccessDeniedException",
        message: `User: ${identity} is not authorized to perform: logs:DescribeDestinations`,
      },
      1,
    );
    const aws = new FakeLogs({ central: denied });
    const input = manifest("central", accountsSpec("central", ["111111111111"]));
    for (const format of ["text", "json", "markdown"] as const) {
      const ran = await diff(input, aws, format);
      assert.equal(ran.code, 2);
      assert.doesNotMatch(ran.out + ran.err.join("\n"), /123456789012|alice/);
    }
    const ran = await diff(input, aws);
    assert.equal(
      ran.err[0],
      `${STDIN_NAME}:6: spec.destinationName: access denied reading destination "central" in us-east-1 (AccessDeniedException)`,
    );
  });

  test("values from a live policy cannot inject terminal escapes or Markdown", async () => {
    const sid = "x`\u001b[31m@org/team ![i](https://example.com/p.png)";
    const aws = new FakeLogs({ central: livePolicy(["111111111111"], sid) });
    const input = manifest("central", accountsSpec("central", ["222222222222"]));
    const text = await diff(input, aws);
    assert.ok(!text.out.includes("\u001b"));
    assert.match(text.out, /\\u001b\[31m/);
    const markdown = (await diff(input, aws, "markdown")).out;
    // The Sid appears only inside a code span fenced by more backticks than it holds.
    assert.ok(markdown.includes("``Sid x`\\u001b[31m@org/team ![i](https://example.com/p.png)``"));
    assert.equal(markdown.split("@org/team").length, 2);
  });
});
