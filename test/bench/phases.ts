// Two phases beyond convergence:
//   - steady state: the controller as shipped (default AWS rate limit and drift
//     interval) on N objects that are all applied. One quiet drift sweep
//     (AWS reads and API-server writes with nothing changed), then single-object
//     changes made while a sweep is under way (change → PutDestinationPolicy);
//   - the same convergence and restart measured for a minimal kopf + boto3
//     operator (kopf.ts), on the same control plane and endpoint.
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { ControlPlane } from "../../env/controlplane.ts";
import type { ControllerProcess, Footprint } from "./controller.ts";
import { KopfProcess } from "./kopf.ts";
import { diffCounts, type KubeHttp, type RequestCounts } from "./kube.ts";
import type { LogsEndpoint } from "./logs-endpoint.ts";
import { log, REGION, seconds } from "./fixtures.ts";
import { ReadyWatch } from "./ready-watch.ts";
import { countWrites } from "./report.ts";
import { latency as latencyOf, timedChange, type Latency } from "./changes.ts";

/** What the phases need of the benchmark. */
export interface BenchRunner {
  readonly cp: ControlPlane;
  readonly kube: KubeHttp;
  readonly endpoint: LogsEndpoint;
  readonly flags: ReadonlySet<string>;
  readonly options: { reconciles: number; changes: number; logDir: string };
  startController(namespace: string, args: string[]): Promise<ControllerProcess>;
  counts(): Promise<RequestCounts>;
  /** Counts once writes have stopped for 500 ms, or after `rounds` × 500 ms. */
  settledCounts(rounds?: number): Promise<RequestCounts>;
  prepare(namespace: string, n: number): Promise<string[]>;
}

const SWEEPS = "log_destination_policy_drift_sweeps_total";
/** A change counts as made during a sweep when a sweep page was read this close to it. */
const DURING_SWEEP_MS = 1_000;

export interface SteadyResult {
  n: number;
  /** The drift interval, as passed (undefined: the default). */
  interval: string | undefined;
  quietReads: number;
  quietWrites: number;
  quietPuts: number;
  sweepSeconds: number;
  /** Writes of the first sweep after the objects were applied: their ARNs, once. */
  firstSweepWrites: number;
  changes: number;
  changesDuringSweep: number;
  changeToPut: Latency;
  changeToPutDuringSweep: Latency;
  footprint: Footprint;
}

export async function steadyState(
  bench: BenchRunner,
  namespace: string,
  destinations: readonly string[],
  interval: string | undefined,
): Promise<SteadyResult> {
  const n = destinations.length;
  // As shipped: no --aws-rate-limit, so the default per-account limit applies.
  const args = ["--max-concurrent-reconciles", String(bench.options.reconciles)];
  // Drift sweeps are measured here, not bindings: the changes grant accounts no binding lists.
  if (bench.flags.has("--require-binding")) args.push("--require-binding=false");
  if (interval !== undefined) {
    args.push("--drift-detection-interval", interval);
    // A floor on per-object reads, where the controller has one, must not raise the interval.
    if (bench.flags.has("--min-drift-detection-interval"))
      args.push("--min-drift-detection-interval", interval);
  }
  const label = `N=${n}, drift interval ${interval ?? "default"}, default AWS rate limit`;

  // A put says nothing of a destination's ARN: the first sweep after a create
  // reads it, and status records it once per object. That is not "at rest".
  log(`${label}: a first sweep, which records destination ARNs once`);
  const backfillBefore = await bench.counts();
  const first = await bench.startController(namespace, args);
  let firstSweepWrites: number;
  try {
    await first.waitForMetric(SWEEPS, 1, 20 * 60_000);
    // The objects it handed back are reconciled after it: wait until their writes have landed.
    firstSweepWrites = countWrites(diffCounts(await bench.settledCounts(600), backfillBefore));
  } finally {
    await first.stop();
  }
  log(`  ${firstSweepWrites} API-server writes`);

  log(`${label}: one quiet sweep`);
  const before = await bench.counts();
  const readsBefore = bench.endpoint.describes().length;
  const putsBefore = bench.endpoint.puts().length;
  let controller = await bench.startController(namespace, args);
  let quiet: Pick<
    SteadyResult,
    "quietReads" | "quietWrites" | "quietPuts" | "sweepSeconds" | "firstSweepWrites"
  >;
  try {
    await controller.waitForMetric(SWEEPS, 1, 20 * 60_000);
    quiet = {
      firstSweepWrites,
      quietReads: bench.endpoint.describes().length - readsBefore,
      quietPuts: bench.endpoint.puts().length - putsBefore,
      quietWrites: countWrites(diffCounts(await bench.settledCounts(), before)),
      sweepSeconds:
        (await controller.metric(`log_destination_policy_drift_sweep_duration_seconds_sum`)) ?? NaN,
    };
  } finally {
    await controller.stop();
  }
  log(
    `  ${quiet.quietReads} DescribeDestinations, ${quiet.quietWrites} API-server writes, ${quiet.quietPuts} puts; sweep ${quiet.sweepSeconds.toFixed(1)} s`,
  );

  log(`${label}: ${bench.options.changes} changes while sweeps run`);
  const watch = await ReadyWatch.start(bench.kube, namespace);
  controller = await bench.startController(namespace, args);
  try {
    // A restart's first sweep begins soon after the objects are verified.
    const firstRead = bench.endpoint.describes().length;
    const deadline = Date.now() + 10 * 60_000;
    while (bench.endpoint.describes().length === firstRead) {
      if (Date.now() > deadline || controller.exited) throw new Error("no sweep began");
      await sleep(50);
    }
    const toPut: number[] = [];
    const during: number[] = [];
    for (let k = 0; k < bench.options.changes; k++) {
      const { writtenAt, putAt } = await timedChange(
        bench,
        watch,
        { namespace, destinations, n },
        {
          k,
          total: bench.options.changes,
          account: String(400_000_000_000 + k),
          readyTimeoutMs: 60_000,
        },
      );
      const latency = putAt - writtenAt;
      toPut.push(latency);
      const reads = bench.endpoint.describes();
      if (reads.some((at) => Math.abs(at - writtenAt) <= DURING_SWEEP_MS)) during.push(latency);
    }
    const result: SteadyResult = {
      n,
      interval,
      ...quiet,
      changes: toPut.length,
      changesDuringSweep: during.length,
      changeToPut: latencyOf(toPut),
      changeToPutDuringSweep: latencyOf(during),
      footprint: controller.footprint(),
    };
    log(
      `  change → put p50 ${result.changeToPut.p50} ms, p99 ${result.changeToPut.p99} ms; during a sweep (${during.length}) p99 ${result.changeToPutDuringSweep.p99} ms`,
    );
    return result;
  } finally {
    watch.stop();
    await controller.stop();
  }
}

