// The GitHub workflows, the Renovate config and the Dockerfile, checked by the
// linters env/build.sh installs at pinned versions (actionlint with shellcheck,
// zizmor offline, hadolint) and by the rules the release depends on: actions
// pinned by commit, least privilege per job, and the version checks it runs.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { parse } from "yaml";
import { resolveBinaries, type Binaries } from "../../env/binaries.ts";
import { root } from "../support/chart.ts";

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
}

interface Job {
  permissions?: Record<string, string>;
  steps: Step[];
}

interface Workflow {
  permissions?: unknown;
  jobs: Record<string, Job>;
}

const workflowsDir = join(root, ".github", "workflows");

function exec(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: root, env, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

let binaries: Binaries;
const texts = new Map<string, string>();
const workflows = new Map<string, Workflow>();

before(async () => {
  binaries = await resolveBinaries();
  for (const file of (await readdir(workflowsDir)).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const text = await readFile(join(workflowsDir, file), "utf8");
    texts.set(file, text);
    workflows.set(file, parse(text) as Workflow);
  }
  assert.deepEqual([...workflows.keys()], ["ci.yml", "release.yml"]);
});

function workflow(file: string): Workflow {
  const found = workflows.get(file);
  assert.ok(found, file);
  return found;
}

function step(file: string, job: string, match: (s: Step) => boolean): Step {
  const found = workflow(file).jobs[job]?.steps.find(match);
  assert.ok(found, `${file} ${job}: no such step`);
  return found;
}

describe("the workflow and Dockerfile linters", () => {
  test("actionlint, with the pinned shellcheck on every run: script, reports nothing", async () => {
    const result = await exec(binaries.actionlint, [
      "-no-color",
      "-shellcheck",
      binaries.shellcheck,
      "-pyflakes=",
      ...[...workflows.keys()].map((f) => join(".github", "workflows", f)),
    ]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(result.stdout, "");
  });

  test("zizmor, offline and with its pedantic audits, reports nothing", async () => {
    // No token in reach: --offline already keeps it off the network, and this proves it.
    const env = { ...process.env, GH_TOKEN: undefined, GITHUB_TOKEN: undefined };
    const result = await exec(
      binaries.zizmor,
      ["--offline", "--persona=pedantic", "--format=plain", "--no-progress", ".github"],
      env,
    );
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.match(result.stdout, /No findings to report/);
  });

  test("hadolint reports nothing on the Dockerfile and finds exactly the OCI labels it requires", async () => {
    const labels = {
      "org.opencontainers.image.source": "url",
      "org.opencontainers.image.revision": "text",
      "org.opencontainers.image.version": "text",
      "org.opencontainers.image.licenses": "spdx",
      "org.opencontainers.image.title": "text",
      "org.opencontainers.image.description": "text",
    };
    const required = Object.entries(labels).flatMap(([k, f]) => ["--require-label", `${k}:${f}`]);
    const result = await exec(binaries.hadolint, [
      "--no-color",
      "--failure-threshold",
      "info",
      "--strict-labels",
      ...required,
      "Dockerfile",
    ]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal(result.stdout, "");
  });
});

describe("the GitHub workflows", () => {
  test("pin every action by a full commit SHA, with its version in a comment that agrees everywhere", () => {
    const versionOf = new Map<string, string>();
    let count = 0;
    for (const [file, text] of texts) {
      for (const [, ref = "", comment = ""] of text.matchAll(/^\s*(?:-\s+)?uses:\s*(\S+)(.*)$/gm)) {
        count++;
        const pinned = /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.exec(ref);
        assert.ok(pinned, `${file}: ${ref} is not pinned to a 40-hex commit SHA`);
        const version = /^\s+# (v\d+\.\d+\.\d+)$/.exec(comment)?.[1];
        assert.ok(version, `${file}: ${ref} has no "# vX.Y.Z" comment`);
        assert.equal(versionOf.get(ref) ?? version, version, `${ref} is named two versions`);
        versionOf.set(ref, version);
      }
    }
    assert.ok(count > 10, `${count} uses: lines found`);
  });

  test("grant nothing at the top and name the permissions of every job, writing only in the release", () => {
    for (const [file, wf] of workflows) {
      assert.deepEqual(wf.permissions, {}, `${file}: top-level permissions`);
      for (const [name, job] of Object.entries(wf.jobs)) {
        assert.ok(job.permissions, `${file} ${name} has no permissions:`);
        for (const [scope, level] of Object.entries(job.permissions)) {
          if (level === "write") assert.equal(file, "release.yml", `${name}: ${scope}: write`);
        }
      }
    }
    assert.deepEqual(workflow("ci.yml").jobs.test?.permissions, { contents: "read" });
  });

  test("pass expressions to run: scripts only through env:, and check out without keeping the token", () => {
    for (const [file, wf] of workflows) {
      for (const [name, job] of Object.entries(wf.jobs)) {
        for (const s of job.steps) {
          if (s.run !== undefined)
            assert.doesNotMatch(s.run, /\$\{\{/, `${file} ${name}: ${s.run}`);
          if (s.uses?.startsWith("actions/checkout@")) {
            assert.equal(s.with?.["persist-credentials"], false, `${file} ${name}: checkout`);
          }
        }
      }
    }
  });

  test("CI runs .ci/run with CI=true, caching under a key that covers what env/ builds from", async () => {
    const run = step("ci.yml", "test", (s) => s.run === "bash .ci/run");
    assert.deepEqual(run.env, { CI: "true" });
    const cache = step("ci.yml", "test", (s) => s.uses?.startsWith("actions/cache@") === true);
    assert.match(String(cache.with?.path), /^~\/\.cache\/log-destination-policy-controller$/m);
    const key = String(cache.with?.key);
    const hashed = [...(/hashFiles\(([^)]*)\)/.exec(key)?.[1] ?? "").matchAll(/'([^']+)'/g)].map(
      (m) => m[1] ?? "",
    );
    // Every file .ci/run reads to decide what to build or fetch, and each exists.
    const inputs = ["env/versions.env", "package-lock.json", "env/build.sh"];
    inputs.push("env/monitoring-tools.sh", "env/tools/**", "scripts/node.mjs");
    assert.deepEqual(hashed, inputs);
    for (const file of inputs.filter((f) => !f.includes("*"))) {
      await readFile(join(root, file));
    }
    const ciRun = await readFile(join(root, ".ci", "run"), "utf8");
    for (const script of ciRun.matchAll(/^bash (env\/\S+)$/gm))
      assert.ok(hashed.includes(script[1] ?? ""), script[0]);
  });

  test("the release builds both platforms with SBOM and provenance, and the version and revision its labels read", async () => {
    const build = step("release.yml", "image", (s) => s.id === "build");
    assert.equal(build.with?.platforms, "linux/amd64,linux/arm64");
    assert.equal(build.with.sbom, true);
    assert.equal(build.with.provenance, "mode=max");
    const args = String(build.with["build-args"]).trim().split("\n");
    assert.deepEqual(
      args.map((a) => a.split("=")[0]),
      ["VERSION", "REVISION"],
    );
    const dockerfile = await readFile(join(root, "Dockerfile"), "utf8");
    assert.match(dockerfile, /^ARG VERSION=/m);
    assert.match(dockerfile, /^ARG REVISION=/m);
    assert.match(dockerfile, /org\.opencontainers\.image\.version="\$\{VERSION\}"/);
    assert.match(dockerfile, /org\.opencontainers\.image\.revision="\$\{REVISION\}"/);
  });

  describe("the release's version check", () => {
    let scratch: string;
    let version: string;
    before(async () => {
      scratch = await mkdtemp(join(tmpdir(), "ldpc-release-"));
      const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as {
        version: string;
      };
      version = pkg.version;
    });
    after(() => rm(scratch, { recursive: true, force: true }));

    async function check(tag: string): Promise<{ code: number; output: string; log: string }> {
      const script = step("release.yml", "version", (s) => s.id === "version").run ?? "";
      const output = join(scratch, `output-${tag}`);
      const result = await exec("bash", ["-eo", "pipefail", "-c", script], {
        ...process.env,
        TAG: tag,
        GITHUB_OUTPUT: output,
      });
      const written = await readFile(output, "utf8").catch(() => "");
      return { code: result.code, output: written, log: result.stdout + result.stderr };
    }

    test("accepts the tag of the version package.json and Chart.yaml carry and outputs it", async () => {
      const result = await check(`v${version}`);
      assert.equal(result.code, 0, result.log);
      assert.equal(result.output, `version=${version}\n`);
    });

    test("refuses a tag of another version, naming each file that disagrees", async () => {
      const result = await check("v99.0.0");
      assert.equal(result.code, 1);
      assert.equal(result.output, "");
      assert.match(result.log, /package\.json version is /);
      assert.match(result.log, /Chart\.yaml version is /);
      assert.match(result.log, /Chart\.yaml appVersion is /);
    });

    test("refuses a tag that is not v and a semantic version", async () => {
      const result = await check("v1.0.0;echo injected");
      assert.equal(result.code, 1);
      assert.match(result.log, /is not v followed by a semantic version/);
      assert.doesNotMatch(result.log, /^injected$/m);
    });
  });
});

describe("the Renovate config", () => {
  test("has a custom manager for every version in env/versions.env, which reads its value", async () => {
    const config = JSON.parse(await readFile(join(root, ".github", "renovate.json"), "utf8")) as {
      customManagers: { matchStrings: string[]; depNameTemplate: string }[];
    };
    const versions = await readFile(join(root, "env", "versions.env"), "utf8");
    const pinned = new Map(
      [...versions.matchAll(/^([A-Z0-9_]+_VERSION)=(\S+)$/gm)].map((m) => [m[1], m[2]]),
    );
    assert.ok(pinned.size > 10);
    const covered = new Map<string, string | undefined>();
    for (const manager of config.customManagers) {
      for (const source of manager.matchStrings) {
        const match = new RegExp(source).exec(versions);
        assert.ok(match, `${manager.depNameTemplate}: ${source} matches nothing`);
        const name = /^([A-Z0-9_]+)=/.exec(match[0].trim())?.[1] ?? "";
        covered.set(name, match.groups?.currentValue);
      }
    }
    assert.deepEqual(new Map([...covered].sort()), new Map([...pinned].sort()));
  });
});
