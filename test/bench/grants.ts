// Shared destinations, side by side with the other figures: grants created at
// once on a few destinations (all Ready, puts per destination, API-server
// writes per grant), one grant added to a destination that holds hundreds
// (time from the create to the put it causes), and a restart on tens of
// thousands of applied grants (no put, no write, peak RSS).
import { API_VERSION, GRANT_KIND, GRANT_PLURAL, KIND, PLURAL } from "../../src/api/names.ts";
import { latency, type Latency } from "./changes.ts";
import type { ControllerProcess } from "./controller.ts";
import { REGION, log, seconds } from "./fixtures.ts";
import {
  apiserverRequestCounts,
  createNamespace,
  diffCounts,
  forEachConcurrent,
  grantPath,
  policyPath,
  type KubeHttp,
  type RequestCounts,
} from "./kube.ts";
import type { LogsEndpoint } from "./logs-endpoint.ts";
import { ReadyWatch } from "./ready-watch.ts";
import { countWrites } from "./report.ts";
import { setTimeout as sleep } from "node:timers/promises";

export interface GrantsResult {
  burst: {
    grants: number;
    destinations: number;
    /** From the first create until every grant was Ready. */
    allReadySeconds: number;
    createSeconds: number;
    maxPutsPerDestination: number;
    /** API-server writes to grants (finalizer and status patches) per grant. */
    writesPerGrant: number;
  };
  addToFull: { holding: number; changes: number; toPut: Latency };
  restart: {
    grants: number;
    destinations: number;
    convergeSeconds: number;
    verifySeconds: number;
    puts: number;
    writes: number;
    peakRssMiB: number;
  };
}

export interface GrantsBench {
  readonly kube: KubeHttp;
  readonly endpoint: LogsEndpoint;
  readonly controllerArgs: readonly string[];
  startController(namespace: string, args: string[]): Promise<ControllerProcess>;
}

const SETUP_CONCURRENCY = 32;
/** Grants come from this many namespaces, as tenants' would. */
const SENDER_NAMESPACES = 10;
const RESOURCES = [PLURAL, GRANT_PLURAL, "events"] as const;

/** The p99 from a grant's create to the put that carries it. */
export const GRANT_ADD_P99_MS = 1_000;
export const GRANT_PUTS_PER_DESTINATION = 3;
export const GRANT_WRITES_PER_GRANT = 2;
export const GRANT_RESTART_RSS_MIB = 200;

const account = (n: number) => String(200_000_000_000 + n);

interface Layout {
  policies: string;
  /** Grant i lives in senders[i mod S]. */
  senders: string[];
  destinations: string[];
}

const senderOf = (where: Layout, i: number) => where.senders[i % where.senders.length] ?? "";
const namespacesOf = (where: Layout) => [where.policies, ...where.senders].join(",");

/** The Ready grants of every sender namespace, one watch each. */
class GrantsReady {
  readonly #watches: ReadyWatch[];

  private constructor(watches: ReadyWatch[]) {
    this.#watches = watches;
  }

  static async start(bench: GrantsBench, where: Layout): Promise<GrantsReady> {
    const watches = await Promise.all(
      where.senders.map((ns) => ReadyWatch.start(bench.kube, ns, grantPath(ns))),
    );
    return new GrantsReady(watches);
  }

  /** When grants 0..n-1 were all Ready. */
  async waitForAll(n: number, timeoutMs: number): Promise<number> {
    const s = this.#watches.length;
    const times = await Promise.all(
      this.#watches.map((watch, k) =>
        watch.waitForAll(Math.floor(n / s) + (k < n % s ? 1 : 0), timeoutMs),
      ),
    );
    return Math.max(...times);
  }

  waitFor(i: number, timeoutMs: number): Promise<number> {
    const watch = this.#watches[i % this.#watches.length];
    if (!watch) throw new Error(`no watch for grant ${String(i)}`);
    return watch.waitFor(`g${String(i)}`, 1, timeoutMs);
  }

  stop(): void {
    for (const watch of this.#watches) watch.stop();
  }
}

