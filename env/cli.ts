// `npm run env:up` / `npm run env:down`: a control plane that outlives the
// command, for working by hand. `up` starts a detached supervisor (this file,
// `serve`) that owns the servers: as their parent it reaps them, which a
// container's init may not do. Every pid is remembered in .local/env/state.json
// so `down` can stop them even if the supervisor is gone. `. .local/env.sh`
// points kubectl, helm and the AWS SDK at the environment.
import { mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { repoRoot } from "./binaries.ts";
import { startControlPlane, stopControlPlaneState } from "./controlplane.ts";
import type { ControlPlaneState } from "./controlplane.ts";
import { isAlive, startProcess, stopPids, waitUntil } from "./processes.ts";
import { environmentFor } from "./variables.ts";

const local = join(repoRoot, ".local");
const stateDir = join(local, "env");
const stateFile = join(stateDir, "state.json");
const envFile = join(local, "env.sh");
const binDir = join(local, "bin");
// Outside stateDir, which stop() removes: the log must explain a failed start.
const supervisorLog = join(local, "env.log");
const upTimeoutMs = 30 * 60_000; // the first run builds the binaries

function log(line: string): void {
  console.error(`[env] ${line}`);
}

function readState(): ControlPlaneState | undefined {
  try {
    return JSON.parse(readFileSync(stateFile, "utf8")) as ControlPlaneState;
  } catch {
    return undefined;
  }
}

/** Single quotes survive any path; a quote inside one is closed, escaped and reopened. */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

function writeEnvFile(state: ControlPlaneState): void {
  mkdirSync(binDir, { recursive: true });
  for (const [name, target] of [
    ["kubectl", state.kubectl],
    ["helm", state.helm],
  ] as const) {
    rmSync(join(binDir, name), { force: true });
    symlinkSync(target, join(binDir, name));
  }
  const lines = Object.entries(environmentFor(state)).map(
    ([name, value]) => `export ${name}=${shellQuote(value)}`,
  );
  lines.push(`export PATH=${shellQuote(binDir)}:"$PATH"`);
  const header = "# Written by npm run env:up; removed by npm run env:down.";
  writeFileSync(envFile, `${header}\n${lines.join("\n")}\n`);
}

async function stopState(state: ControlPlaneState): Promise<void> {
  // The supervisor stops its servers in order and reaps them; whatever survives
  // it (say it was killed) is stopped by pid.
  await stopPids(
    state.processes.filter((p) => p.name === "supervisor"),
    20_000,
  );
  await stopControlPlaneState(state);
}

async function up(): Promise<void> {
  const previous = readState();
  if (previous) {
    if (previous.processes.every((p) => isAlive(p.pid, p.command))) {
      writeEnvFile(previous);
      log(`already running: ${previous.apiserverUrl} (. .local/env.sh to use it)`);
      return;
    }
    log("a previous environment is partly gone; stopping what is left of it");
    await stopState(previous);
  }
  // Left over from a crashed run, and not to be mixed with new certificates.
  rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(local, { recursive: true });
  writeFileSync(supervisorLog, "");

  const started = Date.now();
  const supervisor = startProcess({
    name: "supervisor",
    command: process.execPath,
    args: [fileURLToPath(import.meta.url), "serve"],
    logFile: supervisorLog,
    detached: true,
  });
  let shown = 0;
  const follow = () => {
    const text = readFileSync(supervisorLog, "utf8");
    process.stderr.write(text.slice(shown));
    shown = text.length;
  };
  try {
    await waitUntil(
      supervisor,
      () => {
        follow();
        return Promise.resolve(readState() !== undefined);
      },
      upTimeoutMs,
    );
  } catch (err) {
    follow();
    await stopPids([supervisor]);
    throw err;
  }
  const state = readState();
  if (!state) throw new Error("the supervisor wrote no state");
  writeEnvFile(state);
  log(`up in ${((Date.now() - started) / 1000).toFixed(1)} s; logs in .local/env/logs/`);
  log("use it with: . .local/env.sh");
}

async function serve(): Promise<void> {
  const cp = await startControlPlane({ stateDir, proxyProcess: true, log });
  const state = cp.state();
  state.processes.unshift({
    name: "supervisor",
    pid: process.pid,
    command: process.execPath,
    logFile: supervisorLog,
  });
  // Written whole and renamed, so `up` never reads half a file.
  writeFileSync(`${stateFile}.tmp`, JSON.stringify(state, null, 2) + "\n");
  renameSync(`${stateFile}.tmp`, stateFile);
  // From here the children keep this process alive; SIGTERM (from `down`) stops
  // them through the exit guard that startControlPlane registered.
}

async function down(): Promise<void> {
  const state = readState();
  if (state) {
    await stopState(state);
    log(`stopped ${state.processes.map((p) => `${p.name} (${String(p.pid)})`).join(", ")}`);
  } else {
    log("nothing running");
  }
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(envFile, { force: true });
}

const actions: Record<string, (() => Promise<void>) | undefined> = { up, down, serve };
const action = actions[process.argv[2] ?? ""];
if (!action) {
  console.error("usage: node env/cli.ts up|down");
  process.exitCode = 2;
} else {
  action().catch((err: unknown) => {
    log(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  });
}
