// The two HTTP endpoints a Deployment points at: /metrics for Prometheus, and
// /healthz and /readyz for the kubelet's probes. /metrics is plain HTTP and
// open unless it is secured: then it is HTTPS, and every scrape must carry a
// token the API server says may get /metrics (./access.ts). The probes stay on
// their own plain port, since the kubelet sends no token.
import {
  createServer,
  type IncomingMessage,
  type RequestListener,
  type Server,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";
import type { MetricsAccess } from "./access.ts";
import type { KeyAndCert } from "./self-signed.ts";

export type AnyServer = Server | HttpsServer;

/** What one client may make the server hold; scrapes are small GETs. */
const LIMITS = {
  maxHeaderSize: 16 * 1024,
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 65_000,
} as const;
const MAX_CONNECTIONS = 64;
const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

/** HTTPS with the certificate, and the access check on every scrape. */
export interface SecureMetrics {
  tls: KeyAndCert;
  access: MetricsAccess;
}

export interface Probes {
  healthy(): boolean;
  ready(): boolean;
}

export interface Bind {
  host: string;
  port: number;
}

function listen(server: AnyServer, bind: Bind): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(bind.port, bind.host, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

export async function serveMetrics(
  registry: Registry,
  bind: Bind,
  secure?: SecureMetrics,
): Promise<{ server: AnyServer; address: AddressInfo }> {
  const scrape = (res: ServerResponse) => {
    registry
      .metrics()
      .then((body) => {
        res.writeHead(200, { "Content-Type": registry.contentType }).end(body);
      })
      .catch((err: unknown) => {
        res.writeHead(500).end(String(err));
      });
  };
  const handler: RequestListener = (req, res) => {
    const path = req.url?.split("?")[0];
    if (path !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    if (req.method !== "GET") {
      res.writeHead(405, { Allow: "GET", Connection: "close" }).end();
      return;
    }
    if (!secure) {
      scrape(res);
      return;
    }
    void guarded(secure.access, req, res, path, scrape);
  };
  const server = secure
    ? createHttpsServer(
        {
          ...LIMITS,
          ...secure.tls,
          handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
          minVersion: "TLSv1.2",
        },
        handler,
      )
    : createServer(LIMITS, handler);
  server.maxConnections = MAX_CONNECTIONS;
  return { server, address: await listen(server, bind) };
}

async function guarded(
  access: MetricsAccess,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  scrape: (res: ServerResponse) => void,
): Promise<void> {
  const verdict = await access.check(req.headers.authorization, path);
  if (res.destroyed) return;
  if (verdict.status === 200) {
    scrape(res);
    return;
  }
  // Only a scraper that was let through keeps its connection open.
  const headers: Record<string, string> = { "Content-Type": "text/plain", Connection: "close" };
  if (verdict.status === 401) headers["WWW-Authenticate"] = 'Bearer realm="metrics"';
  if (verdict.status === 429 || verdict.status === 503) headers["Retry-After"] = "1";
  res.writeHead(verdict.status, headers).end(`${verdict.reason}\n`);
}

export async function serveProbes(
  probes: Probes,
  bind: Bind,
): Promise<{ server: Server; address: AddressInfo }> {
  const server = createServer((req, res) => {
    const path = req.url?.split("?")[0];
    const check =
      path === "/healthz" ? probes.healthy() : path === "/readyz" ? probes.ready() : undefined;
    if (check === undefined) {
      res.writeHead(404).end();
      return;
    }
    res
      .writeHead(check ? 200 : 503, { "Content-Type": "text/plain" })
      .end(check ? "ok" : "not ready");
  });
  return { server, address: await listen(server, bind) };
}

export function closeServer(server: AnyServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
    server.closeAllConnections();
  });
}
