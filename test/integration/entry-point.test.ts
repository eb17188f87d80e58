// The entry point as a user runs it, in a process of its own: exit codes of bad
// flags, --version and --help, for the controller and the diff command.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, test } from "node:test";

const main = join(import.meta.dirname, "..", "..", "src", "main.ts");

describe("configuration", () => {
  test("the entry point exits 2 on a bad flag value and on an unknown flag", () => {
    const bad = spawnSync(process.execPath, [main, "--max-concurrent-reconciles", "zero"], {
      encoding: "utf8",
    });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--max-concurrent-reconciles/);
    const unknown = spawnSync(process.execPath, [main, "--no-such-flag"], { encoding: "utf8" });
    assert.equal(unknown.status, 2);
  });

  test("--version and --help exit 0", () => {
    const version = spawnSync(process.execPath, [main, "--version"], { encoding: "utf8" });
    assert.equal(version.status, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+/);
    const help = spawnSync(process.execPath, [main, "run", "--help"], { encoding: "utf8" });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--watch-namespace/);
  });
});

describe("diff", () => {
  test("bad flags are usage errors with exit code 2, before any input is read", () => {
    for (const args of [
      ["-o", "yaml"],
      ["--allowed-role-arns", "arn:aws:iam::*:user/x"],
      ["--aws-rate-limit", "-1"],
      ["--aws-region", "Europe"],
    ]) {
      const ran = spawnSync(process.execPath, [main, "diff", ...args, "-"], {
        input: "",
        encoding: "utf8",
      });
      assert.equal(ran.status, 2, args.join(" "));
      assert.match(ran.stderr, /error: /);
      assert.equal(ran.stdout, "");
    }
  });
});
