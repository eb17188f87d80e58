// The two HTTP endpoints a Deployment points at: /metrics for Prometheus, and
// /healthz and /readyz for the kubelet's probes.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Registry } from "prom-client";

export interface Probes {
  healthy(): boolean;
  ready(): boolean;
}

export interface Bind {
  host: string;
  port: number;
}

function listen(server: Server, bind: Bind): Promise<AddressInfo> {
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
): Promise<{ server: Server; address: AddressInfo }> {
  const server = createServer((req, res) => {
    if (req.url?.split("?")[0] !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    registry
      .metrics()
      .then((body) => {
        res.writeHead(200, { "Content-Type": registry.contentType }).end(body);
      })
      .catch((err: unknown) => {
        res.writeHead(500).end(String(err));
      });
  });
  return { server, address: await listen(server, bind) };
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

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
    server.closeAllConnections();
  });
}