async function deleteAll(bench: GrantsBench, where: Layout): Promise<void> {
  for (const ns of where.senders) await bench.kube.request("DELETE", grantPath(ns));
  await bench.kube.request("DELETE", policyPath(where.policies));
}

async function layout(bench: GrantsBench, tag: string, destinations: number): Promise<Layout> {
  const policies = `grants-${tag}-policies`;
  const senders = Array.from({ length: SENDER_NAMESPACES }, (_, k) => `grants-${tag}-s${k}`);
  await createNamespace(bench.kube, policies);
  for (const ns of senders) await createNamespace(bench.kube, ns);
  const names = Array.from({ length: destinations }, (_, i) => `${policies}-d${i}`);
  await bench.endpoint.createDestinations(names);
  await forEachConcurrent(destinations, SETUP_CONCURRENCY, async (i) => {
    await bench.kube.request("POST", policyPath(policies), {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name: `p${i}` },
      spec: {
        destinationName: names[i],
        region: REGION,
        grants: { from: { namespaceSelector: {} } },
      },
    });
  });
  return { policies, senders, destinations: names };
}

/** Grant i names policy i mod D and grants one account of its own. */
async function createGrants(bench: GrantsBench, where: Layout, from: number, n: number) {
  const d = where.destinations.length;
  await forEachConcurrent(n, SETUP_CONCURRENCY, async (k) => {
    const i = from + k;
    await bench.kube.request("POST", grantPath(senderOf(where, i)), {
      apiVersion: API_VERSION,
      kind: GRANT_KIND,
      metadata: { name: `g${i}` },
      spec: {
        policyRef: { namespace: where.policies, name: `p${i % d}` },
        principals: { accounts: [account(i)] },
      },
    });
  });
}

const args = (bench: GrantsBench) => [...bench.controllerArgs, "--require-binding=false"];
const counts = (bench: GrantsBench): Promise<RequestCounts> =>
  apiserverRequestCounts(bench.kube, RESOURCES);

async function settled(bench: GrantsBench): Promise<RequestCounts> {
  let last = await counts(bench);
  for (let i = 0; i < 20; i++) {
    await sleep(500);
    const next = await counts(bench);
    if (countWrites(next) === countWrites(last)) return next;
    last = next;
  }
  return last;
}

/** N grants created at once on D destinations whose policies are Ready, the controller running. */
async function burst(bench: GrantsBench, n: number, d: number): Promise<GrantsResult["burst"]> {
  log(`grants: ${n} grants created at once on ${d} destinations`);
  const where = await layout(bench, `burst-${n}`, d);
  const policiesReady = await ReadyWatch.start(bench.kube, where.policies);
  const grantsReady = await GrantsReady.start(bench, where);
  // Started inside the try, so a controller that fails to start still has the watches stopped.
  let controller: ControllerProcess | undefined;
  try {
    controller = await bench.startController(namespacesOf(where), args(bench));
    await policiesReady.waitForAll(d, 5 * 60_000);
    const putsBefore = bench.endpoint.puts().length;
    const before = await counts(bench);
    const started = Date.now();
    await createGrants(bench, where, 0, n);
    const created = Date.now();
    const readyAt = await grantsReady.waitForAll(n, 10 * 60_000);
    const writes = diffCounts(await settled(bench), before);
    const puts = bench.endpoint.puts().slice(putsBefore);
    const byDestination = new Map<string, number>();
    for (const put of puts) {
      const name = put.destinationName ?? "?";
      byDestination.set(name, (byDestination.get(name) ?? 0) + 1);
    }
    const grantWrites =
      (writes.get(`PATCH ${GRANT_PLURAL}`) ?? 0) +
      (writes.get(`PATCH ${GRANT_PLURAL}/status`) ?? 0);
    const result = {
      grants: n,
      destinations: d,
      allReadySeconds: seconds(readyAt - started),
      createSeconds: seconds(created - started),
      maxPutsPerDestination: Math.max(0, ...byDestination.values()),
      writesPerGrant: grantWrites / n,
    };
    log(
      `  all Ready ${result.allReadySeconds.toFixed(1)} s after the first create (creates took ${result.createSeconds.toFixed(1)} s); at most ${result.maxPutsPerDestination} puts per destination; ${result.writesPerGrant.toFixed(2)} writes per grant`,
    );
    return result;
  } finally {
    policiesReady.stop();
    grantsReady.stop();
    await controller?.stop();
    await deleteAll(bench, where);
  }
}

