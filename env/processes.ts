// Starting and stopping the control plane's server processes. Every process is
// remembered by pid so that it can be stopped from this process or, for the
// detached processes of `env:up`, from a later `env:down`.
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export interface ProcessInfo {
  readonly name: string;
  readonly pid: number;
  /** The executable, checked against /proc before a signal is sent to a remembered pid. */
  readonly command: string;
  readonly logFile: string;
}

export interface StartedProcess extends ProcessInfo {
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<string>;
  hasExited(): boolean;
}

export interface StartOptions {
  name: string;
  command: string;
  args: readonly string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  /** Detached processes outlive this one (env:up); attached ones are killed when it exits. */
  detached?: boolean;
  /** Let this process exit while the child still runs (implied by detached). */
  unref?: boolean;
}

export function startProcess(opts: StartOptions): StartedProcess {
  const log = openSync(opts.logFile, "a");
  let exitedWith: string | undefined;
  try {
    const child = spawn(opts.command, opts.args, {
      stdio: ["ignore", log, log],
      env: opts.env ?? process.env,
      detached: opts.detached ?? false,
    });
    const exited = new Promise<string>((resolve) => {
      child.once("error", (err) => {
        exitedWith = `spawn error: ${err.message}`;
        resolve(exitedWith);
      });
      child.once("exit", (code, signal) => {
        exitedWith = signal ?? `exit code ${String(code)}`;
        resolve(exitedWith);
      });
    });
    if (child.pid === undefined) throw new Error(`could not start ${opts.command}`);
    if (opts.detached || opts.unref) child.unref();
    const info = { name: opts.name, pid: child.pid, command: opts.command, logFile: opts.logFile };
    return { ...info, exited, hasExited: () => exitedWith !== undefined };
  } finally {
    // The child holds its own copy of the descriptor.
    closeSync(log);
  }
}

/**
 * Whether a pid still runs the given command. Zombies count as gone: a detached
 * process whose parent has exited may never be reaped inside a container.
 */
export function isAlive(pid: number, command?: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    if (state === "Z" || state === "X") return false;
    if (command !== undefined) {
      // A script started through its shebang shows the interpreter first.
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      return argv.slice(0, 2).includes(command);
    }
    return true;
  } catch {
    // No /proc entry: the process is gone (or this is not Linux, then ask the kernel).
    if (process.platform === "linux") return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/** SIGTERM, then SIGKILL for whatever is still running after `graceMs`. */
export async function stopPids(procs: readonly ProcessInfo[], graceMs = 5000): Promise<void> {
  const running = procs.filter((p) => isAlive(p.pid, p.command));
  for (const p of running) signal(p.pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (running.some((p) => isAlive(p.pid)) && Date.now() < deadline) await sleep(50);
  for (const p of running) if (isAlive(p.pid)) signal(p.pid, "SIGKILL");
  const killDeadline = Date.now() + 2000;
  while (running.some((p) => isAlive(p.pid)) && Date.now() < killDeadline) await sleep(20);
}

/** For `process.on("exit")`, where nothing asynchronous runs any more. */
export function killNow(procs: readonly ProcessInfo[]): void {
  for (const p of procs) if (isAlive(p.pid, p.command)) signal(p.pid, "SIGKILL");
}

/**
 * A port that was free a moment ago. Servers that cannot be handed a listening
 * socket need a number up front; a lost race shows up as an early exit, or as a
 * readiness probe answered by the wrong server, and the caller retries with a
 * new port. Servers started side by side in one process must not race each
 * other, so a port is never handed out twice by one process.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await unusedPort();
    if (handedOut.has(port)) continue;
    handedOut.add(port);
    return port;
  }
}

const handedOut = new Set<number>();

function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const addr = server.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/**
 * Polls `probe` until it returns true. Fails early if the process has exited,
 * quoting its log, so a crash is not reported as a timeout.
 */
export async function waitUntil(
  proc: StartedProcess,
  probe: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.hasExited()) {
      throw new ProcessExitedError(proc, await proc.exited);
    }
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) {
      throw new Error(
        `${proc.name} not ready after ${timeoutMs} ms; last log lines:\n${tail(proc.logFile)}`,
      );
    }
    await sleep(100);
  }
}

export class ProcessExitedError extends Error {
  readonly process: ProcessInfo;
  constructor(proc: ProcessInfo, how: string) {
    super(`${proc.name} exited (${how}); last log lines:\n${tail(proc.logFile)}`);
    this.name = "ProcessExitedError";
    this.process = proc;
  }
}

const liveGuards = new Set<{ stateDir: string; procs: ProcessInfo[]; stop: () => Promise<void> }>();
let handlersInstalled = false;

/**
 * Attached servers must not outlive this process, even when a test crashes or
 * the run is interrupted.
 */
export function registerExitGuard(
  stateDir: string,
  procs: ProcessInfo[],
  stop: () => Promise<void>,
) {
  const entry = { stateDir, procs, stop };
  liveGuards.add(entry);
  if (!handlersInstalled) {
    handlersInstalled = true;
    process.on("exit", () => {
      for (const g of liveGuards) {
        killNow(g.procs);
        rmSync(g.stateDir, { recursive: true, force: true });
      }
    });
    for (const [sig, code] of [
      ["SIGINT", 130],
      ["SIGTERM", 143],
      ["SIGHUP", 129],
    ] as const) {
      process.once(sig, () => {
        void Promise.allSettled([...liveGuards].map((g) => g.stop())).then(() =>
          process.exit(code),
        );
      });
    }
  }
  return { dispose: () => liveGuards.delete(entry) };
}
