// The CloudWatch Logs SDK clients, one per region, role and session, and what
// is kept for them: the region's HTTP handler and STS client, the session's
// assumed-role credentials, the rate bucket of the account and region.
//
// Regions, roles and session names come from objects that tenants write, so
// what is kept is bounded by a cap rather than an idle timer: at most
// `maxClients` clients, the least recently used evicted first. One eviction
// drops everything that only that client needed, together: the credentials of
// its session, and once it was the last of its region (or account and region)
// the region's handler with its sockets, its STS client and its rate bucket.
// A client an attempt is using is never evicted, so the cap is exceeded by at
// most the attempts in flight, and only until they end.
import { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { AssumedRoleCredentials } from "./assumed-role.ts";
import type { AwsTarget } from "./destinations.ts";
import { rateLimitKey } from "./rate-limit.ts";
import { DEFAULT_SESSION_NAME } from "./role-sessions.ts";

/** Clients kept by default: every real region, and the sessions the workers use at once; about 100 KiB each. */
export const DEFAULT_MAX_CLIENTS = 64;

export interface LogsClientOptions {
  /** Per-attempt HTTP timeouts; a hung connection must fail into the retry loop. */
  connectionTimeoutMs?: number | undefined;
  requestTimeoutMs?: number | undefined;
  /** Send AssumeRole session tags (default true); off for trust policies without sts:TagSession. */
  sessionTags?: boolean | undefined;
  credentials: AssumedRoleCredentials;
  /** Clients kept at most; default DEFAULT_MAX_CLIENTS. */
  maxClients?: number | undefined;
  /** Called when no kept client uses an account and region's rate bucket any more. */
  dropBucket: (key: string) => void;
}

interface Entry {
  readonly key: string;
  readonly region: string;
  /** "role\0session", or undefined for the controller's own identity. */
  readonly session: string | undefined;
  readonly bucket: string;
  readonly client: CloudWatchLogsClient;
  /** Attempts using the client now. */
  inUse: number;
  evicted: boolean;
}

/** A client held for one attempt; release it when the attempt ends. */
export interface LogsClientLease {
  readonly client: CloudWatchLogsClient;
  release(): void;
}

type Handler = CloudWatchLogsClient["config"]["requestHandler"];

export class LogsClients {
  /** In order of last use, the least recent first. */
  readonly #entries = new Map<string, Entry>();
  /** Per region, the HTTP handler its clients share and how many kept clients use it. */
  readonly #regions = new Map<string, { handler: Handler; users: number }>();
  readonly #sessions = new Counts();
  readonly #buckets = new Counts();
  readonly #options: LogsClientOptions;
  readonly #max: number;

  constructor(options: LogsClientOptions) {
    this.#options = options;
    this.#max = Math.max(1, options.maxClients ?? DEFAULT_MAX_CLIENTS);
  }

  sessionName(target: AwsTarget): string {
    return target.roleArn ? (target.sessionName ?? DEFAULT_SESSION_NAME) : "";
  }

  #key(target: AwsTarget): string {
    return `${target.region}\u0000${target.roleArn ?? ""}\u0000${this.sessionName(target)}`;
  }

  /** The target's client, kept from eviction until the lease is released. */
  acquire(target: AwsTarget): LogsClientLease {
    const key = this.#key(target);
    let entry = this.#entries.get(key);
    if (entry) this.#entries.delete(key);
    else entry = this.#create(target, key);
    this.#entries.set(key, entry);
    entry.inUse++;
    this.#evictBeyondCap();
    const held = entry;
    let released = false;
    return {
      client: held.client,
      release: () => {
        if (released) return;
        released = true;
        held.inUse--;
        if (held.evicted && held.inUse === 0) this.#dropShared(held);
        else this.#evictBeyondCap();
      },
    };
  }

  #create(target: AwsTarget, key: string): Entry {
    const { region, roleArn } = target;
    const sessionName = this.sessionName(target);
    const shared = this.#regions.get(region);
    const tags = this.#options.sessionTags === false ? undefined : target.sessionTags;
    const client = new CloudWatchLogsClient({
      region,
      maxAttempts: 1,
      // One connection pool per region, whatever the roles.
      requestHandler: shared?.handler ?? {
        connectionTimeout: this.#options.connectionTimeoutMs ?? 3_000,
        requestTimeout: this.#options.requestTimeoutMs ?? 10_000,
      },
      ...(roleArn
        ? { credentials: this.#options.credentials.provider(roleArn, sessionName, region, tags) }
        : {}),
    });
    if (shared) shared.users++;
    else this.#regions.set(region, { handler: client.config.requestHandler, users: 1 });
    const session = roleArn ? `${roleArn}\u0000${sessionName}` : undefined;
    if (session) this.#sessions.add(session);
    const bucket = rateLimitKey(region, roleArn);
    this.#buckets.add(bucket);
    return { key, region, session, bucket, client, inUse: 0, evicted: false };
  }

  #evictBeyondCap(): void {
    for (const entry of this.#entries.values()) {
      if (this.#entries.size <= this.#max) return;
      if (entry.inUse === 0) this.#evict(entry);
    }
  }

  #evict(entry: Entry): void {
    if (this.#entries.get(entry.key) !== entry) return;
    this.#entries.delete(entry.key);
    entry.evicted = true;
    if (entry.inUse === 0) this.#dropShared(entry);
  }

  /** Drops what only this client still needed; the last client of a region closes its sockets. */
  #dropShared(entry: Entry): void {
    const region = this.#regions.get(entry.region);
    if (region && --region.users === 0) {
      this.#regions.delete(entry.region);
      // destroy() closes the handler the region's clients shared: none is left.
      entry.client.destroy();
      this.#options.credentials.dropRegion(entry.region);
    }
    if (entry.session !== undefined && this.#sessions.remove(entry.session)) {
      const [roleArn = "", sessionName = ""] = entry.session.split("\u0000");
      this.#options.credentials.forget(roleArn, sessionName);
    }
    if (this.#buckets.remove(entry.bucket)) this.#options.dropBucket(entry.bucket);
  }

  /**
   * After an error that says the session's credentials are no good: the SDK
   * client memoizes what the provider returned, so it goes too.
   */
  forgetCredentials(target: AwsTarget & { roleArn: string }): void {
    this.#options.credentials.invalidate(target.roleArn, this.sessionName(target));
    this.drop(target);
  }

  /** Evicts the target's client now (a region no endpoint answers for keeps nothing). */
  drop(target: AwsTarget): void {
    const entry = this.#entries.get(this.#key(target));
    if (entry) this.#evict(entry);
  }

  /** Clients kept. */
  get size(): number {
    return this.#entries.size;
  }

  /** Regions whose connection pool is kept. */
  get regions(): number {
    return this.#regions.size;
  }

  destroy(): void {
    for (const { handler } of this.#regions.values()) handler.destroy?.();
    this.#regions.clear();
    this.#entries.clear();
    this.#options.credentials.destroy();
  }
}

/** How many kept clients use each key. */
class Counts {
  readonly #counts = new Map<string, number>();

  add(key: string): void {
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + 1);
  }

  /** True when the last user of the key went. */
  remove(key: string): boolean {
    const left = (this.#counts.get(key) ?? 0) - 1;
    if (left > 0) this.#counts.set(key, left);
    else this.#counts.delete(key);
    return left <= 0;
  }
}
