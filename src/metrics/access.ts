// Who may read /metrics when it is secured: the bearer token of every scrape
// is authenticated with a TokenReview and the user it names is authorized with
// a SubjectAccessReview on the non-resource URL, as kube-rbac-proxy and
// controller-runtime's WithAuthenticationAndAuthorization do. Anyone who can
// reach the port can make the controller call the API server, so that work is
// bounded: answers are cached by a hash of the token for a short while, one
// token is reviewed once however many scrapes carry it, and only a few reviews
// run at once.
import { createHash } from "node:crypto";
import type { Clock } from "../util/clock.ts";
import { TtlCache } from "../util/ttl-cache.ts";

export interface UserInfo {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** The API server's answers; src/kube/access-review.ts asks it. */
export interface AccessReviewer {
  /** TokenReview: the token's user, or undefined when the API server does not authenticate it. */
  authenticate(token: string, signal: AbortSignal): Promise<UserInfo | undefined>;
  /** SubjectAccessReview of a non-resource URL. */
  authorize(
    user: UserInfo,
    request: { path: string; verb: string },
    signal: AbortSignal,
  ): Promise<boolean>;
}

export interface Verdict {
  status: 200 | 401 | 403 | 429 | 503;
  /** Said to the client; names nothing the client did not send. */
  reason: string;
}

export interface AccessOptions {
  /** How long an allowed token stays allowed without another review. */
  allowedTtlMs: number;
  /** How long a refused token stays refused; short, so a new binding takes effect soon. */
  deniedTtlMs: number;
  /** Tokens remembered at most; the least recently used is forgotten first. */
  maxEntries: number;
  /** Tokens under review at once; a scrape beyond that is answered 429. */
  maxInFlight: number;
  /** Both reviews of one token together. */
  reviewTimeoutMs: number;
  /** A longer Authorization header is refused without a review. */
  maxTokenBytes: number;
}

// kube-rbac-proxy caches allowed answers for minutes; a minute keeps a
// 15-second scrape at one review pair per minute and a revoked binding
// effective within one.
export const DEFAULT_ACCESS_OPTIONS: AccessOptions = {
  allowedTtlMs: 60_000,
  deniedTtlMs: 10_000,
  maxEntries: 1024,
  maxInFlight: 8,
  reviewTimeoutMs: 10_000,
  maxTokenBytes: 8192,
};

const VERB = "get";

export class MetricsAccess {
  readonly #reviewer: AccessReviewer;
  readonly #clock: Pick<Clock, "now">;
  readonly #options: AccessOptions;
  readonly #cache: TtlCache<string, Verdict>;
  readonly #inFlight = new Map<string, Promise<Verdict>>();
  readonly #onError: (err: unknown) => void;

  constructor(
    reviewer: AccessReviewer,
    clock: Pick<Clock, "now">,
    options: Partial<AccessOptions> = {},
    onError: (err: unknown) => void = () => undefined,
  ) {
    this.#reviewer = reviewer;
    this.#clock = clock;
    this.#options = { ...DEFAULT_ACCESS_OPTIONS, ...options };
    this.#cache = new TtlCache(this.#options.maxEntries);
    this.#onError = onError;
  }

  /** The answer for a request to `path` that carried this Authorization header. */
  async check(authorization: string | undefined, path: string): Promise<Verdict> {
    const token = bearerToken(authorization, this.#options.maxTokenBytes);
    if (token === undefined) return { status: 401, reason: "a bearer token is required" };
    const key = createHash("sha256").update(`${path}\0${token}`).digest("base64url");
    const cached = this.#cache.get(key, this.#clock.now());
    if (cached) return cached;
    const pending = this.#inFlight.get(key);
    if (pending) return pending;
    if (this.#inFlight.size >= this.#options.maxInFlight) {
      return { status: 429, reason: "too many scrapes under review; retry later" };
    }
    const review = this.#review(token, path).finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, review);
    const verdict = await review;
    if (verdict.status === 200 || verdict.status === 401 || verdict.status === 403) {
      const ttl = verdict.status === 200 ? this.#options.allowedTtlMs : this.#options.deniedTtlMs;
      this.#cache.set(key, verdict, this.#clock.now() + ttl);
    }
    return verdict;
  }

  async #review(token: string, path: string): Promise<Verdict> {
    const signal = AbortSignal.timeout(this.#options.reviewTimeoutMs);
    try {
      const user = await this.#reviewer.authenticate(token, signal);
      if (!user) return { status: 401, reason: "the token is not valid" };
      const allowed = await this.#reviewer.authorize(user, { path, verb: VERB }, signal);
      return allowed
        ? { status: 200, reason: "allowed" }
        : { status: 403, reason: `${user.username} may not ${VERB} ${path}` };
    } catch (err) {
      this.#onError(err);
      return { status: 503, reason: "the token could not be reviewed; retry later" };
    }
  }
}

/** The token of an `Authorization: Bearer <token>` header; undefined for anything else. */
export function bearerToken(header: string | undefined, maxBytes: number): string | undefined {
  if (header === undefined || header.length > maxBytes + 7) return undefined;
  const match = /^bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  return match?.[1];
}
