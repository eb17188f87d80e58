// Cross-account access: which roles the controller may assume, the session
// name that ties AWS's audit trail to a LogDestinationPolicy, and assumed-role
// credentials cached per role and session until shortly before they expire.
import { createHash } from "node:crypto";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { ArnPattern } from "./arn-pattern.ts";

/** What the AWS SDK takes as credentials. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}
type ExpiringCredentials = AwsCredentials & { expiration: Date };

/**
 * A spec.roleArn that no entry of --allowed-role-arns matches. Raised before
 * any AWS call, so a refused role costs nothing and leaks nothing.
 */
export class RoleNotAllowedError extends Error {
  readonly roleArn: string;

  constructor(roleArn: string, allowList: RoleAllowList) {
    super(
      allowList.size === 0
        ? `role ${roleArn} may not be assumed: no role is allowed until --allowed-role-arns lists it`
        : `role ${roleArn} may not be assumed: it matches no entry of --allowed-role-arns`,
    );
    this.name = "RoleNotAllowedError";
    this.roleArn = roleArn;
  }
}

/**
 * Exact ARNs or patterns where `*` stands for any run of characters within
 * one segment: it never crosses a `:` or a `/` (see ArnPattern), so
 * `arn:aws:iam::*:role/ldp-*` allows roles named ldp-… in every account, and
 * neither other fields nor roles under a path. The list comes only from the
 * controller's flags; nothing in a namespace or an object can add to it.
 */
export class RoleAllowList {
  readonly #patterns: readonly ArnPattern[];
  readonly entries: readonly string[];

  private constructor(entries: readonly string[]) {
    this.entries = entries;
    this.#patterns = entries.map((entry) => new ArnPattern(entry));
  }

  /** Throws a TypeError naming the first entry that is not a role ARN or pattern. */
  static parse(entries: readonly string[]): RoleAllowList {
    for (const entry of entries) {
      const problem = allowListEntryProblem(entry);
      if (problem) throw new TypeError(`"${entry}" ${problem}`);
    }
    return new RoleAllowList(entries);
  }

  get size(): number {
    return this.entries.length;
  }

  allows(roleArn: string): boolean {
    return this.#patterns.some((p) => p.matches(roleArn));
  }
}

function allowListEntryProblem(entry: string): string | undefined {
  const fields = entry.split(":");
  if (fields.length !== 6 || fields[0] !== "arn" || fields[2] !== "iam" || fields[3] !== "") {
    return "is not an IAM role ARN or pattern such as arn:aws:iam::123456789012:role/name";
  }
  const [, partition = "", , , account = "", resource = ""] = fields;
  if (!/^aws[a-z-]*$/.test(partition)) return `has an unknown partition "${partition}"`;
  if (!/^(\d{12}|\*)$/.test(account)) return "needs a 12-digit account or * in the account field";
  if (!resource.startsWith("role/") || resource === "role/") {
    return 'needs "role/" and a name or pattern in the resource field';
  }
  return undefined;
}

const SESSION_MAX = 64;

/**
 * `ldp-<namespace>@<name>`, as STS allows it ([\w+=,.@-], at most 64
 * characters). Neither a namespace nor an object name can hold an `@`, so two
 * objects never share a session name (`team-a`/`x` and `team`/`a-x` differ).
 * A longer one keeps its start and ends in a hash of the whole, so two objects
 * never share a session name by truncation either.
 */
export function roleSessionName(namespace: string, name: string): string {
  return boundedSessionName(`ldp-${namespace}@${name}`, `${namespace}/${name}`);
}

/**
 * `ldp-<namespace>+drift-sweep`: the session of a drift sweep, which reads the
 * destinations of one namespace's objects. No object name holds a `+`, so it
 * is never an object's session name.
 */
export function sweepSessionName(namespace: string): string {
  return boundedSessionName(`ldp-${namespace}+drift-sweep`, `${namespace}+`);
}

function boundedSessionName(wanted: string, identity: string): string {
  const full = wanted.replace(/[^\w+=,.@-]/g, "-");
  if (full.length <= SESSION_MAX) return full;
  const hash = createHash("sha256").update(identity).digest("hex").slice(0, 16);
  return `${full.slice(0, SESSION_MAX - hash.length - 1)}-${hash}`;
}

/**
 * Session tags naming the object, so a target account's trust policy can tie
 * a role to a namespace (`aws:RequestTag/ldpc-namespace`). STS allows tag
 * values of up to 256 characters; an object name has at most 253.
 */
export const SESSION_TAG_NAMESPACE = "ldpc-namespace";
export const SESSION_TAG_NAME = "ldpc-name";

export function roleSessionTags(namespace: string, name: string): Record<string, string> {
  return { [SESSION_TAG_NAMESPACE]: namespace, [SESSION_TAG_NAME]: name };
}

/** A sweep acts for one namespace's objects, not for one object: it carries no name tag. */
export function sweepSessionTags(namespace: string): Record<string, string> {
  return { [SESSION_TAG_NAMESPACE]: namespace };
}

/** The session name used when a caller names none. */
export const DEFAULT_SESSION_NAME = "log-destination-policy-controller";

export interface AssumedRoleOptions {
  /** Refresh credentials this long before they expire; default 5 min. */
  refreshMarginMs?: number;
  /** Session length asked of STS; default 1 h, the most a chained role may get. */
  durationSeconds?: number;
  /** Called for every AssumeRole call STS answered or failed. */
  onAssume?: (roleArn: string, outcome: string, seconds: number) => void;
  /** For tests: the STS client of a region. */
  stsClient?: (region: string) => Pick<STSClient, "send">;
  now?: () => number;
}

