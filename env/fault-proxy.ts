// An HTTP proxy in front of the CloudWatch Logs emulator (and moto's STS) that
// fails chosen calls the way AWS does. moto never throttles, aborts or returns
// 5xx, so these faults are what exercises the controller's error handling.
//
// Standalone: node env/fault-proxy.ts --port P --upstream URL
import { randomUUID } from "node:crypto";
import { createServer, request } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { sendAwsError } from "./aws-wire.ts";
import { adminPrefix, parseRule } from "./fault-proxy-client.ts";
import type { Fault, FaultRule, ParsedRule, ProxyCall } from "./fault-proxy-client.ts";

export { FaultProxyClient, parseRule } from "./fault-proxy-client.ts";
export type { Fault, FaultRule, ParsedRule, ProxyCall } from "./fault-proxy-client.ts";

export interface FaultProxyOptions {
  /** The emulator's URL; must be a loopback address. */
  upstream: string;
  /** 0 (the default) lets the kernel choose. */
  port?: number;
}

const loopback = new Set(["127.0.0.1", "localhost", "[::1]"]);

export class FaultProxy {
  readonly url: string;
  readonly port: number;
  private readonly server: Server;
  private readonly upstream: URL;
  private rules: ParsedRule[] = [];
  private log: ProxyCall[] = [];

