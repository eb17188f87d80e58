// The command line as a user meets it, from a build of the package: `version`,
// a mistyped command, shell completion, `validate -o json` against its published
// schema, and the one line an older Node.js prints instead of a stack trace.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import { validateReportSchema } from "../../src/cli/validate-report.ts";
import { versionReportSchema } from "../../src/cli/version.ts";
import { nodeTooOld } from "../../src/node-version.ts";
import { runCommand, type Ran } from "../support/process.ts";

const root = join(import.meta.dirname, "..", "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  version: string;
  engines: { node: string };
};

let project: string;
let main: string;

function cli(args: string[], input?: string, node = process.execPath): Promise<Ran> {
  return runCommand(node, [main, ...args], {
    cwd: project,
    env: {
      ...process.env,
      PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}`,
    },
    input: input ?? "",
  });
}

before(async () => {
  // The package as npm installs it: package.json, dist/ and the dependencies.
  project = mkdtempSync(join(tmpdir(), "ldpc-cli-"));
  copyFileSync(join(root, "package.json"), join(project, "package.json"));
  symlinkSync(join(root, "node_modules"), join(project, "node_modules"));
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const build = await runCommand(
    process.execPath,
    [tsc, "-p", join(root, "tsconfig.build.json"), "--outDir", join(project, "dist")],
    { cwd: root },
  );
  assert.equal(build.code, 0, build.stdout + build.stderr);
  main = join(project, "dist", "main.js");
});

after(() => {
  rmSync(project, { recursive: true, force: true });
});

describe("version", () => {
  test("prints the package's version, the commit, the Node.js and the platform", async () => {
    rmSync(join(project, "dist", "build-info.json"), { force: true });
    const ran = await cli(["version"]);
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, new RegExp(`^version: +${pkg.version.replaceAll(".", "\\.")}$`, "m"));
    assert.match(ran.stdout, /^commit: +unknown$/m);
    assert.match(ran.stdout, new RegExp(`^node: +${process.versions.node}$`, "m"));
    assert.match(ran.stdout, new RegExp(`^platform: +${process.platform}/${process.arch}$`, "m"));
  });

  test("-o json prints one object with the commit the build recorded", async () => {
    const commit = "0123456789abcdef0123456789abcdef01234567";
    writeFileSync(join(project, "dist", "build-info.json"), JSON.stringify({ commit }));
    try {
      const ran = await cli(["version", "-o", "json"]);
      assert.equal(ran.code, 0, ran.stderr);
      const value: unknown = JSON.parse(ran.stdout);
      assert.deepEqual(versionReportSchema.strict().parse(value), {
        version: pkg.version,
        commit,
        node: process.versions.node,
        platform: `${process.platform}/${process.arch}`,
      });
    } finally {
      rmSync(join(project, "dist", "build-info.json"), { force: true });
    }
  });

  test("a recorded commit that is not hex digits reads as unknown", async () => {
    writeFileSync(
      join(project, "dist", "build-info.json"),
      JSON.stringify({ commit: "\u001b[31m" }),
    );
    try {
      const ran = await cli(["version", "-o", "json"]);
      assert.equal((JSON.parse(ran.stdout) as { commit: string }).commit, "unknown");
    } finally {
      rmSync(join(project, "dist", "build-info.json"), { force: true });
    }
  });
});

describe("a word that is not a command", () => {
  test("is an unknown command with the nearest one suggested, exit 2 and no help page", async () => {
    const ran = await cli(["valdiate", "manifests/"]);
    assert.equal(ran.code, 2);
    assert.equal(ran.stdout, "");
    assert.match(
      ran.stderr,
      /^error: unknown command "valdiate" for "log-destination-policy-controller"$/m,
    );
    assert.match(ran.stderr, /^Did you mean validate\?$/m);
    assert.doesNotMatch(ran.stderr, /Usage:|--watch-namespace|too many arguments/);
  });

  test("is reported after the default command's flags too, and without a suggestion when none is near", async () => {
    const ran = await cli(["--log-level", "debug", "frobnicate"]);
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /unknown command "frobnicate"/);
    assert.doesNotMatch(ran.stderr, /Did you mean|Usage:/);
  });

  test("a command named after the default command's flags is refused with the reason", async () => {
    const ran = await cli(["--log-level", "debug", "validate", "x.yaml"]);
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /unexpected argument "validate": name the command before its flags/);
  });
});

describe("completion", () => {
  for (const shell of ["bash", "zsh", "fish"]) {
    test(`${shell}: a script that offers the commands and their flags`, async () => {
      const ran = await cli(["completion", shell]);
      assert.equal(ran.code, 0, ran.stderr);
      for (const word of ["validate", "diff", "version", "completion", "bindings", "kubeconfig"]) {
        assert.ok(ran.stdout.includes(word), `${shell} script mentions ${word}`);
      }
    });
  }

  test("an unknown shell is a usage error", async () => {
    const ran = await cli(["completion", "tcsh"]);
    assert.equal(ran.code, 2);
    assert.match(ran.stderr, /bash, zsh, fish/);
  });

  test("bash completes command names, flags and flag values", async () => {
    const script = join(project, "completion.bash");
    writeFileSync(script, (await cli(["completion", "bash"])).stdout);
    const complete = (...words: string[]) =>
      execFileSync(
        "bash",
        [
          "-c",
          'source "$0"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _log_destination_policy_controller; echo "${COMPREPLY[*]}"',
          script,
          ...words,
        ],
        { encoding: "utf8" },
      ).trim();
    const p = "log-destination-policy-controller";
    assert.equal(complete(p, "val"), "validate");
    assert.equal(complete(p, "validate", "-o", ""), "text json");
    assert.equal(complete(p, "diff", "--output", "m"), "markdown");
    assert.equal(complete(p, "completion", "z"), "zsh");
    assert.match(complete(p, "validate", "--bi"), /^--bindings$/);
    // Without a command, the flags of `run`, the default.
    assert.match(complete(p, "--watch-n"), /^--watch-namespace$/);
  });

  for (const [shell, check] of [
    ["zsh", ["-n"]],
    ["fish", ["--no-execute"]],
  ] as const) {
    test(`${shell} parses its script`, async (t) => {
      let found = true;
      try {
        execFileSync(shell, ["--version"], { stdio: "ignore" });
      } catch {
        found = false;
      }
      if (!found) {
        t.skip(`${shell} is not installed`);
        return;
      }
      const script = join(project, `completion.${shell}`);
      writeFileSync(script, (await cli(["completion", shell])).stdout);
      execFileSync(shell, [...check, script]);
    });
  }
});

describe("validate -o json", () => {
  const schema = JSON.parse(
    readFileSync(join(root, "docs", "validate-output.schema.json"), "utf8"),
  ) as object;
  const check = new Ajv2020({ allErrors: true, strict: false }).compile(schema);

  function report(ran: Ran): unknown {
    const value: unknown = JSON.parse(ran.stdout);
    assert.ok(check(value), JSON.stringify(check.errors));
    assert.deepEqual(validateReportSchema.strict().parse(value), value, "no undocumented field");
    return value;
  }

  test("the examples: a report of no problems that the published schema accepts, exit 0", async () => {
    const ran = await cli(["validate", "-o", "json", join(root, "examples")]);
    assert.equal(ran.code, 0, ran.stderr);
    const value = report(ran) as { summary: { checked: number; problems: number } };
    assert.ok(value.summary.checked > 0);
    assert.equal(value.summary.problems, 0);
  });

  test("a shared destination: the merged size and each grant's verdict, in the published schema", async () => {
    const ran = await cli([
      "validate",
      "-o",
      "json",
      "--bindings",
      join(root, "examples", "bindings.yaml"),
      "--",
      join(root, "examples", "shared-destination.yaml"),
    ]);
    assert.equal(ran.code, 0, ran.stderr);
    const value = report(ran) as {
      summary: { checked: number; grants: number };
      sharedDestinations: {
        object: { name: string; namespace?: string };
        placeholders: string[];
        size: { bytes: number; limit: number };
        grants: { namespace: string; name: string; verdict: string; reason: string }[];
      }[];
    };
    assert.deepEqual(value.summary.grants, 2);
    const [shared] = value.sharedDestinations;
    assert.deepEqual(shared?.object, { name: "central-logs", namespace: "logging" });
    assert.deepEqual(shared.size, { bytes: 450, limit: 5120 });
    assert.deepEqual(shared.placeholders, ["account"]);
    assert.deepEqual(
      shared.grants.map((g) => `${g.namespace}/${g.name} ${g.verdict} ${g.reason}`),
      ["payments/payments-senders admitted Applied", "checkout/checkout-senders admitted Applied"],
    );
  });

  test("problems, warnings and an unreadable path, each with its place, exit 2", async () => {
    const broken = `apiVersion: logs.gitops.dev/v1alpha1
kind: LogDestinationPolicy
metadata:
  name: broken
spec:
  destinationName: "central:logs"
  accessPolicyJson: '{"Version": "2012-10-17"'
`;
    const ran = await cli(
      ["validate", "--output", "json", "-", join(project, "missing.yaml")],
      broken,
    );
    assert.equal(ran.code, 2, ran.stderr);
    const value = report(ran) as {
      problems: { file: string; line: number; path: string }[];
      unreadable: { path: string }[];
    };
    assert.ok(
      value.problems.some(
        (p) => p.file === "<stdin>" && p.line === 6 && p.path === "spec.destinationName",
      ),
    );
    assert.deepEqual(
      value.unreadable.map((u) => u.path),
      [join(project, "missing.yaml")],
    );
  });
});

describe("an older Node.js", () => {
  test("dist/main.js prints one line naming the Node.js it needs and the one it found, exit 1", async (t) => {
    const old = ["/usr/bin/node", "/usr/local/bin/node"].find((path) => existsSync(path));
    if (old === undefined) {
      t.skip("no system Node.js at /usr/bin/node or /usr/local/bin/node");
      return;
    }
    const version = execFileSync(old, ["-p", "process.versions.node"], { encoding: "utf8" }).trim();
    if (nodeTooOld(pkg.engines.node, version) === undefined) {
      t.skip(`${old} is Node.js ${version}, new enough for ${pkg.engines.node}`);
      return;
    }
    const minimum = pkg.engines.node.replace(/^>=\s*/, "");
    for (const args of [["version"], ["validate", "-"], []]) {
      const ran = await cli(args, "", old);
      assert.equal(ran.code, 1, args.join(" "));
      assert.equal(ran.stdout, "");
      assert.equal(
        ran.stderr,
        `error: log-destination-policy-controller needs Node.js ${minimum} or newer, and this is Node.js ${version}\n`,
      );
    }
  });
});