interface CachedCredentials {
  identity?: ExpiringCredentials;
  pending?: Promise<ExpiringCredentials>;
  lastUsed: number;
}

/**
 * Credentials for (role, session), from STS AssumeRole with the controller's
 * own credentials. Concurrent callers share one AssumeRole call; the result is
 * reused until `refreshMarginMs` before it expires.
 */
export class AssumedRoleCredentials {
  readonly #cache = new Map<string, CachedCredentials>();
  readonly #sts = new Map<string, Pick<STSClient, "send">>();
  readonly #refreshMarginMs: number;
  readonly #durationSeconds: number;
  readonly #options: AssumedRoleOptions;
  readonly #now: () => number;

  constructor(options: AssumedRoleOptions = {}) {
    this.#options = options;
    this.#refreshMarginMs = options.refreshMarginMs ?? 5 * 60_000;
    this.#durationSeconds = options.durationSeconds ?? 3600;
    this.#now = options.now ?? Date.now;
  }

  /** A credentials provider as the AWS SDK takes it. */
  provider(
    roleArn: string,
    sessionName: string,
    region: string,
    tags?: Record<string, string>,
  ): () => Promise<AwsCredentials> {
    return () => this.get(roleArn, sessionName, region, tags);
  }

  async get(
    roleArn: string,
    sessionName: string,
    region: string,
    tags?: Record<string, string>,
  ): Promise<AwsCredentials> {
    const key = `${roleArn}\u0000${sessionName}`;
    let entry = this.#cache.get(key);
    if (!entry) {
      entry = { lastUsed: this.#now() };
      this.#cache.set(key, entry);
    }
    entry.lastUsed = this.#now();
    const fresh = entry.identity;
    if (fresh && fresh.expiration.getTime() - this.#refreshMarginMs > this.#now()) return fresh;
    if (entry.pending) return entry.pending;
    const current = entry;
    const pending = this.#assume(roleArn, sessionName, region, tags).then(
      (identity) => {
        current.identity = identity;
        current.pending = undefined;
        return identity;
      },
      (error: unknown) => {
        current.pending = undefined;
        throw error;
      },
    );
    current.pending = pending;
    return pending;
  }

  /**
   * Forgets the credentials of a session that AWS no longer honours (expired,
   * revoked, or the role's permissions changed), so the next call assumes the
   * role again instead of failing until the cached expiry.
   */
  invalidate(roleArn: string, sessionName: string): void {
    const entry = this.#cache.get(`${roleArn}\u0000${sessionName}`);
    if (entry && !entry.pending) entry.identity = undefined;
  }

  /** Forgets credentials not used for `idleMs`; their sessions simply expire at STS. */
  sweep(idleMs: number): void {
    const cutoff = this.#now() - idleMs;
    for (const [key, entry] of this.#cache) {
      if (entry.lastUsed < cutoff && !entry.pending) this.#cache.delete(key);
    }
  }

  get size(): number {
    return this.#cache.size;
  }

  async #assume(
    roleArn: string,
    sessionName: string,
    region: string,
    tags: Record<string, string> | undefined,
  ): Promise<ExpiringCredentials> {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      const out = await this.#stsFor(region).send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: sessionName,
          DurationSeconds: this.#durationSeconds,
          ...(tags ? { Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) } : {}),
        }),
      );
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.Expiration) {
        throw new Error(`AssumeRole ${roleArn} returned no credentials`);
      }
      this.#options.onAssume?.(roleArn, "success", seconds());
      return {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
        expiration: c.Expiration,
      };
    } catch (error) {
      const name = error instanceof Error ? error.name : "UnknownError";
      this.#options.onAssume?.(roleArn, name, seconds());
      throw assumeRoleFailure(roleArn, error);
    }
  }

  #stsFor(region: string): Pick<STSClient, "send"> {
    let client = this.#sts.get(region);
    if (!client) {
      // The SDK's own retries cover STS: these calls sit outside the controller's
      // retry loop, inside the credential resolution of a CloudWatch Logs call.
      client = this.#options.stsClient?.(region) ?? new STSClient({ region });
      this.#sts.set(region, client);
    }
    return client;
  }

  destroy(): void {
    for (const client of this.#sts.values()) {
      if (client instanceof STSClient) client.destroy();
    }
    this.#sts.clear();
    this.#cache.clear();
  }
}

/** A failed AssumeRole, told apart from a failure of the call that needed the role. */
export class AssumeRoleError extends Error {
  readonly roleArn: string;

  constructor(roleArn: string, message: string, options?: ErrorOptions) {
    super(`AssumeRole ${roleArn}: ${message}`, options);
    this.roleArn = roleArn;
  }
}

/**
 * Keeps the AWS error's name and metadata, so it is classified like any other
 * AWS error, and says which role failed.
 */
function assumeRoleFailure(roleArn: string, error: unknown): Error {
  if (!(error instanceof Error)) return new AssumeRoleError(roleArn, String(error));
  const wrapped = new AssumeRoleError(roleArn, error.message, { cause: error });
  wrapped.name = error.name;
  const metadata = (error as { $metadata?: unknown }).$metadata;
  if (metadata !== undefined) Object.assign(wrapped, { $metadata: metadata });
  return wrapped;
}
