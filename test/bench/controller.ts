// The controller as a real child process, the way a user runs it, with its
// footprint read from /proc and its counters from /metrics.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { repoRoot } from "../../env/binaries.ts";
import { dummyCredentials } from "../../env/variables.ts";
import { spawnController, sumMetric, type ControllerChild } from "../../env/controller.ts";
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
  readonly #child: ControllerChild;

  private constructor(child: ControllerChild) {
    this.#child = child;
    this.pid = child.pid;
    this.metricsUrl = child.metricsUrl;
    this.startedAt = child.startedAt;
  }

  static async start(options: ControllerOptions): Promise<ControllerProcess> {
    const child = await spawnController({
      entry: entryPoint(options.entry),
      kubeconfigPath: options.kubeconfigPath,
      region: options.region,
      args: ["--watch-namespace", options.namespace, ...options.args],
      nodeArgs: options.nodeArgs ?? [],
      env: {
        ...(options.entry === "image" ? imageEnv() : {}),
        AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: options.awsEndpoint,
        AWS_ENDPOINT_URL_STS: options.awsEndpoint,
        AWS_REGION: options.region,
        AWS_ACCESS_KEY_ID: dummyCredentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: dummyCredentials.secretAccessKey,
      },
      logFile: options.logFile,
    });
    return new ControllerProcess(child);
  }

  get exited(): boolean {
    return this.#child.exited;
  }

  /** Read before stop(): /proc/<pid> is gone afterwards. */
  footprint(): Footprint {
    return footprintOf(this.pid);
  }

  /** Sum of a metric's samples, or undefined while /metrics does not answer. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
    try {
      const res = await fetch(this.metricsUrl, { signal: AbortSignal.timeout(5_000) });
      return sumMetric(await res.text(), name, labels);
    } catch {
      return undefined;
    }
  }

  /** Polls a metric until it reaches `target`; returns when it did (epoch ms). */
  async waitForMetric(
    name: string,
    target: number,
    timeoutMs: number,
    everyMs = 100,
    labels: Record<string, string> = {},
  ) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.exited) throw new Error("the controller exited");
      const value = await this.metric(name, labels);
      if (value !== undefined && value >= target) return Date.now();
      if (Date.now() > deadline)
        throw new Error(`${name} is ${String(value)} after ${timeoutMs} ms, expected ${target}`);
      await sleep(everyMs);
    }
  }

  async stop(timeoutMs = 30_000): Promise<void> {
    await this.#child.stop(timeoutMs);
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
