// A noisy neighbour, side by side with the other figures: N objects in one
// namespace whose destinations do not exist fail and retry at the default AWS
// rate limit, while single-object changes in another namespace are timed from
// the write to the PutDestinationPolicy they cause, at the bench's CloudWatch
// Logs endpoint. Served in turns per namespace, a change waits for about one
// flood call at each step; first come, first served, it waited behind the
// flood's backlog.
import { timedChange, latency, type Latency } from "./changes.ts";
import type { ControllerProcess } from "./controller.ts";
import { log, seconds } from "./fixtures.ts";
import { createNamespace, policyPath, type KubeHttp } from "./kube.ts";
import type { LogsEndpoint } from "./logs-endpoint.ts";
import { ReadyWatch } from "./ready-watch.ts";

export interface FairShareResult {
  flood: number;
  changes: number;
  changeToPut: Latency;
  /** Seconds from the controller's start until the other namespace's objects were all Ready. */
  quietReadySeconds: number;
  /** Flood calls the endpoint served while the changes were made, and flood objects never called by then. */
  floodPuts: number;
  floodUntried: number;
}

export interface FairShareBench {
  readonly kube: KubeHttp;
  readonly endpoint: LogsEndpoint;
  readonly options: { reconciles: number };
  prepare(namespace: string, n: number): Promise<string[]>;
  createObjects(namespace: string, n: number, destination: (i: number) => string): Promise<number>;
  startController(namespace: string, args: string[]): Promise<ControllerProcess>;
}

/** The p99 a change in another namespace may take to reach AWS behind the flood. */
export const FAIR_SHARE_P99_MS = 2_000;

export async function fairShare(
  bench: FairShareBench,
  flood: number,
  changes: number,
): Promise<FairShareResult> {
  const floodNs = `fair-flood-${flood}`;
  const quietNs = `fair-quiet-${flood}`;
  log(`fair share: ${flood} failing objects in ${floodNs}, ${changes} changes in ${quietNs}`);
  const destinations = await bench.prepare(quietNs, changes);
  await createNamespace(bench.kube, floodNs);
  const missing = (i: number) => `${floodNs}-missing-${i}`;
  await bench.createObjects(floodNs, flood, missing);
  const watch = await ReadyWatch.start(bench.kube, quietNs);
  let controller: ControllerProcess | undefined;
  try {
    controller = await bench.startController(`${floodNs},${quietNs}`, [
      "--max-concurrent-reconciles",
      String(bench.options.reconciles),
      "--require-binding=false",
    ]);
    const quietReadyAt = await watch.waitForAll(changes, 5 * 60_000);
    const putsBefore = bench.endpoint.puts().length;
    const toPut: number[] = [];
    for (let k = 0; k < changes; k++) {
      const { writtenAt, putAt } = await timedChange(
        bench,
        watch,
        { namespace: quietNs, destinations, n: changes },
        { k, total: changes, account: String(300_000_000_000 + k), readyTimeoutMs: 5 * 60_000 },
      );
      toPut.push(putAt - writtenAt);
    }
    const floodNames = new Set(Array.from({ length: flood }, (_, i) => missing(i)));
    const puts = bench.endpoint.puts();
    const floodPuts = puts
      .slice(putsBefore)
      .filter((p) => floodNames.has(p.destinationName ?? "")).length;
    const tried = new Set(puts.map((p) => p.destinationName));
    const result: FairShareResult = {
      flood,
      changes,
      changeToPut: latency(toPut),
      quietReadySeconds: seconds(quietReadyAt - controller.startedAt),
      floodPuts,
      floodUntried: [...floodNames].filter((n) => !tried.has(n)).length,
    };
    log(
      `  change → put p50 ${result.changeToPut.p50} ms, p99 ${result.changeToPut.p99} ms; ` +
        `${floodPuts} flood calls meanwhile, ${result.floodUntried} flood objects not yet tried`,
    );
    return result;
  } finally {
    watch.stop();
    await controller?.stop();
    // Later phases run against the same amount of data as without this one.
    await bench.kube.request("DELETE", policyPath(floodNs));
    await bench.kube.request("DELETE", policyPath(quietNs));
  }
}
