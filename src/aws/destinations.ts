// The CloudWatch Logs calls the controller makes: put a destination's policy,
// read one destination, list them for a drift sweep. Everything above it sees
// plain inputs, plain results, AwsCallError and RoleNotAllowedError; how a call
// runs is calls.ts, which SDK client it goes through is logs-clients.ts.
import {
  DescribeDestinationsCommand,
  PutDestinationPolicyCommand,
  type DescribeDestinationsCommandOutput,
} from "@aws-sdk/client-cloudwatch-logs";
import { accountOfArn, type AwsAccount } from "../util/arn.ts";
import { AssumedRoleCredentials } from "./assumed-role.ts";
import { AwsCalls } from "./calls.ts";
import { CallerIdentity } from "./identity.ts";
import { LogsClients } from "./logs-clients.ts";
import { AwsRateLimiter, type Priority } from "./rate-limit.ts";
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from "./retry.ts";
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
const PAGE_SIZE = 50;
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
  /**
   * SDK clients kept at most (default 64, see logs-clients.ts); each is evicted
   * together with its credentials, and its region's STS client and rate bucket
   * once no other kept client uses them.
   */
  maxClients?: number;
}

export class DestinationPolicyClient implements DestinationSweepApi {
  readonly #allowed: RoleAllowList;
  readonly #identity: CallerIdentity;
  readonly #limiter: AwsRateLimiter;
  readonly #clients: LogsClients;
  readonly #calls: AwsCalls;

  constructor(options: DestinationClientOptions = {}) {
    const observer = options.observer;
    this.#allowed = options.allowedRoles ?? RoleAllowList.parse([]);
    this.#identity = options.identity ?? new CallerIdentity();
    const limiter = new AwsRateLimiter(options.rateLimit ?? { ratePerSecond: 0, burst: 1 });
    this.#limiter = limiter;
    this.#clients = new LogsClients({
      connectionTimeoutMs: options.connectionTimeoutMs,
      requestTimeoutMs: options.requestTimeoutMs,
      sessionTags: options.sessionTags,
      credentials:
        options.credentials ??
        new AssumedRoleCredentials({
          onAssume: (_role, outcome, seconds) => {
            observer?.assumeRole?.(outcome, seconds);
          },
        }),
      maxClients: options.maxClients,
      dropBucket: (key) => {
        limiter.drop(key);
      },
    });
    this.#calls = new AwsCalls({
      retry: options.retry ?? DEFAULT_RETRY_POLICY,
      observer,
      limiter,
      clients: this.#clients,
      mayCall: options.mayCall,
    });
  }

  /** Refuses a role outside the allow-list before anything is sent. */
  #checkRole(target: AwsTarget): void {
    if (target.roleArn !== undefined && !this.#allowed.allows(target.roleArn)) {
      throw new RoleNotAllowedError(target.roleArn, this.#allowed);
    }
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

  /**
   * Shutdown: attempts under way may finish, but no call retries any more.
   * A call that would retry, or is waiting to, calls `interrupt` instead, which
   * should abort the signal the calls were given (the controller's stop(true)),
   * so that they end as interrupted rather than failed.
   */
  drain(interrupt: () => void): void {
    this.#calls.drain(interrupt);
  }

  async putPolicy(input: PutPolicyInput, signal?: AbortSignal): Promise<void> {
    this.#checkRole(input);
    const command = new PutDestinationPolicyCommand({
      destinationName: input.destinationName,
      accessPolicy: input.accessPolicy,
      forceUpdate: input.forceUpdate,
    });
    await this.#calls.call(
      "PutDestinationPolicy",
      input,
      (client) => client.send(command, { abortSignal: signal }),
      signal,
    );
  }

  /** One page of DescribeDestinations; an empty prefix lists every destination. */
  #describePage(
    target: AwsTarget,
    prefix: string,
    nextToken: string | undefined,
    signal: AbortSignal | undefined,
    priority?: Priority,
  ): Promise<DescribeDestinationsCommandOutput> {
    const command = new DescribeDestinationsCommand({
      ...(prefix ? { DestinationNamePrefix: prefix } : {}),
      limit: PAGE_SIZE,
      ...(nextToken ? { nextToken } : {}),
    });
    return this.#calls.call(
      "DescribeDestinations",
      target,
      (client) => client.send(command, { abortSignal: signal }),
      signal,
      priority,
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
      const page = await this.#describePage(target, destinationName, nextToken, signal);
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
      const page = await this.#describePage(target, prefix, nextToken, signal, "background");
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
    this.#clients.destroy();
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