  private constructor(server: Server, upstream: URL) {
    this.server = server;
    this.upstream = upstream;
    this.port = (server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${this.port}`;
  }

  static async start(opts: FaultProxyOptions): Promise<FaultProxy> {
    const upstream = new URL(opts.upstream);
    if (!loopback.has(upstream.hostname) || upstream.protocol !== "http:") {
      throw new Error(`upstream must be http on a loopback address, got ${opts.upstream}`);
    }
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port ?? 0, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    const proxy = new FaultProxy(server, upstream);
    server.on("request", (req, res) => {
      proxy.handle(req, res).catch((err: unknown) => {
        res.destroy(err instanceof Error ? err : new Error(String(err)));
      });
    });
    return proxy;
  }

  /** Rules queue up: the oldest rule with calls left that matches the call wins. */
  inject(rule: FaultRule): void {
    this.rules.push(parseRule(rule));
  }

  clearFaults(): void {
    this.rules = [];
  }

  calls(operation?: string): ProxyCall[] {
    return this.log
      .filter((c) => operation === undefined || c.operation === operation || c.target === operation)
      .map((c) => ({ ...c }));
  }

  resetCalls(): void {
    this.log = [];
  }

  /** Let the process exit while the proxy still listens. */
  unref(): void {
    this.server.unref();
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
    this.server.closeAllConnections();
    await closed;
  }

  private take(operation: string, target: string, destination?: string): Fault | undefined {
    const rule = this.rules.find(
      (r) =>
        (r.operation === operation || r.operation === target) &&
        (r.destination === undefined || r.destination === destination),
    );
    if (!rule) return undefined;
    rule.count -= 1;
    if (rule.count <= 0) this.rules = this.rules.filter((r) => r !== rule);
    return rule.fault;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.url?.startsWith(adminPrefix)) {
      await this.admin(req, res);
      return;
    }
    const header = req.headers["x-amz-target"];
    let target = Array.isArray(header) ? (header[0] ?? "") : (header ?? "");
    const at = Date.now();
    let queryBody: string | undefined;
    if (target === "" && isQueryProtocol(req)) {
      // The AWS query protocol (STS) names the operation in the form body's Action.
      queryBody = await readBody(req);
      const action = new URLSearchParams(queryBody).get("Action");
      if (action) target = `${signingService(req)}.${action}`;
    }
    if (target === "") {
      // Not an AWS call (e.g. /moto-api/reset): pass through unrecorded.
      this.forward(req, res, undefined, queryBody);
      return;
    }
    const operation = target.slice(target.lastIndexOf(".") + 1);
    // AWS JSON bodies are small; reading one lets tests count calls per destination.
    const body = queryBody ?? (await readBody(req));
    const destination = destinationOf(body);
    const fault = this.take(operation, target, destination);
    const call: ProxyCall = { operation, target, at, status: 0 };
    if (destination !== undefined) call.destination = destination;
    if (queryBody !== undefined) call.params = Object.fromEntries(new URLSearchParams(queryBody));
    if (fault) call.fault = fault;
    this.log.push(call);

    switch (fault?.kind) {
      case "drop":
        req.socket.destroy();
        return;
      case "error":
        call.status = fault.status ?? (fault.name === "ServiceUnavailableException" ? 500 : 400);
        (queryBody === undefined ? sendAwsError : sendQueryError)(
          res,
          call.status,
          fault.name,
          fault.message ?? `Injected ${fault.name}`,
        );
        return;
      case "latency":
        await sleep(fault.ms);
        break;
      case undefined:
        break;
    }
    this.forward(req, res, call, body);
  }

  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    call?: ProxyCall,
    body?: string,
  ): void {
    const upstreamReq = request(
      {
        hostname: this.upstream.hostname.replace(/^\[|\]$/g, ""),
        port: this.upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (upstreamRes) => {
        const status = upstreamRes.statusCode ?? 502;
        if (call) call.status = status;
        res.writeHead(status, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    upstreamReq.on("error", (err) => {
      if (call) call.status = 502;
      if (res.headersSent) res.destroy(err);
      else res.writeHead(502, { "content-type": "text/plain" }).end(`upstream: ${err.message}`);
    });
    if (body !== undefined) upstreamReq.end(body);
    else req.pipe(upstreamReq);
  }

  private async admin(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.url);
    const route = `${req.method ?? "GET"} ${url.pathname.slice(adminPrefix.length)}`;
    try {
      switch (route) {
        case "POST faults":
          this.inject(parseRule(JSON.parse(await readBody(req))));
          res.writeHead(204).end();
          return;
        case "DELETE faults":
          this.clearFaults();
          res.writeHead(204).end();
          return;
        case "GET calls":
          sendJson(res, 200, this.calls(url.searchParams.get("operation") ?? undefined));
          return;
        case "DELETE calls":
          this.resetCalls();
          res.writeHead(204).end();
          return;
        case "GET health":
          sendJson(res, 200, { upstream: this.upstream.href });
          return;
        default:
          sendJson(res, 404, { error: `no route ${route}` });
      }
    } catch (err) {
      sendJson(res, 400, { error: err instanceof Error ? err.message : String(err) });
    }
  }
}

/** The query protocol's XML error, as STS sends it. */
function sendQueryError(res: ServerResponse, status: number, name: string, message: string): void {
  const escape = (text: string) =>
    text.replace(/[<>&]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;" })[c] ?? c);
  const body =
    `<ErrorResponse><Error><Type>${status >= 500 ? "Receiver" : "Sender"}</Type>` +
    `<Code>${escape(name)}</Code><Message>${escape(message)}</Message></Error>` +
    `<RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
  res.writeHead(status, {
    "content-type": "text/xml",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

function isQueryProtocol(req: IncomingMessage): boolean {
  return (
    req.method === "POST" &&
    (req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")
  );
}

/**
 * The service a query-protocol call is signed for. Only STS takes unsigned
 * calls (AssumeRoleWithWebIdentity, AssumeRoleWithSAML: the token is the proof).
 */
function signingService(req: IncomingMessage): string {
  const authorization = req.headers.authorization;
  if (authorization === undefined) return "sts";
  return /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(authorization)?.[1] ?? "aws";
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { port: { type: "string", default: "0" }, upstream: { type: "string" } },
  });
  if (values.upstream === undefined) {
    throw new Error("usage: fault-proxy.ts --port P --upstream http://127.0.0.1:PORT");
  }
  const proxy = await FaultProxy.start({ upstream: values.upstream, port: Number(values.port) });
  console.log(`fault proxy listening on ${proxy.url}, forwarding to ${values.upstream}`);
  const shutdown = () => {
    void proxy.close().then(() => process.exit(0));
  };
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}

/** The destination a CloudWatch Logs call is about, when its JSON body names one. */
function destinationOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as Record<string, unknown>;
    const name = parsed.destinationName ?? parsed.DestinationNamePrefix;
    return typeof name === "string" ? name : undefined;
  } catch {
    return undefined;
  }
}
