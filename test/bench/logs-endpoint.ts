// The CloudWatch Logs endpoints the benchmark can point the controller at, both
// recording when each PutDestinationPolicy call arrives:
//   - "memory": a minimal in-process server speaking the AWS JSON 1.1 protocol
//     for PutDestinationPolicy and DescribeDestinations, so the endpoint costs
//     next to nothing and never becomes the bottleneck;
//   - "moto": the emulator behind the fault proxy, as the integration tests use.
import { randomUUID } from "node:crypto";
import { Agent, createServer, request } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { ControlPlane } from "../../env/controlplane.ts";
import { sendAwsError } from "../../env/aws-wire.ts";
import { forEachConcurrent } from "./kube.ts";

/** The account of the destinations this endpoint holds, and of the identity calling it. */
const ACCOUNT = "123456789012";

export const PUT = "PutDestinationPolicy";
const TARGET_PREFIX = "Logs_20140328.";

export interface PutCall {
  /** Epoch milliseconds when the request arrived. */
  at: number;
  /** Known for the in-process server only; the fault proxy does not record bodies. */
  destinationName?: string;
  status: number;
}

export interface LogsEndpoint {
  readonly kind: "memory" | "moto";
  readonly url: string;
  createDestinations(names: readonly string[]): Promise<void>;
  /** Every PutDestinationPolicy call so far, in arrival order. */
  puts(): readonly PutCall[];
  /** Arrival times (epoch ms) of every DescribeDestinations call so far. */
  describes(): readonly number[];
  close(): Promise<void>;
}

interface Destination {
  destinationName: string;
  arn: string;
  roleArn: string;
  targetArn: string;
  creationTime: number;
  accessPolicy?: string;
}

export class MemoryLogsEndpoint implements LogsEndpoint {
  readonly kind = "memory";
  readonly url: string;
  readonly #server: Server;
  readonly #region: string;
  readonly #destinations = new Map<string, Destination>();
  readonly #puts: PutCall[] = [];
  readonly #describes: number[] = [];

  private constructor(server: Server, region: string) {
    this.#server = server;
    this.#region = region;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  static async start(region: string): Promise<MemoryLogsEndpoint> {
    const server = createServer({ keepAliveTimeout: 60_000 });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    const endpoint = new MemoryLogsEndpoint(server, region);
    server.on("request", (req, res) => {
      endpoint.#handle(req, res);
    });
    return endpoint;
  }

