// Waiting that a stop can cut short. Node's own timer does the work; these only
// settle how an abort ends the wait.
import { setTimeout as delay } from "node:timers/promises";

/**
 * Waits `ms`; an abort rejects with the signal's own reason rather than Node's
 * AbortError around it, so the caller's error handling sees why it stopped.
 */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch (err) {
    throw signal?.aborted ? (signal.reason as Error) : err;
  }
}

/**
 * Waits `ms` or until `signal` aborts, whichever comes first; never rejects.
 * `ref: false` lets the process exit meanwhile, for a wait that only bounds another.
 */
export async function pause(
  ms: number,
  options: { signal?: AbortSignal; ref?: boolean } = {},
): Promise<void> {
  await delay(ms, undefined, options).catch(() => undefined);
}
