// Runs the real controller as a child process against the test environment,
// the way a user runs it, and stops it by pid when the test file ends even if
// a test failed.
import { request } from "node:https";
import { join } from "node:path";
import { after } from "node:test";
import { repoRoot } from "../../env/binaries.ts";
import { spawnController, sumMetric, type ControllerChild } from "../../env/controller.ts";
import type { TestEnv } from "./env.ts";

const running = new Set<ControllerChild>();

after(async () => {
  await Promise.all([...running].map((child) => child.stop()));
});

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
  /** With --metrics-secure, the bearer token metrics() scrapes with. */
  metricsToken?: string;
}

export interface Scrape {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * GET over HTTP or HTTPS with an optional bearer token. Without a CA the
 * server's certificate is not checked: the controller's own is self-signed.
 */
export function scrape(
  url: string,
  options: { token?: string; ca?: string } = {},
): Promise<Scrape> {
  if (url.startsWith("http:")) {
    return fetch(url, {
      headers: options.token ? { Authorization: `Bearer ${options.token}` } : {},
      signal: AbortSignal.timeout(10_000),
    }).then(async (res) => ({
      status: res.status,
      headers: Object.fromEntries(res.headers),
      body: await res.text(),
    }));
  }
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        headers: options.token ? { Authorization: `Bearer ${options.token}` } : {},
        ...(options.ca ? { ca: options.ca } : { rejectUnauthorized: false }),
        timeout: 10_000,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
        res.on("end", () => {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${url}: no answer in 10 s`)));
    req.on("error", reject);
    req.end();
  });
}

export async function startController(
  env: TestEnv,
  options: StartOptions = {},
): Promise<RunningController> {
  const child = await spawnController({
    entry:
      options.entry ??
      join(repoRoot, ...(options.built ? ["dist", "main.js"] : ["src", "main.ts"])),
    kubeconfigPath: env.kubeconfigPath,
    region: env.region,
    args: ["--log-level", "debug", ...(options.args ?? [])],
    env: {
      AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: env.awsEndpoint,
      AWS_ENDPOINT_URL_STS: env.awsEndpoint,
      ...options.env,
    },
  });
  running.add(child);
  const logs: LogLine[] = [];
  let buffered = "";
  child.child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
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
  child.child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const controller: RunningController = {
    pid: child.pid,
    logs,
    metricsUrl: child.metricsUrl,
    healthUrl: child.healthUrl,
    stop: async (timeoutMs) => {
      const code = await child.stop(timeoutMs);
      running.delete(child);
      return code;
    },
    metrics: async () => {
      const res = await scrape(child.metricsUrl, { token: options.metricsToken });
      if (res.status !== 200)
        throw new Error(`${child.metricsUrl}: HTTP ${res.status}: ${res.body}`);
      return res.body;
    },
    metric: async (name, labels = {}) => sumMetric(await controller.metrics(), name, labels),
  };
  if (options.waitReady ?? true) await child.waitReady(() => stderr);
  return controller;
}
