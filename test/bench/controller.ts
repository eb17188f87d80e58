// The controller as a real child process, the way a user runs it, with its
// footprint read from /proc and its counters from /metrics.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { repoRoot } from "../env/binaries.ts";
import { dummyCredentials } from "../env/variables.ts";
import { freePort } from "../env/processes.ts";
import { imageEnv } from "../support/dockerfile.ts";

export interface ControllerOptions {
  kubeconfigPath: string;
  awsEndpoint: string;
  region: string;
  namespace: string;
  args: readonly string[];
  /** Which build of the controller runs. */
  entry: Entry;
  logFile: string;
  /** Extra node options, e.g. --cpu-prof. */
  nodeArgs?: readonly string[];
}

export interface Footprint {
  /** Peak resident set (VmHWM), MiB. */
  peakRssMiB: number;
  /** utime + stime, seconds. */
  cpuSeconds: number;
}

const CLOCK_TICKS =
  Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/**
 * src: the TypeScript sources; dist: npm run build's output with node_modules;
 * image: npm run bundle's single file, what the container image runs.
 */
export type Entry = "src" | "dist" | "image";

export const ENTRY_FILES: Record<Entry, string> = {
  src: "src/main.ts",
  dist: "dist/main.js",
  image: "out/image/dist/main.js",
};

export function entryPoint(entry: Entry): string {
  return join(repoRoot, ENTRY_FILES[entry]);
}

/** Flags the controller's --help lists; a flag another change adds may be missing. */
export function supportedFlags(entry: Entry): Set<string> {
  const help = execFileSync(process.execPath, [entryPoint(entry), "run", "--help"], {
    encoding: "utf8",
    cwd: repoRoot,
  });
  return new Set(help.match(/--[a-z][a-z0-9-]*/g) ?? []);
}

export class ControllerProcess {
  readonly pid: number;
  readonly metricsUrl: string;
  readonly startedAt: number;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;

  private constructor(child: ChildProcess, metricsUrl: string, startedAt: number) {
    this.#child = child;
    this.pid = child.pid ?? -1;
    this.metricsUrl = metricsUrl;
    this.startedAt = startedAt;
    this.#exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else
        child.once("exit", () => {
          resolve();
        });
    });
  }

  static async start(options: ControllerOptions): Promise<ControllerProcess> {
    const [metricsPort, healthPort] = [await freePort(), await freePort()];
    const log = openSync(options.logFile, "a");
    const startedAt = Date.now();
    let child: ChildProcess;
    try {
      child = spawn(
        process.execPath,
        [
          ...(options.nodeArgs ?? []),
          entryPoint(options.entry),
          "--kubeconfig",
          options.kubeconfigPath,
          "--watch-namespace",
          options.namespace,
          "--aws-region",
          options.region,
          "--metrics-bind-address",
          `127.0.0.1:${metricsPort}`,
          "--health-probe-bind-address",
          `127.0.0.1:${healthPort}`,
          ...options.args,
        ],
        {
          cwd: repoRoot,
          stdio: ["ignore", log, log],
          env: {
            ...process.env,
            ...(options.entry === "image" ? imageEnv() : {}),
            AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: options.awsEndpoint,
            AWS_ENDPOINT_URL_STS: options.awsEndpoint,
            AWS_REGION: options.region,
            AWS_ACCESS_KEY_ID: dummyCredentials.accessKeyId,
            AWS_SECRET_ACCESS_KEY: dummyCredentials.secretAccessKey,
          },
        },
      );
    } finally {
      closeSync(log);
    }
    running.add(child);
    return new ControllerProcess(child, `http://127.0.0.1:${metricsPort}/metrics`, startedAt);
  }

  get exited(): boolean {
    return this.#child.exitCode !== null || this.#child.signalCode !== null;
  }

  /** Read before stop(): /proc/<pid> is gone afterwards. */
  footprint(): Footprint {
    return footprintOf(this.pid);
  }

  /** Sum of a metric's samples, or undefined while /metrics does not answer. */
  async metric(name: string): Promise<number | undefined> {
    try {
      const res = await fetch(this.metricsUrl, { signal: AbortSignal.timeout(5_000) });
      return sumMetric(await res.text(), name);
    } catch {
      return undefined;
    }
  }

  /** Polls a metric until it reaches `target`; returns when it did (epoch ms). */
  async waitForMetric(name: string, target: number, timeoutMs: number, everyMs = 100) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.exited) throw new Error("the controller exited");
      const value = await this.metric(name);
      if (value !== undefined && value >= target) return Date.now();
      if (Date.now() > deadline)
        throw new Error(`${name} is ${String(value)} after ${timeoutMs} ms, expected ${target}`);
      await sleep(everyMs);
    }
  }

  async stop(timeoutMs = 30_000): Promise<void> {
    if (!this.exited) {
      this.#child.kill("SIGTERM");
      const timer = setTimeout(() => this.#child.kill("SIGKILL"), timeoutMs);
      await this.#exited;
      clearTimeout(timer);
    }
    running.delete(this.#child);
  }
}

/** Peak RSS and CPU time of a running process, from /proc. */
export function footprintOf(pid: number): Footprint {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const hwm = /^VmHWM:\s+(\d+) kB/m.exec(status);
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which may contain spaces: utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { peakRssMiB: Number(hwm?.[1] ?? 0) / 1024, cpuSeconds: ticks / CLOCK_TICKS };
}

/** Sum of an unlabelled-or-any-labels metric's samples in the Prometheus text format. */
export function sumMetric(text: string, name: string): number {
  let total = 0;
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!rest.startsWith(" ") && !rest.startsWith("{")) continue;
    total += Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return total;
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});
