// One timed single-object change, as the size phase and the steady-state phase
// both make them: spread over the objects, spaced so that the queue is idle for
// each, and timed to the PutDestinationPolicy it causes and to Ready.
import { setTimeout as sleep } from "node:timers/promises";
import { specFor } from "./fixtures.ts";
import { MERGE_PATCH, policyPath, type KubeHttp, type PolicyObject } from "./kube.ts";
import type { LogsEndpoint } from "./logs-endpoint.ts";
import type { ReadyWatch } from "./ready-watch.ts";
import { percentile } from "./report.ts";

export interface Latency {
  p50: number;
  p99: number;
  max: number;
}

/** Milliseconds summed up; every figure is NaN for no samples. */
export const latency = (xs: readonly number[]): Latency => ({
  p50: percentile(xs, 50),
  p99: percentile(xs, 99),
  max: xs.length > 0 ? Math.max(...xs) : NaN,
});

export interface ChangeTarget {
  readonly kube: KubeHttp;
  readonly endpoint: LogsEndpoint;
}

export interface TimedChange {
  writtenAt: number;
  putAt: number;
  readyAt: number;
}

/**
 * Change `k` of `total` on `n` objects: grants `account` on one object and waits
 * (up to `readyTimeoutMs`) for Ready of the new generation and its put.
 */
export async function timedChange(
  target: ChangeTarget,
  watch: ReadyWatch,
  where: { namespace: string; destinations: readonly string[]; n: number },
  change: { k: number; total: number; account: string; readyTimeoutMs: number },
): Promise<TimedChange> {
  const { k, total } = change;
  const i = Math.floor(((k + 0.5) * where.n) / total);
  const name = `p${i}`;
  const destination = where.destinations[i] ?? "";
  await sleep(100 + Math.random() * 100);
  const putIndex = target.endpoint.puts().length;
  const writtenAt = Date.now();
  const { body } = await target.kube.request<PolicyObject>(
    "PATCH",
    policyPath(where.namespace, name),
    { spec: specFor(destination, change.account) },
    MERGE_PATCH,
  );
  const readyAt = await watch.waitFor(name, body.metadata.generation ?? 0, change.readyTimeoutMs);
  const put = target.endpoint
    .puts()
    .slice(putIndex)
    .find((p) => p.destinationName === undefined || p.destinationName === destination);
  if (!put) throw new Error(`no PutDestinationPolicy for ${destination} after change ${k}`);
  return { writtenAt, putAt: put.at, readyAt };
}