/** One destination holding `holding` grants; `changes` grants added one at a time, each timed to its put. */
async function addToFull(
  bench: GrantsBench,
  holding: number,
  changes: number,
): Promise<GrantsResult["addToFull"]> {
  log(`grants: ${changes} grants added one at a time to a destination holding ${holding}`);
  const where = await layout(bench, `full-${holding}`, 1);
  await createGrants(bench, where, 0, holding);
  const grantsReady = await GrantsReady.start(bench, where);
  // Started inside the try, so a controller that fails to start still has the watches stopped.
  let controller: ControllerProcess | undefined;
  try {
    controller = await bench.startController(namespacesOf(where), args(bench));
    await grantsReady.waitForAll(holding, 5 * 60_000);
    const toPut: number[] = [];
    for (let k = 0; k < changes; k++) {
      await sleep(100 + Math.random() * 100);
      const putIndex = bench.endpoint.puts().length;
      const writtenAt = Date.now();
      await createGrants(bench, where, holding + k, 1);
      await grantsReady.waitFor(holding + k, 60_000);
      const put = bench.endpoint.puts().slice(putIndex)[0];
      if (!put) throw new Error(`no PutDestinationPolicy after grant ${holding + k}`);
      toPut.push(put.at - writtenAt);
    }
    const result = { holding, changes, toPut: latency(toPut) };
    log(`  create → put p50 ${result.toPut.p50} ms, p99 ${result.toPut.p99} ms`);
    return result;
  } finally {
    grantsReady.stop();
    await controller?.stop();
    await deleteAll(bench, where);
  }
}

/** N grants on D destinations applied by one controller; a second one starts on them. */
async function restart(bench: GrantsBench, n: number, d: number): Promise<GrantsResult["restart"]> {
  log(`grants: restart with ${n} applied grants on ${d} destinations`);
  const where = await layout(bench, `restart-${n}`, d);
  await createGrants(bench, where, 0, n);
  const namespaces = namespacesOf(where);
  const grantsReady = await GrantsReady.start(bench, where);
  let first: ControllerProcess | undefined;
  let second: ControllerProcess | undefined;
  try {
    first = await bench.startController(namespaces, args(bench));
    const readyAt = await grantsReady.waitForAll(n, 20 * 60_000);
    const convergeSeconds = seconds(readyAt - first.startedAt);
    await settled(bench);
    await first.stop();
    first = undefined;
    const before = await counts(bench);
    const putsBefore = bench.endpoint.puts().length;
    second = await bench.startController(namespaces, args(bench));
    // Verified: every grant judged Applied by this process and every policy's put found needless.
    // (Counting skips alone is not enough: a policy's start reconcile and its grants' burst may
    // fold into one when the key is still queued.)
    const grantsApplied = second.waitForMetric(
      "log_destination_policy_grants",
      n,
      10 * 60_000,
      100,
      {
        reason: "Applied",
      },
    );
    const skipped = second.waitForMetric(
      "log_destination_policy_apply_skipped_total",
      d,
      10 * 60_000,
    );
    const verifiedAt = Math.max(...(await Promise.all([grantsApplied, skipped])));
    const writes = countWrites(diffCounts(await settled(bench), before));
    const footprint = second.footprint();
    const result = {
      grants: n,
      destinations: d,
      convergeSeconds,
      verifySeconds: seconds(verifiedAt - second.startedAt),
      puts: bench.endpoint.puts().length - putsBefore,
      writes,
      peakRssMiB: footprint.peakRssMiB,
    };
    log(
      `  first start: all Ready in ${convergeSeconds.toFixed(1)} s; restart: verified in ${result.verifySeconds.toFixed(1)} s, ${result.puts} puts, ${result.writes} writes, peak RSS ${result.peakRssMiB.toFixed(0)} MiB`,
    );
    return result;
  } finally {
    grantsReady.stop();
    await first?.stop();
    await second?.stop();
    await deleteAll(bench, where);
  }
}

