// The integration test entry: one control plane for the whole run, announced to
// the test processes through the environment, and always stopped afterwards.
//
//   node test/run.ts                      every unit and integration test
//   node test/run.ts test/integration/smoke-*.test.ts   only these files
import { spawn } from "node:child_process";
import { glob } from "node:fs/promises";
import { constants } from "node:os";
import { repoRoot } from "../env/binaries.ts";
import { startControlPlane } from "../env/controlplane.ts";
import type { ControlPlane } from "../env/controlplane.ts";
import { environmentFor } from "../env/variables.ts";

const defaultPatterns = ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"];

async function testFiles(patterns: string[]): Promise<string[]> {
  const files = new Set<string>();
  for (const pattern of patterns) {
    // Explicit paths pass through unchanged so a typo fails loudly in the runner.
    if (!/[*?[{]/.test(pattern)) files.add(pattern);
    else for await (const f of glob(pattern, { cwd: repoRoot })) files.add(f);
  }
  return [...files].sort();
}

function log(line: string): void {
  console.error(`[test/run] ${line}`);
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const files = await testFiles(args.length > 0 ? args : defaultPatterns);
  if (files.length === 0) {
    log(`no test files match ${(args.length > 0 ? args : defaultPatterns).join(" ")}`);
    return 1;
  }

  const started = Date.now();
  let controlPlane: ControlPlane | undefined;
  try {
    controlPlane = await startControlPlane({ log });
    log(`control plane up in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const env = { ...process.env, ...environmentFor(controlPlane.state()) };
    const child = spawn(
      process.execPath,
      ["--test", "--test-concurrency=1", "--test-reporter=spec", ...files],
      { cwd: repoRoot, env, stdio: "inherit" },
    );
    // A terminal's Ctrl-C reaches the runner by itself; a SIGTERM aimed at this
    // process alone must be passed on, or the runner would outlive the cluster.
    const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
    process.once("SIGTERM", forward("SIGTERM"));
    process.once("SIGHUP", forward("SIGHUP"));
    return await new Promise<number>((resolve) => {
      child.once("error", (err) => {
        log(`could not start the test runner: ${err.message}`);
        resolve(1);
      });
      child.once("exit", (code, signal) => {
        resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
      });
    });
  } finally {
    if (controlPlane) {
      await controlPlane.stop();
      log("control plane stopped");
    }
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    log(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 1;
  },
);
