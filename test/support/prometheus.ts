// A real Prometheus (Debian's package, unpacked by env/monitoring-tools.sh)
// for a test: it listens on 127.0.0.1 on a free port, keeps its data in a temp
// folder, and is stopped by pid when the test file ends.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { stringify } from "yaml";
import { monitoringTools } from "./chart.ts";
import { freePort } from "../../env/processes.ts";

export interface ScrapeTarget {
  job: string;
  /** host:port */
  address: string;
  labels?: Record<string, string>;
  /** More scrape_config settings, such as scheme, authorization and tls_config. */
  settings?: Record<string, unknown>;
}

/** The parts of a ServiceMonitor endpoint that say how to scrape. */
export interface MonitorEndpoint {
  path?: string;
  scheme?: string;
  bearerTokenFile?: string;
  authorization?: { type?: string; credentials?: { name: string; key: string } };
  tlsConfig?: {
    insecureSkipVerify?: boolean;
    serverName?: string;
    ca?: { secret?: { name: string; key: string } };
  };
}

/**
 * The scrape_config settings the Prometheus Operator generates from a
 * ServiceMonitor endpoint, with the files a Prometheus pod would have: its
 * ServiceAccount token for bearerTokenFile, and each referenced Secret key
 * (`name/key`) written to a file, as the operator mounts them.
 */
export function scrapeSettings(
  endpoint: MonitorEndpoint,
  files: { bearerTokenFile?: string; secretKeys?: Record<string, string> } = {},
): Record<string, unknown> {
  const secretFile = (ref: { name: string; key: string }) => {
    const file = files.secretKeys?.[`${ref.name}/${ref.key}`];
    if (!file) throw new Error(`no file for Secret key ${ref.name}/${ref.key}`);
    return file;
  };
  const settings: Record<string, unknown> = {};
  if (endpoint.path) settings.metrics_path = endpoint.path;
  if (endpoint.scheme) settings.scheme = endpoint.scheme;
  if (endpoint.bearerTokenFile) {
    if (!files.bearerTokenFile) throw new Error("the endpoint reads a bearer token file");
    settings.authorization = { type: "Bearer", credentials_file: files.bearerTokenFile };
  }
  if (endpoint.authorization?.credentials) {
    settings.authorization = {
      type: endpoint.authorization.type ?? "Bearer",
      credentials_file: secretFile(endpoint.authorization.credentials),
    };
  }
  const tls = endpoint.tlsConfig;
  if (tls) {
    settings.tls_config = {
      ...(tls.insecureSkipVerify === undefined
        ? {}
        : { insecure_skip_verify: tls.insecureSkipVerify }),
      ...(tls.serverName ? { server_name: tls.serverName } : {}),
      ...(tls.ca?.secret ? { ca_file: secretFile(tls.ca.secret) } : {}),
    };
  }
  return settings;
}

export interface QueryResult {
  status: "success" | "error";
  error?: string;
  errorType?: string;
  data?: {
    resultType: string;
    result: { metric: Record<string, string>; value?: [number, string] }[];
  };
}

export interface RuleState {
  name: string;
  health: string;
  lastError?: string;
  lastEvaluation: string;
  query: string;
}

export interface TargetState {
  health: "up" | "down" | "unknown";
  lastError: string;
  scrapeUrl: string;
  labels: Record<string, string>;
}

export interface RunningPrometheus {
  readonly url: string;
  readonly pid: number;
  query(expr: string): Promise<QueryResult>;
  targets(): Promise<TargetState[]>;
  rules(): Promise<RuleState[]>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
after(async () => {
  await Promise.all([...running].map((child) => stopChild(child)));
});
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export async function startPrometheus(options: {
  targets: ScrapeTarget[];
  ruleFiles?: string[];
  scrapeInterval?: string;
}): Promise<RunningPrometheus> {
  const { prometheus } = await monitoringTools();
  const dir = await mkdtemp(join(tmpdir(), "ldpc-prometheus-"));
  const interval = options.scrapeInterval ?? "1s";
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval },
    rule_files: options.ruleFiles ?? [],
    scrape_configs: options.targets.map((t) => ({
      job_name: t.job,
      ...t.settings,
      static_configs: [{ targets: [t.address], labels: t.labels ?? {} }],
    })),
  };
  const configFile = join(dir, "prometheus.yml");
  await writeFile(configFile, stringify(config));
  const port = await freePort();
  const child = spawn(
    prometheus,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  running.add(child);
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`prometheus exited with ${child.exitCode}: ${stderr}`);
    const ready = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`prometheus not ready after 30 s: ${stderr}`);
    await sleep(100);
  }
  const api = async <T>(path: string): Promise<T> =>
    (await (await fetch(`${url}${path}`)).json()) as T;
  return {
    url,
    pid: child.pid ?? -1,
    query: (expr) => api<QueryResult>(`/api/v1/query?query=${encodeURIComponent(expr)}`),
    targets: async () => {
      const body = await api<{ data: { activeTargets: TargetState[] } }>("/api/v1/targets");
      return body.data.activeTargets;
    },
    rules: async () => {
      const body = await api<{ data: { groups: { rules: RuleState[] }[] } }>("/api/v1/rules");
      return body.data.groups.flatMap((g) => g.rules);
    },
    stop: async () => {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    running.delete(child);
    return;
  }
  const exited = new Promise<void>((resolve) => {
    child.once("exit", () => {
      resolve();
    });
  });
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
  running.delete(child);
}
