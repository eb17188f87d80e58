// The only module that talks to CloudWatch Logs. Everything above it sees plain
// inputs, plain results, AwsCallError and RoleNotAllowedError.
import {
  CloudWatchLogsClient,
  DescribeDestinationsCommand,
  PutDestinationPolicyCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { classifyAwsError } from "./errors.ts";
import { accountOfArn, type AwsAccount } from "../util/arn.ts";
import { CallerIdentity } from "./identity.ts";
import { AwsRateLimiter, rateLimitKey, type Priority } from "./rate-limit.ts";
import { DEFAULT_RETRY_POLICY, withRetries, type RetryPolicy } from "./retry.ts";
import { AssumedRoleCredentials } from "./assumed-role.ts";
import { DEFAULT_SESSION_NAME } from "./role-sessions.ts";
import { RoleAllowList, RoleNotAllowedError } from "./roles.ts";

export interface AwsObserver {
  request(operation: string, outcome: string, seconds: number): void;
  retry(operation: string, errorName: string): void;
  /** Time an attempt waited for the rate limit of its account and region. */
  rateLimited?(key: string, seconds: number): void;
  /** Every AssumeRole call, with "success" or the error's name. */
  assumeRole?(outcome: string, seconds: number): void;
}

/**
 * Where a call goes: a region, and the role to assume there, if any. The
 * session name identifies the object in AWS's audit trail (see roleSessionName).
 */
export interface AwsTarget {
  region: string;
  roleArn?: string;
  sessionName?: string;
  /** Session tags naming the object; sent unless the client was told not to. */
  sessionTags?: Record<string, string>;
}

export interface PutPolicyInput extends AwsTarget {
  destinationName: string;
  /** The canonical JSON, sent as is. */
  accessPolicy: string;
  forceUpdate: boolean;
}

export interface LiveDestination {
  destinationName: string;
  arn?: string;
  accessPolicy?: string;
}

export interface DestinationPolicyApi {
  putPolicy(input: PutPolicyInput, signal?: AbortSignal): Promise<void>;
  describe(
    target: AwsTarget,
    destinationName: string,
    signal?: AbortSignal,
  ): Promise<LiveDestination | undefined>;
  /** The account whose destination a call to this target writes, when it can be known. */
  account?(target: AwsTarget): Promise<AwsAccount | undefined>;
}

/** What the controller needs: single reads and writes, and drift sweeps. */
export interface DestinationSweepApi extends DestinationPolicyApi {
  /**
   * Every destination whose name starts with `prefix`, page by page (50 each),
   * as background work that yields to other calls. Resolves with the pages read.
   */
  list(
    target: AwsTarget,
    prefix: string,
    onPage: (destinations: LiveDestination[]) => void,
    signal?: AbortSignal,
  ): Promise<number>;
}

/** DescribeDestinations returns at most this many per page. */
export const PAGE_SIZE = 50;
// A token that keeps coming back would page forever; no account holds this many pages.
const MAX_PAGES = 100_000;

export interface DestinationClientOptions {
  retry?: RetryPolicy;
  observer?: AwsObserver;
  /** Per-attempt HTTP timeouts; a hung connection must fail into the retry loop. */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Requests per second per account and region (0 = unlimited), and the burst; default unlimited. */
  rateLimit?: { ratePerSecond: number; burst: number };
  /** Roles that may be assumed; by default none. */
  allowedRoles?: RoleAllowList;
  /** For tests: assumed-role credentials from elsewhere than STS. */
  credentials?: AssumedRoleCredentials;
  /** Checked before every attempt; false refuses it (a leader that lost its lease). */
  mayCall?: () => boolean;
  /** Send AssumeRole session tags (default true); off for trust policies without sts:TagSession. */
  sessionTags?: boolean;
  /** For tests: where the controller's own account is looked up. */
  identity?: CallerIdentity;
  /** Clients, credentials and rate-limit buckets unused for this long are dropped; default 15 min. */
  idleMs?: number;
  now?: () => number;
}

const DEFAULT_IDLE_MS = 15 * 60_000;
const SWEEP_EVERY_MS = 60_000;

/** Errors after which cached assumed-role credentials are not worth reusing. */
const STALE_CREDENTIAL_ERRORS = new Set([
  "ExpiredToken",
  "ExpiredTokenException",
  "InvalidClientTokenId",
  "UnrecognizedClientException",
  "AccessDenied",
  "AccessDeniedException",
]);

export class DestinationPolicyClient implements DestinationSweepApi {
  /** Per region, role and session; those with a role share the role-less client's HTTP handler. */
  readonly #clients = new Map<string, { client: CloudWatchLogsClient; lastUsed: number }>();
  readonly #retry: RetryPolicy;
  readonly #observer: AwsObserver | undefined;
  readonly #options: DestinationClientOptions;
  readonly #limiter: AwsRateLimiter;
  readonly #allowed: RoleAllowList;
  readonly #credentials: AssumedRoleCredentials;
  readonly #identity: CallerIdentity;
  readonly #now: () => number;
  readonly #idleMs: number;
  #lastSweep: number;
  /** Calls waiting to retry. */
  #backingOff = 0;
  #drain: (() => void) | undefined;

  constructor(options: DestinationClientOptions = {}) {
    this.#options = options;
    this.#retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.#observer = options.observer;
    this.#limiter = new AwsRateLimiter(options.rateLimit ?? { ratePerSecond: 0, burst: 1 });
    this.#allowed = options.allowedRoles ?? RoleAllowList.parse([]);
    this.#now = options.now ?? Date.now;
    this.#idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
    this.#lastSweep = this.#now();
    this.#identity = options.identity ?? new CallerIdentity();
    this.#credentials =
      options.credentials ??
      new AssumedRoleCredentials({
        onAssume: (_role, outcome, seconds) => {
          this.#observer?.assumeRole?.(outcome, seconds);
        },
      });
  }

  /** Refuses a role outside the allow-list before anything is sent. */
  #checkRole(target: AwsTarget): void {
    if (target.roleArn !== undefined && !this.#allowed.allows(target.roleArn)) {
      throw new RoleNotAllowedError(target.roleArn, this.#allowed);
    }
  }

  #sessionName(target: AwsTarget): string {
    return target.roleArn ? (target.sessionName ?? DEFAULT_SESSION_NAME) : "";
  }

  #clientKey(target: AwsTarget): string {
    return `${target.region}\u0000${target.roleArn ?? ""}\u0000${this.#sessionName(target)}`;
  }

  #client(target: AwsTarget): CloudWatchLogsClient {
    const now = this.#now();
    if (now - this.#lastSweep > SWEEP_EVERY_MS) this.#sweep(now);
    const { region, roleArn } = target;
    const sessionName = this.#sessionName(target);
    const key = this.#clientKey(target);
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
        ? this.#client({ region }).config.requestHandler
        : {
            connectionTimeout: this.#options.connectionTimeoutMs ?? 3_000,
            requestTimeout: this.#options.requestTimeoutMs ?? 10_000,
          },
      ...(roleArn
        ? { credentials: this.#credentials.provider(roleArn, sessionName, region, tags) }
        : {}),
    });
    this.#clients.set(key, { client, lastUsed: now });
    return client;
  }

  /**
   * Drops what no object has used for a while, so that a stream of distinct
   * regions or roles cannot grow the process without bound. Role clients share
   * the HTTP handler of their region's role-less client: they are dropped
   * without destroy(), and the role-less client only once none is left.
   */
  #sweep(now: number): void {
    this.#lastSweep = now;
    const idle = (entry: { lastUsed: number }) => now - entry.lastUsed >= this.#idleMs;
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
    this.#credentials.sweep(this.#idleMs);
    this.#limiter.sweep(this.#idleMs);
  }

  /**
   * An assumed role writes the destinations of the role's account, so its ARN
   * says it; the controller's own account costs one GetCallerIdentity per process.
   */
  async account(target: AwsTarget): Promise<AwsAccount | undefined> {
    if (target.roleArn !== undefined) return accountOfArn(target.roleArn);
    return this.#identity.account(target.region);
  }

  /** Clients held, for tests and the memory benchmark. */
  get clientCount(): number {
    return this.#clients.size;
  }

  get bucketCount(): number {
    return this.#limiter.size;
  }

  async #call<T>(
    operation: string,
    target: AwsTarget,
    send: () => Promise<T>,
    signal?: AbortSignal,
    priority: Priority = "foreground",
  ): Promise<T> {
    const bucket = rateLimitKey(target.region, target.roleArn);
    // Whether this call is between a failed attempt and its retry.
    const retry = { pending: false };
    const observed = async () => {
      if (retry.pending) {
        retry.pending = false;
        this.#backingOff--;
        if (this.#interruptRetries()) signal?.throwIfAborted();
      }
      if (this.#options.mayCall && !this.#options.mayCall()) {
        throw new Error(`${operation} refused: this process may no longer call AWS`);
      }
      // Every attempt, retries included, takes a token of its account and region.
      const waited = await this.#limiter.take(bucket, signal, priority);
      if (waited > 0) this.#observer?.rateLimited?.(bucket, waited / 1000);
      const started = performance.now();
      try {
        const result = await send();
        this.#observer?.request(operation, "success", (performance.now() - started) / 1000);
        return result;
      } catch (error) {
        const outcome = classifyAwsError(error).name;
        if (target.roleArn && STALE_CREDENTIAL_ERRORS.has(outcome)) {
          // The SDK client memoizes what the provider returned, so it goes too
          // (without destroy(): it shares its region's HTTP handler).
          this.#credentials.invalidate(target.roleArn, this.#sessionName(target));
          this.#clients.delete(this.#clientKey(target));
        }
        this.#observer?.request(operation, outcome, (performance.now() - started) / 1000);
        throw error;
      }
    };
    try {
      return await withRetries(operation, observed, this.#retry, signal, {
        mayRetry: () => !this.#interruptRetries(),
        onRetry: (op, name) => {
          retry.pending = true;
          this.#backingOff++;
          this.#observer?.retry(op, name);
        },
      });
    } finally {
      if (retry.pending) this.#backingOff--;
    }
  }

  /** True, after asking for the interruption, once draining has begun. */
  #interruptRetries(): boolean {
    if (!this.#drain) return false;
    this.#drain();
    return true;
  }

  /**
   * Shutdown: attempts under way may finish, but no call retries any more.
   * A call that would retry, or is waiting to, calls `interrupt` instead, which
   * should abort the signal the calls were given (the controller's stop(true)),
   * so that they end as interrupted rather than failed.
   */
  drain(interrupt: () => void): void {
    this.#drain = interrupt;
    if (this.#backingOff > 0) interrupt();
  }

  async putPolicy(input: PutPolicyInput, signal?: AbortSignal): Promise<void> {
    this.#checkRole(input);
    const command = new PutDestinationPolicyCommand({
      destinationName: input.destinationName,
      accessPolicy: input.accessPolicy,
      forceUpdate: input.forceUpdate,
    });
    await this.#call(
      "PutDestinationPolicy",
      input,
      () => this.#client(input).send(command, { abortSignal: signal }),
      signal,
    );
  }

  /**
   * DescribeDestinations filters by prefix only, so the exact name is picked out
   * of the page; other destinations sharing the prefix are not ours.
   */
  async describe(
    target: AwsTarget,
    destinationName: string,
    signal?: AbortSignal,
  ): Promise<LiveDestination | undefined> {
    this.#checkRole(target);
    let nextToken: string | undefined;
    do {
      const command = new DescribeDestinationsCommand({
        DestinationNamePrefix: destinationName,
        limit: 50,
        ...(nextToken ? { nextToken } : {}),
      });
      const page = await this.#call(
        "DescribeDestinations",
        target,
        () => this.#client(target).send(command, { abortSignal: signal }),
        signal,
      );
      const match = page.destinations?.find((d) => d.destinationName === destinationName);
      if (match) return liveDestination(destinationName, match);
      nextToken = page.nextToken;
    } while (nextToken);
    return undefined;
  }

  async list(
    target: AwsTarget,
    prefix: string,
    onPage: (destinations: LiveDestination[]) => void,
    signal?: AbortSignal,
  ): Promise<number> {
    this.#checkRole(target);
    let nextToken: string | undefined;
    const seen = new Set<string>();
    let pages = 0;
    do {
      const command = new DescribeDestinationsCommand({
        ...(prefix ? { DestinationNamePrefix: prefix } : {}),
        limit: PAGE_SIZE,
        ...(nextToken ? { nextToken } : {}),
      });
      const page = await this.#call(
        "DescribeDestinations",
        target,
        () => this.#client(target).send(command, { abortSignal: signal }),
        signal,
        "background",
      );
      pages++;
      onPage(
        (page.destinations ?? []).flatMap((d) =>
          d.destinationName ? [liveDestination(d.destinationName, d)] : [],
        ),
      );
      nextToken = page.nextToken;
      if (nextToken !== undefined && seen.has(nextToken)) break;
      if (nextToken !== undefined) seen.add(nextToken);
    } while (nextToken && pages < MAX_PAGES);
    return pages;
  }

  destroy(): void {
    for (const { client } of this.#clients.values()) client.destroy();
    this.#clients.clear();
    this.#credentials.destroy();
  }
}

function liveDestination(
  destinationName: string,
  d: { arn?: string | undefined; accessPolicy?: string | undefined },
): LiveDestination {
  return {
    destinationName,
    ...(d.arn ? { arn: d.arn } : {}),
    ...(d.accessPolicy ? { accessPolicy: d.accessPolicy } : {}),
  };
}
