// The npm package as a user gets it: `npm pack` builds what it ships, and the
// tarball installs into an empty folder from the local npm cache alone (no
// network), where the README's `npx … validate` runs.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { repoRoot } from "../../env/binaries.ts";

const exec = promisify(execFile);

/** The cache `npm ci` filled: CI's (.ci/run) if there is one, else npm's own. */
async function npmCache(): Promise<string> {
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache");
  const ours = join(
    process.env.LDPC_CACHE ?? join(base, "log-destination-policy-controller"),
    "npm",
  );
  if (existsSync(join(ours, "_cacache"))) return ours;
  return (await exec("npm", ["config", "get", "cache"])).stdout.trim();
}

interface LockEntry {
  version?: string;
  resolved?: string;
  dev?: boolean;
  [key: string]: unknown;
}

/**
 * A project that depends on the tarball, locked to the versions this repository's
 * lockfile pins. `npm ci` then needs only the tarballs npm ci already cached here;
 * resolving version ranges would need the registry's package lists.
 */
async function writeProject(project: string, tarball: string): Promise<void> {
  const pkg = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as {
    name: string;
    version: string;
    license: string;
    dependencies: Record<string, string>;
    bin: Record<string, string>;
    engines: Record<string, string>;
  };
  const lock = JSON.parse(await readFile(join(repoRoot, "package-lock.json"), "utf8")) as {
    packages: Record<string, LockEntry>;
  };
  const spec = `file:${tarball}`;
  const packages: Record<string, LockEntry> = {
    "": { name: "manifests", dependencies: { [pkg.name]: spec } },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: spec,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path.startsWith("node_modules/") && entry.dev !== true) packages[path] = entry;
  }
  const manifest = { name: "manifests", private: true, dependencies: { [pkg.name]: spec } };
  await writeFile(join(project, "package.json"), JSON.stringify(manifest, null, 2));
  const projectLock = { name: "manifests", lockfileVersion: 3, requires: true, packages };
  await writeFile(join(project, "package-lock.json"), JSON.stringify(projectLock, null, 2));
}

describe("the npm package", () => {
  let dir: string;
  let tarball: string;
  let files: string[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "ldpc-package-"));
    const { stdout } = await exec("npm", ["pack", "--json", "--pack-destination", dir], {
      cwd: repoRoot,
      maxBuffer: 16 << 20,
    });
    const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
    assert.ok(packed);
    tarball = join(dir, packed.filename);
    files = packed.files.map((f) => f.path);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test("npm pack builds dist/ and ships the compiled controller, the CRD and the licence, but no sources or tests", () => {
    for (const file of [
      "dist/main.js",
      "dist/cli/validate.js",
      "package.json",
      "LICENSE",
      "README.md",
    ]) {
      assert.ok(files.includes(file), `${file} in ${files.join(", ")}`);
    }
    assert.ok(files.some((f) => f.startsWith("crds/")));
    assert.deepEqual(
      files.filter(
        (f) => /^(src|test|scripts)\//.test(f) || f.endsWith(".ts") || f.endsWith(".map"),
      ),
      [],
    );
  });

  test("installed from the tarball with no network, `npx log-destination-policy-controller validate` checks manifests", async () => {
    const project = join(dir, "project");
    await mkdir(project);
    await writeProject(project, tarball);
    const offline = ["--offline", "--cache", await npmCache(), "--no-audit", "--no-fund"];
    await exec("npm", ["ci", ...offline], { cwd: project, maxBuffer: 16 << 20 });

    const example = join(repoRoot, "examples", "organization.yaml");
    const ok = await exec(
      "npx",
      [...offline, "log-destination-policy-controller", "validate", example],
      {
        cwd: project,
      },
    );
    assert.match(ok.stderr, /checked in 1 input .*: 0 problems/);

    const bad = join(project, "bad.yaml");
    const text = (await readFile(example, "utf8")).replace("Effect: Allow", "Effect: Permit");
    await writeFile(bad, text);
    await assert.rejects(
      exec("npx", [...offline, "log-destination-policy-controller", "validate", bad], {
        cwd: project,
      }),
      (err: { code?: number; stdout?: string }) =>
        err.code === 1 &&
        /bad\.yaml:\d+: spec\.accessPolicy\.Statement\[0\]\.Effect/.test(err.stdout ?? ""),
    );
  });
});