  createDestinations(names: readonly string[]): Promise<void> {
    for (const name of names) {
      this.#destinations.set(name, {
        destinationName: name,
        arn: `arn:aws:logs:${this.#region}:${ACCOUNT}:destination:${name}`,
        roleArn: "arn:aws:iam::123456789012:role/cwl-to-kinesis",
        targetArn: `arn:aws:kinesis:${this.#region}:123456789012:stream/${name}`,
        creationTime: Date.now(),
      });
    }
    return Promise.resolve();
  }

  puts(): readonly PutCall[] {
    return this.#puts;
  }

  describes(): readonly number[] {
    return this.#describes;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      this.#server.close(() => {
        resolve();
      });
    });
    this.#server.closeAllConnections();
    await closed;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const at = Date.now();
    const header = req.headers["x-amz-target"];
    const target = typeof header === "string" ? header : "";
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      // The controller looks up its own account once (STS's query protocol), as in a real account.
      if (
        target === "" &&
        Buffer.concat(chunks).toString("utf8").includes("Action=GetCallerIdentity")
      ) {
        res.writeHead(200, { "content-type": "text/xml" });
        res.end(
          `<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::${ACCOUNT}:user/bench</Arn>` +
            `<UserId>AIDABENCH</UserId><Account>${ACCOUNT}</Account></GetCallerIdentityResult>` +
            `<ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
        );
        return;
      }
      let input: Record<string, unknown>;
      try {
        input = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<
          string,
          unknown
        >;
      } catch {
        sendAwsError(res, 400, "SerializationException", "body is not JSON");
        return;
      }
      switch (target) {
        case `${TARGET_PREFIX}${PUT}`:
          this.#put(input, res, at);
          return;
        case `${TARGET_PREFIX}DescribeDestinations`:
          this.#describes.push(at);
          this.#describe(input, res);
          return;
        default:
          sendAwsError(res, 400, "UnknownOperationException", `unsupported target "${target}"`);
      }
    });
  }

  #put(input: Record<string, unknown>, res: ServerResponse, at: number): void {
    const name = input.destinationName;
    const policy = input.accessPolicy;
    const call: PutCall = { at, status: 200 };
    if (typeof name === "string") call.destinationName = name;
    this.#puts.push(call);
    if (typeof name !== "string" || typeof policy !== "string" || policy === "") {
      call.status = 400;
      sendAwsError(
        res,
        400,
        "InvalidParameterException",
        "destinationName and accessPolicy needed",
      );
      return;
    }
    const destination = this.#destinations.get(name);
    if (!destination) {
      call.status = 400;
      sendAwsError(res, 400, "ResourceNotFoundException", "The specified resource does not exist.");
      return;
    }
    destination.accessPolicy = policy;
    // Like AWS: 200 with an empty body.
    res.writeHead(200, { "x-amzn-requestid": randomUUID(), "content-length": 0 }).end();
  }

  #describe(input: Record<string, unknown>, res: ServerResponse): void {
    const prefix =
      typeof input.DestinationNamePrefix === "string" ? input.DestinationNamePrefix : "";
    const limit = typeof input.limit === "number" ? Math.min(Math.max(input.limit, 1), 50) : 50;
    const start = typeof input.nextToken === "string" ? Number(input.nextToken) : 0;
    const matching = [...this.#destinations.values()]
      .filter((d) => d.destinationName.startsWith(prefix))
      .sort((a, b) => a.destinationName.localeCompare(b.destinationName));
    const page = matching.slice(start, start + limit);
    const next = start + limit < matching.length ? String(start + limit) : undefined;
    sendJson(res, { destinations: page, ...(next ? { nextToken: next } : {}) });
  }
}

function sendJson(res: ServerResponse, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(200, {
    "content-type": "application/x-amz-json-1.1",
    "content-length": Buffer.byteLength(body),
    "x-amzn-requestid": randomUUID(),
  });
  res.end(body);
}

/** moto behind the control plane's in-process fault proxy, which records arrival times. */
export class MotoLogsEndpoint implements LogsEndpoint {
  readonly kind = "moto";
  readonly url: string;
  readonly #cp: ControlPlane;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 4 });

  constructor(cp: ControlPlane) {
    if (!cp.proxy) throw new Error("the moto endpoint needs the in-process fault proxy");
    this.#cp = cp;
    this.url = cp.proxyUrl;
  }

  /** Straight to moto, past the proxy. moto's store is not safe for concurrent creates. */
  async createDestinations(names: readonly string[]): Promise<void> {
    await forEachConcurrent(names.length, 1, async (i) => {
      const name = names[i] ?? "";
      await this.#call("PutDestination", {
        destinationName: name,
        targetArn: `arn:aws:kinesis:${this.#cp.region}:123456789012:stream/${name}`,
        roleArn: "arn:aws:iam::123456789012:role/cwl-to-kinesis",
      });
    });
  }

  puts(): readonly PutCall[] {
    return (this.#cp.proxy?.calls(PUT) ?? []).map(({ at, status }) => ({ at, status }));
  }

  describes(): readonly number[] {
    return (this.#cp.proxy?.calls("DescribeDestinations") ?? []).map(({ at }) => at);
  }

  close(): Promise<void> {
    this.#agent.destroy();
    return Promise.resolve();
  }

  #call(operation: string, input: unknown): Promise<void> {
    const body = JSON.stringify(input);
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.#cp.motoUrl}/`,
        {
          method: "POST",
          agent: this.#agent,
          headers: {
            "x-amz-target": `${TARGET_PREFIX}${operation}`,
            "content-type": "application/x-amz-json-1.1",
            "content-length": Buffer.byteLength(body),
            // moto reads the region from the credential scope.
            authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/${this.#cp.region}/logs/aws4_request, SignedHeaders=host, Signature=0`,
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            if ((res.statusCode ?? 0) >= 300)
              reject(new Error(`moto ${operation}: HTTP ${res.statusCode ?? 0}`));
            else resolve();
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }
}