export interface KopfResult {
  n: number;
  convergeSeconds: number;
  footprint: Footprint;
  convergeWrites: number;
  restartPuts: number;
  restartWindowSeconds: number;
}

const KOPF_RESTART_WINDOW_MS = 30_000;

/** Convergence and a restart of the kopf operator on N new objects of their own. */
export async function kopfComparison(bench: BenchRunner, n: number): Promise<KopfResult> {
  const namespace = `bench-kopf-${n}`;
  log(`N=${n}: kopf + boto3 operator, creating ${n} destinations and objects`);
  await bench.prepare(namespace, n);
  const options = {
    kubeconfigPath: bench.cp.kubeconfigPath,
    awsEndpoint: bench.endpoint.url,
    region: REGION,
    namespace,
  };
  log(`N=${n}: kopf convergence`);
  const watch = await ReadyWatch.start(bench.kube, namespace);
  let operator: KopfProcess | undefined;
  let converged: Omit<KopfResult, "restartPuts" | "restartWindowSeconds">;
  try {
    const before = await bench.counts();
    operator = await KopfProcess.start({
      ...options,
      logFile: join(bench.options.logDir, `kopf-${n}-converge.log`),
    });
    const allReady = await watch.waitForAll(n, 30 * 60_000);
    const footprint = operator.footprint();
    converged = {
      n,
      convergeSeconds: seconds(allReady - operator.startedAt),
      footprint,
      convergeWrites: countWrites(diffCounts(await bench.settledCounts(), before)),
    };
  } finally {
    watch.stop();
    await operator?.stop();
  }
  log(
    `  ${converged.convergeSeconds.toFixed(1)} s, ${converged.footprint.peakRssMiB.toFixed(0)} MiB`,
  );

  log(`N=${n}: kopf restart with nothing changed`);
  const putsBefore = bench.endpoint.puts().length;
  const restarted = await KopfProcess.start({
    ...options,
    logFile: join(bench.options.logDir, `kopf-${n}-restart.log`),
  });
  try {
    await sleep(KOPF_RESTART_WINDOW_MS);
  } finally {
    await restarted.stop();
  }
  const result = {
    ...converged,
    restartPuts: bench.endpoint.puts().length - putsBefore,
    restartWindowSeconds: KOPF_RESTART_WINDOW_MS / 1000,
  };
  log(`  ${result.restartPuts} puts in the first ${result.restartWindowSeconds} s`);
  return result;
}
