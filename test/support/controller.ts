// Runs the real controller as a child process against the test environment,
// the way a user runs it, and stops it by pid when the test file ends even if
// a test failed.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { after } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { TestEnv } from "./env.ts";

const root = join(import.meta.dirname, "..", "..");
const running = new Set<ChildProcess>();

after(async () => {
  await Promise.all([...running].map((child) => stopChild(child)));
});
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === "object" && address) resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

export interface LogLine {
  level?: string;
  msg?: string;
  [key: string]: unknown;
}

export interface RunningController {
  readonly pid: number;
  readonly logs: LogLine[];
  readonly metricsUrl: string;
  readonly healthUrl: string;
  /** SIGTERM, then SIGKILL if it has not exited in time; resolves with the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
  metrics(): Promise<string>;
  /** Sum of a metric's samples whose labels include all of `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
}

export interface StartOptions {
  args?: string[];
  /** Added to this process's environment; an undefined value removes the variable. */
  env?: NodeJS.ProcessEnv;
  /** Run the built dist/main.js instead of the TypeScript source. */
  built?: boolean;
  /** Run this entry point instead, such as an image's main.js built outside Docker. */
  entry?: string;
  /** Wait for /readyz; default true. */
  waitReady?: boolean;
}

export async function startController(
  env: TestEnv,
  options: StartOptions = {},
): Promise<RunningController> {
  const metricsPort = await freePort();
  const healthPort = await freePort();
  const entry =
    options.entry ?? (options.built ? join(root, "dist", "main.js") : join(root, "src", "main.ts"));
  const child = spawn(
    process.execPath,
    [
      entry,
      "--kubeconfig",
      env.kubeconfigPath,
      "--metrics-bind-address",
      `127.0.0.1:${metricsPort}`,
      "--health-probe-bind-address",
      `127.0.0.1:${healthPort}`,
      "--aws-region",
      env.region,
      "--log-level",
      "debug",
      ...(options.args ?? []),
    ],
    {
      cwd: root,
      env: {
        ...process.env,
        AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: env.awsEndpoint,
        AWS_ENDPOINT_URL_STS: env.awsEndpoint,
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  running.add(child);
  const logs: LogLine[] = [];
  let buffered = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const healthUrl = `http://127.0.0.1:${healthPort}`;
  const controller: RunningController = {
    pid: child.pid ?? -1,
    logs,
    metricsUrl,
    healthUrl,
    stop: (timeoutMs = 15_000) => stopChild(child, timeoutMs),
    metrics: async () => (await fetch(metricsUrl)).text(),
    metric: async (name, labels = {}) => sumMetric(await controller.metrics(), name, labels),
  };
  if (options.waitReady ?? true) {
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`controller exited with ${child.exitCode}: ${stderr}`);
      const ok = await fetch(`${healthUrl}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`controller not ready after 30s: ${stderr}`);
      await sleep(100);
    }
  }
  return controller;
}

async function stopChild(child: ChildProcess, timeoutMs = 15_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) {
    running.delete(child);
    return child.exitCode;
  }
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      resolve(code);
    }),
  );
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  const code = await exited;
  clearTimeout(timer);
  running.delete(child);
  return code;
}

export function sumMetric(text: string, name: string, labels: Record<string, string>): number {
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