export interface GrantsOptions {
  burst: number;
  burstDestinations: number;
  holding: number;
  changes: number;
  restart: number;
  restartDestinations: number;
}

export async function grantsSideBySide(
  bench: GrantsBench,
  o: GrantsOptions,
): Promise<GrantsResult> {
  return {
    burst: await burst(bench, o.burst, o.burstDestinations),
    addToFull: await addToFull(bench, o.holding, o.changes),
    restart: await restart(bench, o.restart, o.restartDestinations),
  };
}

export function renderGrants(r: GrantsResult | undefined, policiesSeconds?: number): string[] {
  if (!r) return [];
  const { burst: b, addToFull: a, restart: s } = r;
  return [
    "### Shared destinations (LogDestinationGrant)",
    "",
    "| | measured |",
    "|---|---:|",
    `| ${b.grants} grants from ${SENDER_NAMESPACES} namespaces created at once on ${b.destinations} destinations: all Ready after the first create | ${b.allReadySeconds.toFixed(1)} s (creates took ${b.createSeconds.toFixed(1)} s) |`,
    ...(policiesSeconds === undefined
      ? []
      : [
          `| ${b.grants} separate LogDestinationPolicy objects, same run: all Ready | ${policiesSeconds.toFixed(1)} s |`,
        ]),
    `| PutDestinationPolicy calls per destination for that burst, most | ${b.maxPutsPerDestination} |`,
    `| API-server writes per grant to reach Ready | ${b.writesPerGrant.toFixed(2)} |`,
    `| One grant added to a destination holding ${a.holding}: create → put p50 / p99 (${a.changes} grants) | ${a.toPut.p50} / ${a.toPut.p99} ms |`,
    `| ${s.grants} grants on ${s.destinations} destinations, first start: all Ready | ${s.convergeSeconds.toFixed(1)} s |`,
    `| Restart on them: puts / API-server writes / peak RSS | ${s.puts} / ${s.writes} / ${s.peakRssMiB.toFixed(0)} MiB (verified in ${s.verifySeconds.toFixed(1)} s) |`,
    "",
  ];
}

export function grantsTargets(r: GrantsResult | undefined, policiesSeconds?: number) {
  if (!r) return [];
  return [
    {
      what: `Grants: at most ${GRANT_PUTS_PER_DESTINATION} puts per destination for ${r.burst.grants} grants created at once`,
      measured: String(r.burst.maxPutsPerDestination),
      reached: r.burst.maxPutsPerDestination <= GRANT_PUTS_PER_DESTINATION,
    },
    ...(policiesSeconds === undefined
      ? []
      : [
          {
            what: `Grants: ${r.burst.grants} grants all Ready no later than ${r.burst.grants} separate policies`,
            measured: `${r.burst.allReadySeconds.toFixed(1)} s vs ${policiesSeconds.toFixed(1)} s`,
            reached: r.burst.allReadySeconds <= policiesSeconds,
          },
        ]),
    {
      what: `Grants: at most ${GRANT_WRITES_PER_GRANT} API-server writes per grant`,
      measured: r.burst.writesPerGrant.toFixed(2),
      reached: r.burst.writesPerGrant <= GRANT_WRITES_PER_GRANT,
    },
    {
      what: `Grants: one added to a destination holding ${r.addToFull.holding}, create → put p99 ≤ ${GRANT_ADD_P99_MS} ms`,
      measured: `${r.addToFull.toPut.p99} ms`,
      reached: r.addToFull.toPut.p99 <= GRANT_ADD_P99_MS,
    },
    {
      what: `Grants: restart on ${r.restart.grants} grants, 0 puts, 0 writes, peak RSS ≤ ${GRANT_RESTART_RSS_MIB} MiB`,
      measured: `${r.restart.puts} puts, ${r.restart.writes} writes, ${r.restart.peakRssMiB.toFixed(0)} MiB`,
      reached:
        r.restart.puts === 0 &&
        r.restart.writes === 0 &&
        r.restart.peakRssMiB <= GRANT_RESTART_RSS_MIB,
    },
  ];
}
