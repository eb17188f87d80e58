// scripts/node.mjs, the launcher every npm script that runs TypeScript goes
// through: it passes through a new enough Node, and under an older one (this
// machine's /usr/bin/node, when it is older) runs the pinned Node from the cache.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { repoRoot } from "../../env/binaries.ts";

const exec = promisify(execFile);
const launcher = join(repoRoot, "scripts", "node.mjs");
const pinned = /^NODE_VERSION=(\S+)$/m.exec(
  readFileSync(join(repoRoot, "env", "versions.env"), "utf8"),
)?.[1];

describe("scripts/node.mjs", () => {
  test("under a new enough Node it runs that Node, with its folder first on PATH", async () => {
    const { stdout } = await exec(process.execPath, [
      launcher,
      "-p",
      "process.version + ' ' + process.env.PATH.split(':')[0]",
    ]);
    assert.equal(stdout.trim(), `${process.version} ${dirname(process.execPath)}`);
    const bin = await exec(process.execPath, [launcher, "--bin-dir"]);
    assert.equal(bin.stdout.trim(), dirname(process.execPath));
  });

  test("passes the exit code through", async () => {
    await assert.rejects(exec(process.execPath, [launcher, "-e", "process.exit(3)"]), {
      code: 3,
    });
  });

  const old = "/usr/bin/node";

  test("under an older Node it runs the pinned one, as .ci/run does", async (t) => {
    if (!existsSync(old)) {
      t.skip(`${old} does not exist`);
      return;
    }
    const version = (await exec(old, ["-p", "process.versions.node"])).stdout.trim();
    if (Number(version.split(".")[0]) >= 22) {
      t.skip(`${old} is Node ${version}`);
      return;
    }
    const { stdout } = await exec(old, [launcher, "-p", "process.versions.node"], {
      maxBuffer: 1 << 20,
    });
    assert.equal(stdout.trim(), pinned);
  });
});
