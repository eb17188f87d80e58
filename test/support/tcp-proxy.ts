// A TCP proxy between one controller and the API server, for faults that only
// that controller sees: a frozen connection (a half-open TCP stream that
// delivers nothing, as behind a stuck load balancer) or a cut-off network.
// TLS passes through untouched; the controller's kubeconfig just points here.
import { readFile, writeFile } from "node:fs/promises";
import { createConnection, createServer, type Server, type Socket } from "node:net";

interface Pair {
  client: Socket;
  upstream: Socket;
  frozen: boolean;
}

export class TcpProxy {
  readonly port: number;
  readonly #server: Server;
  readonly #pairs = new Set<Pair>();
  #blocked = false;
  /** Connections accepted so far. */
  connections = 0;

  private constructor(server: Server, port: number) {
    this.#server = server;
    this.port = port;
  }

  static async start(upstreamPort: number, upstreamHost = "127.0.0.1"): Promise<TcpProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    const address = server.address();
    if (typeof address !== "object" || !address) throw new Error("no address");
    const proxy = new TcpProxy(server, address.port);
    server.on("connection", (client) => {
      proxy.#accept(client, upstreamHost, upstreamPort);
    });
    return proxy;
  }

  #accept(client: Socket, host: string, port: number): void {
    this.connections++;
    if (this.#blocked) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host, port });
    const pair: Pair = { client, upstream, frozen: false };
    this.#pairs.add(pair);
    const drop = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /**
   * Open connections stop passing bytes either way but stay open, so neither
   * end notices; connections made afterwards pass normally. Returns how many
   * were frozen.
   */
  freeze(): number {
    let frozen = 0;
    for (const pair of this.#pairs) {
      if (pair.frozen) continue;
      pair.frozen = true;
      pair.client.unpipe(pair.upstream);
      pair.upstream.unpipe(pair.client);
      pair.client.pause();
      pair.upstream.pause();
      frozen++;
    }
    return frozen;
  }

  /** Cuts every connection and refuses new ones until unblock(). */
  block(): void {
    this.#blocked = true;
    for (const pair of this.#pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.#pairs.clear();
  }

  unblock(): void {
    this.#blocked = false;
  }

  async close(): Promise<void> {
    this.block();
    await new Promise<void>((resolve) => {
      this.#server.close(() => {
        resolve();
      });
    });
  }
}

/** Writes a copy of a kubeconfig whose server is the proxy, same host and TLS, another port. */
export async function kubeconfigThrough(
  kubeconfigPath: string,
  proxyPort: number,
  outPath: string,
): Promise<string> {
  const text = await readFile(kubeconfigPath, "utf8");
  const rewritten = text.replace(
    /("?server"?\s*:\s*"?https:\/\/127\.0\.0\.1:)\d+/g,
    (_m, prefix: string) => `${prefix}${proxyPort}`,
  );
  if (rewritten === text) throw new Error(`no https://127.0.0.1 server in ${kubeconfigPath}`);
  await writeFile(outPath, rewritten);
  return outPath;
}

/** The port of the API server a kubeconfig points at. */
export async function apiServerPort(kubeconfigPath: string): Promise<number> {
  const match = /"?server"?\s*:\s*"?https:\/\/127\.0\.0\.1:(\d+)/.exec(
    await readFile(kubeconfigPath, "utf8"),
  );
  if (!match?.[1]) throw new Error(`no https://127.0.0.1 server in ${kubeconfigPath}`);
  return Number(match[1]);
}
