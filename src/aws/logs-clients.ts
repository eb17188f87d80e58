// One CloudWatch Logs SDK client per region, role and session, kept while
// objects use it. Clients of a role share the HTTP handler of their region's
// role-less client, so a region holds one connection pool whatever the roles.
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { AssumedRoleCredentials } from "./assumed-role.ts";
import type { AwsTarget } from "./destinations.ts";
import { DEFAULT_SESSION_NAME } from "./role-sessions.ts";

export interface LogsClientOptions {
  /** Per-attempt HTTP timeouts; a hung connection must fail into the retry loop. */
  connectionTimeoutMs?: number | undefined;
  requestTimeoutMs?: number | undefined;
  /** Send AssumeRole session tags (default true); off for trust policies without sts:TagSession. */
  sessionTags?: boolean | undefined;
  credentials: AssumedRoleCredentials;
  /** Clients and credentials unused for this long are dropped. */
  idleMs: number;
  /** Called at each sweep of idle clients, for whatever else is kept per target. */
  onSweep?: (idleMs: number) => void;
  now: () => number;
}

const SWEEP_EVERY_MS = 60_000;

export class LogsClients {
  readonly #clients = new Map<string, { client: CloudWatchLogsClient; lastUsed: number }>();
  readonly #options: LogsClientOptions;
  #lastSweep: number;

  constructor(options: LogsClientOptions) {
    this.#options = options;
    this.#lastSweep = options.now();
  }

  sessionName(target: AwsTarget): string {
    return target.roleArn ? (target.sessionName ?? DEFAULT_SESSION_NAME) : "";
  }

  #key(target: AwsTarget): string {
    return `${target.region}\u0000${target.roleArn ?? ""}\u0000${this.sessionName(target)}`;
  }

  get(target: AwsTarget): CloudWatchLogsClient {
    const now = this.#options.now();
    if (now - this.#lastSweep > SWEEP_EVERY_MS) this.#sweep(now);
    const { region, roleArn } = target;
    const sessionName = this.sessionName(target);
    const key = this.#key(target);
    const cached = this.#clients.get(key);
    if (cached) {
      cached.lastUsed = now;
      return cached.client;
    }
    const tags = this.#options.sessionTags === false ? undefined : target.sessionTags;
    const client = new CloudWatchLogsClient({
      region,
      maxAttempts: 1,
      requestHandler: roleArn
        ? this.get({ region }).config.requestHandler
        : {
            connectionTimeout: this.#options.connectionTimeoutMs ?? 3_000,
            requestTimeout: this.#options.requestTimeoutMs ?? 10_000,
          },
      ...(roleArn
        ? { credentials: this.#options.credentials.provider(roleArn, sessionName, region, tags) }
        : {}),
    });
    this.#clients.set(key, { client, lastUsed: now });
    return client;
  }

  /**
   * After an error that says the session's credentials are no good: the SDK
   * client memoizes what the provider returned, so it goes too (without
   * destroy(): it shares its region's HTTP handler).
   */
  forgetCredentials(target: AwsTarget & { roleArn: string }): void {
    this.#options.credentials.invalidate(target.roleArn, this.sessionName(target));
    this.#clients.delete(this.#key(target));
  }

  /**
   * Drops what no object has used for a while, so that a stream of distinct
   * regions or roles cannot grow the process without bound. Role clients are
   * dropped without destroy(), and the role-less client only once none is left.
   */
  #sweep(now: number): void {
    this.#lastSweep = now;
    const { idleMs } = this.#options;
    const idle = (entry: { lastUsed: number }) => now - entry.lastUsed >= idleMs;
    const regionsInUse = new Set<string>();
    for (const [key, entry] of this.#clients) {
      if (key.endsWith("\u0000\u0000")) continue;
      if (idle(entry)) this.#clients.delete(key);
      else regionsInUse.add(key.slice(0, key.indexOf("\u0000")));
    }
    for (const [key, entry] of this.#clients) {
      if (!key.endsWith("\u0000\u0000") || !idle(entry)) continue;
      if (regionsInUse.has(key.slice(0, key.indexOf("\u0000")))) continue;
      this.#clients.delete(key);
      entry.client.destroy();
    }
    this.#options.credentials.sweep(idleMs);
    this.#options.onSweep?.(idleMs);
  }

  get size(): number {
    return this.#clients.size;
  }

  destroy(): void {
    for (const { client } of this.#clients.values()) client.destroy();
    this.#clients.clear();
    this.#options.credentials.destroy();
  }
}
