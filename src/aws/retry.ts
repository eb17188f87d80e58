// One retry policy for every AWS call. The SDK's own retries are switched off
// (maxAttempts 1 in client.ts) so that attempts never multiply: this loop is the
// only place that decides to try again.
import pRetry from "p-retry";
import { AwsCallError, classifyAwsError, isThrottling } from "./errors.ts";
import { sleep } from "../util/sleep.ts";

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  minDelayMs: number;
  maxDelayMs: number;
  /** Wall-clock budget for all attempts together. */
  maxElapsedMs: number;
  /**
   * The least delay before retrying a throttled call (randomized up to twice
   * this): a throttled account needs the pressure off, not another quick try.
   */
  throttleMinDelayMs?: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  minDelayMs: 200,
  maxDelayMs: 5_000,
  maxElapsedMs: 30_000,
  throttleMinDelayMs: 1_000,
};

export interface RetryHooks {
  /** Called before each retry, with the AWS error name that caused it. */
  onRetry?: (operation: string, errorName: string) => void;
  /** Consulted before each retry; false ends the call with the last error. */
  mayRetry?: () => boolean;
}

export async function withRetries<T>(
  operation: string,
  call: () => Promise<T>,
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  hooks: RetryHooks = {},
): Promise<T> {
  let attempts = 0;
  try {
    return await pRetry(
      async () => {
        attempts++;
        return call();
      },
      {
        retries: Math.max(0, policy.maxAttempts - 1),
        factor: 2,
        minTimeout: policy.minDelayMs,
        maxTimeout: policy.maxDelayMs,
        randomize: true,
        maxRetryTime: policy.maxElapsedMs,
        ...(signal ? { signal } : {}),
        shouldRetry: async ({ error, retryDelay }) => {
          const classified = classifyAwsError(error);
          if (classified.kind !== "transient") return false;
          if (hooks.mayRetry && !hooks.mayRetry()) return false;
          hooks.onRetry?.(operation, classified.name);
          // p-retry's own delay follows this; together they reach the throttle delay.
          const throttleMs = policy.throttleMinDelayMs ?? 0;
          if (isThrottling(classified) && throttleMs > 0) {
            const target = throttleMs * (1 + Math.random());
            if (target > retryDelay) await sleep(target - retryDelay, signal);
          }
          return true;
        },
      },
    );
  } catch (error) {
    if (signal?.aborted) throw error;
    throw new AwsCallError(operation, classifyAwsError(error), attempts, { cause: error });
  }
}
