// Assumed-role credentials, cached per role and session until shortly before
// they expire, and the error that tells a failed AssumeRole apart.
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";

/** What the AWS SDK takes as credentials. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}
type ExpiringCredentials = AwsCredentials & { expiration: Date };

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
}

/**
 * Credentials for (role, session), from STS AssumeRole with the controller's
 * own credentials. Concurrent callers share one AssumeRole call; the result is
 * reused until `refreshMarginMs` before it expires. What is kept is dropped by
 * the owner of the clients that use it (logs-clients.ts), which bounds it.
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
      entry = {};
      this.#cache.set(key, entry);
    }
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

  /** Forgets a session no client uses any more; it simply expires at STS. */
  forget(roleArn: string, sessionName: string): void {
    this.#cache.delete(`${roleArn}\u0000${sessionName}`);
  }

  /** Closes the STS client of a region no client uses any more. */
  dropRegion(region: string): void {
    const client = this.#sts.get(region);
    this.#sts.delete(region);
    if (client instanceof STSClient) client.destroy();
  }

  /** Sessions whose credentials are kept. */
  get size(): number {
    return this.#cache.size;
  }

  /** Regions whose STS client is kept. */
  get stsClients(): number {
    return this.#sts.size;
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
