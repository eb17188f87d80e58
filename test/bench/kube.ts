// A bare Kubernetes client for the benchmark: JSON over HTTPS with keep-alive
// and nothing else, so that what it measures is the API server, not a client
// library. Also reads the API server's own request counters from /metrics.
import { Agent, request } from "node:https";
import { KubeConfig } from "@kubernetes/client-node";
import { GRANT_PLURAL, GROUP, PLURAL, VERSION } from "../../src/api/names.ts";

export interface KubeResponse<T> {
  status: number;
  body: T;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  generation?: number;
  resourceVersion?: string;
  annotations?: Record<string, string>;
}

export interface PolicyObject {
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
  status?: {
    observedGeneration?: number;
    conditions?: { type: string; status: string; reason?: string }[];
  };
}

export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: PolicyObject;
}

export class KubeError extends Error {
  readonly status: number;
  constructor(method: string, path: string, status: number, body: string) {
    super(`${method} ${path}: HTTP ${status}: ${body.slice(0, 500)}`);
    this.name = "KubeError";
    this.status = status;
  }
}

export const MERGE_PATCH = "application/merge-patch+json";

export class KubeHttp {
  readonly server: URL;
  readonly #agent: Agent;
  readonly #tls: { ca: Buffer; cert: Buffer; key: Buffer };

  constructor(kubeconfigPath: string, maxSockets = 64) {
    const kc = new KubeConfig();
    kc.loadFromFile(kubeconfigPath);
    const cluster = kc.getCurrentCluster();
    const user = kc.getCurrentUser();
    if (!cluster?.caData || !user?.certData || !user.keyData) {
      throw new Error(`${kubeconfigPath}: expected inline CA, client certificate and key`);
    }
    this.server = new URL(cluster.server);
    this.#tls = {
      ca: Buffer.from(cluster.caData, "base64"),
      cert: Buffer.from(user.certData, "base64"),
      key: Buffer.from(user.keyData, "base64"),
    };
    this.#agent = new Agent({ keepAlive: true, maxSockets, ...this.#tls });
  }

  /** One request with a JSON body and answer; rejects with KubeError on any status >= 300. */
  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = "application/json",
  ): Promise<KubeResponse<T>> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const { status, text } = await this.requestText(method, path, payload, contentType);
    return { status, body: (text === "" ? undefined : JSON.parse(text)) as T };
  }

  /** One request, the answer as text (for /metrics). */
  requestText(
    method: string,
    path: string,
    payload?: string,
    contentType = "application/json",
  ): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.server.hostname,
          port: this.server.port,
          method,
          path,
          agent: this.#agent,
          headers: {
            accept: "application/json, */*",
            ...(payload === undefined
              ? {}
              : { "content-type": contentType, "content-length": Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString("utf8");
            if (status >= 300) reject(new KubeError(method, path, status, text));
            else resolve({ status, text });
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  }

  /**
   * A watch as newline-delimited JSON events. Resolves once the server has
   * answered with 200; `closed` settles when the stream ends.
   */
  async watch(
    path: string,
    onEvent: (event: WatchEvent) => void,
  ): Promise<{ stop: () => void; closed: Promise<void> }> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.server.hostname,
          port: this.server.port,
          method: "GET",
          path,
          // A watch holds its connection for good; keep it out of the request pool.
          agent: false,
          ...this.#tls,
          headers: { accept: "application/json" },
        },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            reject(new KubeError("GET", path, res.statusCode ?? 0, "watch refused"));
            return;
          }
          res.setEncoding("utf8");
          let buffered = "";
          res.on("data", (chunk: string) => {
            buffered += chunk;
            let newline = buffered.indexOf("\n");
            while (newline >= 0) {
              const line = buffered.slice(0, newline);
              buffered = buffered.slice(newline + 1);
              if (line.trim() !== "") onEvent(JSON.parse(line) as WatchEvent);
              newline = buffered.indexOf("\n");
            }
          });
          const closed = new Promise<void>((done) => {
            res.on("close", done);
          });
          resolve({ stop: () => req.destroy(), closed });
        },
      );
      req.on("error", reject);
      req.end();
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** Paths of the LogDestinationPolicy resource in one namespace. */
export function policyPath(namespace: string, name?: string, subresource?: string): string {
  const base = `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`;
  if (name === undefined) return base;
  return `${base}/${name}${subresource ? `/${subresource}` : ""}`;
}

/** Paths of the LogDestinationGrant resource in one namespace. */
export function grantPath(namespace: string, name?: string): string {
  const base = `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${GRANT_PLURAL}`;
  return name === undefined ? base : `${base}/${name}`;
}

export async function createNamespace(
  kube: KubeHttp,
  name: string,
  labels: Record<string, string> = {},
): Promise<void> {
  await kube.request("POST", "/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name, labels },
  });
}

/** The namespace's current resourceVersion for the resource: where a watch starts. */
export async function currentResourceVersion(
  kube: KubeHttp,
  namespace: string,
  path = policyPath(namespace),
): Promise<string> {
  const { body } = await kube.request<{ metadata: { resourceVersion: string } }>(
    "GET",
    `${path}?limit=1`,
  );
  return body.metadata.resourceVersion;
}

/** Runs fn(0..n-1) with at most `concurrency` calls in flight. */
export async function forEachConcurrent(
  n: number,
  concurrency: number,
  fn: (i: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
}

/** apiserver_request_total, summed by "VERB resource[/subresource]". */
export type RequestCounts = Map<string, number>;

export async function apiserverRequestCounts(
  kube: KubeHttp,
  resources: readonly string[],
): Promise<RequestCounts> {
  const { text } = await kube.requestText("GET", "/metrics");
  const counts: RequestCounts = new Map();
  for (const line of text.split("\n")) {
    if (!line.startsWith("apiserver_request_total{")) continue;
    const labels = new Map<string, string>();
    for (const m of line.matchAll(/(\w+)="([^"]*)"/g)) labels.set(m[1] ?? "", m[2] ?? "");
    const resource = labels.get("resource") ?? "";
    if (!resources.includes(resource)) continue;
    const sub = labels.get("subresource") ?? "";
    const key = `${labels.get("verb") ?? "?"} ${resource}${sub ? `/${sub}` : ""}`;
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    counts.set(key, (counts.get(key) ?? 0) + value);
  }
  return counts;
}

export function diffCounts(after: RequestCounts, before: RequestCounts): RequestCounts {
  const out: RequestCounts = new Map();
  for (const [key, value] of after) {
    const delta = value - (before.get(key) ?? 0);
    if (delta !== 0) out.set(key, delta);
  }
  return out;
}
