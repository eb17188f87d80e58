// The controller as a child process, the way a user runs it: the one way the
// tests, the demo and the bench start it, wait for it and stop it, by pid.
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { repoRoot } from "./binaries.ts";
import { freePort } from "./processes.ts";

export interface SpawnOptions {
  /** The entry point to run: src/main.ts, dist/main.js or a bundle. */
  entry: string;
  kubeconfigPath: string;
  region: string;
  /** Flags after the kubeconfig, region, metrics and health addresses every run gets. */
  args?: readonly string[];
  /** Options for node itself, before the entry point, e.g. --cpu-prof. */
  nodeArgs?: readonly string[];
  /** Added to this process's environment; an undefined value removes the variable. */
  env?: NodeJS.ProcessEnv;
  /** A file that stdout and stderr are appended to; without one they are piped to this process. */
  logFile?: string;
}

export class ControllerChild {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly metricsUrl: string;
  /** Base URL of /healthz and /readyz. */
  readonly healthUrl: string;
  /** When it was started, epoch ms. */
  readonly startedAt: number;
  /** Resolves with the exit code once the process has exited. */
  readonly exit: Promise<number | null>;

  constructor(
    child: ChildProcess,
    metricsPort: number,
    healthPort: number,
    startedAt: number,
    secure = false,
  ) {
    this.child = child;
    this.pid = child.pid ?? -1;
    this.metricsUrl = `${secure ? "https" : "http"}://127.0.0.1:${metricsPort}/metrics`;
    this.healthUrl = `http://127.0.0.1:${healthPort}`;
    this.startedAt = startedAt;
    this.exit = new Promise((resolve) => {
      if (this.exited) resolve(child.exitCode);
      else
        child.once("exit", (code) => {
          resolve(code);
        });
    });
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Polls /readyz until it answers 200; `detail` says where to look when it never does. */
  async waitReady(detail: () => string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.child.exitCode !== null) {
        throw new Error(`the controller exited with ${this.child.exitCode}: ${detail()}`);
      }
      const ok = await fetch(`${this.healthUrl}/readyz`, {
        signal: AbortSignal.timeout(1_000),
      }).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      if (Date.now() > deadline) {
        throw new Error(`the controller was not ready after ${timeoutMs / 1000} s: ${detail()}`);
      }
      await sleep(100);
    }
  }

  /** SIGTERM, then SIGKILL if it has not exited in time; resolves with the exit code. */
  async stop(timeoutMs = 15_000): Promise<number | null> {
    if (!this.exited) {
      this.child.kill("SIGTERM");
      const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
      await this.exit;
      clearTimeout(timer);
    }
    running.delete(this.child);
    return this.child.exitCode;
  }
}

const running = new Set<ChildProcess>();
// Only reached with a controller still running if its starter failed badly.
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export async function spawnController(options: SpawnOptions): Promise<ControllerChild> {
  const [metricsPort, healthPort] = [await freePort(), await freePort()];
  const log = options.logFile === undefined ? undefined : openSync(options.logFile, "a");
  const startedAt = Date.now();
  let child: ChildProcess;
  try {
    child = spawn(
      process.execPath,
      [
        ...(options.nodeArgs ?? []),
        options.entry,
        "--kubeconfig",
        options.kubeconfigPath,
        "--aws-region",
        options.region,
        "--metrics-bind-address",
        `127.0.0.1:${metricsPort}`,
        "--health-probe-bind-address",
        `127.0.0.1:${healthPort}`,
        ...(options.args ?? []),
      ],
      {
        cwd: repoRoot,
        env: { ...process.env, ...options.env },
        stdio: ["ignore", log ?? "pipe", log ?? "pipe"],
      },
    );
  } finally {
    if (log !== undefined) closeSync(log);
  }
  if (child.pid === undefined) throw new Error(`could not start ${options.entry}`);
  running.add(child);
  child.once("exit", () => running.delete(child));
  const secure = (options.args ?? []).some((a) => /^--metrics-secure(=true|=1)?$/.test(a));
  return new ControllerChild(child, metricsPort, healthPort, startedAt, secure);
}

/** Sum of a metric's samples whose labels include all of `labels`, in the Prometheus text format. */
export function sumMetric(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (match?.[1] !== name) continue;
    const present = new Map<string, string>();
    for (const pair of (match[3] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      present.set(pair[1] ?? "", pair[2] ?? "");
    if (Object.entries(labels).every(([k, v]) => present.get(k) === v)) total += Number(match[4]);
  }
  return total;
}
