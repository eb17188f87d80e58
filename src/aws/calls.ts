// How one AWS call runs: a token of its account and region's rate limit for
// every attempt, the observer told of each outcome, stale assumed-role
// credentials dropped, the one retry loop, and no retry once shutdown drains.
import type { CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import type { AwsObserver, AwsTarget } from "./destinations.ts";
import { classifyAwsError } from "./errors.ts";
import type { LogsClients } from "./logs-clients.ts";
import { AwsRateLimiter, rateLimitKey, type Priority } from "./rate-limit.ts";
import { withRetries, type RetryPolicy } from "./retry.ts";

/** Errors after which cached assumed-role credentials are not worth reusing. */
const STALE_CREDENTIAL_ERRORS = new Set([
  "ExpiredToken",
  "ExpiredTokenException",
  "InvalidClientTokenId",
  "UnrecognizedClientException",
  "AccessDenied",
  "AccessDeniedException",
]);

export interface AwsCallOptions {
  retry: RetryPolicy;
  observer: AwsObserver | undefined;
  limiter: AwsRateLimiter;
  clients: LogsClients;
  /** Checked before every attempt; false refuses it (a leader that lost its lease). */
  mayCall: (() => boolean) | undefined;
}

export class AwsCalls {
  readonly #options: AwsCallOptions;
  /** Calls waiting to retry. */
  #backingOff = 0;
  #drain: (() => void) | undefined;

  constructor(options: AwsCallOptions) {
    this.#options = options;
  }

  async call<T>(
    operation: string,
    target: AwsTarget,
    send: (client: CloudWatchLogsClient) => Promise<T>,
    signal?: AbortSignal,
    priority: Priority = "foreground",
  ): Promise<T> {
    const { observer, limiter, mayCall } = this.#options;
    const bucket = rateLimitKey(target.region, target.roleArn);
    // Whether this call is between a failed attempt and its retry.
    const retry = { pending: false };
    const observed = async () => {
      if (retry.pending) {
        retry.pending = false;
        this.#backingOff--;
        if (this.#interruptRetries()) signal?.throwIfAborted();
      }
      if (mayCall && !mayCall()) {
        throw new Error(`${operation} refused: this process may no longer call AWS`);
      }
      // Held before the token, so that the bucket is never evicted while the attempt waits on it.
      const lease = this.#options.clients.acquire(target);
      try {
        // Every attempt, retries included, takes a token of its account and region.
        const waited = await limiter.take(bucket, signal, priority);
        if (waited > 0) observer?.rateLimited?.(bucket, waited / 1000);
        const started = performance.now();
        try {
          const result = await send(lease.client);
          observer?.request(operation, "success", (performance.now() - started) / 1000);
          return result;
        } catch (error) {
          const classified = classifyAwsError(error);
          if (target.roleArn && STALE_CREDENTIAL_ERRORS.has(classified.name)) {
            this.#options.clients.forgetCredentials({ ...target, roleArn: target.roleArn });
          }
          // A region no endpoint answers for keeps nothing: not retried, and its client goes now.
          if (classified.kind === "unreachable") this.#options.clients.drop(target);
          observer?.request(operation, classified.name, (performance.now() - started) / 1000);
          throw error;
        }
      } finally {
        lease.release();
      }
    };
    try {
      return await withRetries(operation, observed, this.#options.retry, signal, {
        mayRetry: () => !this.#interruptRetries(),
        onRetry: (op, name) => {
          retry.pending = true;
          this.#backingOff++;
          observer?.retry(op, name);
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

  /** See DestinationPolicyClient.drain. */
  drain(interrupt: () => void): void {
    this.#drain = interrupt;
    if (this.#backingOff > 0) interrupt();
  }
}
