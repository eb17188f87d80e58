// Runs a controller the way controller-runtime's manager does: it serves
// /metrics and the probes, waits to become the leader if it must, starts the
// caches in order and then the workers, and stops when told to or when the
// Lease is lost. What is run is composed elsewhere (./policy-controller.ts);
// this module owns only the order of things.
import type { Registry } from "prom-client";
import type { LostReason } from "../election/lease.ts";
import type { Logger } from "../logger.ts";
import { serveSecureMetrics, type MetricsSecurity } from "../metrics/secure.ts";
import {
  closeServer,
  serveMetrics,
  serveProbes,
  type AnyServer,
  type Bind,
} from "../metrics/server.ts";
import { pause } from "../util/sleep.ts";
import type { Leader } from "./leader.ts";

// After the grace period, status writes of aborted reconciles get this long to land.
const FLUSH_MS = 5_000;
// A leader that lost its Lease gives aborted work this long before it exits.
const LOST_EXIT_MS = 2_000;
// Queued events get this long to be written at shutdown.
const EVENT_FLUSH_MS = 2_000;
// How often start-up looks whether the caches that come first are complete.
const SYNC_POLL_MS = 20;

/** The Lease was lost: the process must exit non-zero and be restarted, as controller-runtime does. */
export class LeadershipLostError extends Error {
  override name = "LeadershipLostError";
}

export interface Cache {
  start(): void;
  stop(): Promise<void>;
  /** True once the cache is complete. */
  readonly synced: boolean;
}

/** What the manager runs once it may: caches, workers, and what they leave behind. */
export interface Workload {
  /** Started in this order; each group is complete before the next one starts. */
  readonly caches: readonly (readonly Cache[])[];
  /** Runs the workers; resolves once in-flight work has ended after a stop. */
  run(): Promise<void>;
  /** Called once the workers run. */
  started(): void;
  /** No new work; work in flight may finish, but nothing retries any more. */
  finish(): void;
  /** Aborts work in flight; it records that it was interrupted. */
  abort(): void;
  /** Writes what is still queued (events). */
  flush(): Promise<void>;
  /** Lets go of connections, last. */
  close(): void;
}

export interface ManagerOptions {
  log: Logger;
  /** Served on /metrics at `metricsBind`; not served when that is undefined. */
  registry: Registry;
  metricsBind: Bind | undefined;
  /** HTTPS and a token review on every scrape; plain and open when undefined. */
  metricsSecurity?: MetricsSecurity | undefined;
  /** /healthz and /readyz; not served when undefined. */
  probeBind: Bind | undefined;
  /** Run only while leading; always when undefined. */
  leader: (Leader & { status(leading: boolean): void }) | undefined;
  /** How long work in flight may take to finish on a stop. */
  shutdownGracePeriodMs: number;
}

export class Manager {
  readonly #options: ManagerOptions;

  constructor(options: ManagerOptions) {
    this.#options = options;
  }

  /** Runs `workload` until `stop` aborts; throws LeadershipLostError when the Lease is lost. */
  async run(workload: Workload, stop: AbortSignal): Promise<void> {
    const { log, leader } = this.#options;
    const caches = workload.caches.flat();
    let started = false;
    // A follower is ready as soon as it runs: it is healthy and waiting to take
    // over. The one that reconciles is ready once its caches are complete.
    const { servers, stopWatching } = await this.#serve(() =>
      started ? caches.every((c) => c.synced) : leader !== undefined,
    );
    const close = async () => {
      stopWatching();
      await Promise.all(servers.map(closeServer));
      workload.close();
    };

    if (leader && !(await this.#lead(leader, stop))) {
      await close();
      log.info("stopped before becoming the leader");
      return;
    }
    await startCaches(workload.caches, stop);
    const running = workload.run();
    started = true;
    workload.started();

    const why = await stoppedOrLost(stop, leader);
    if (why !== "stop") {
      await this.#abandon(workload, running, why);
      await close();
      // Hung requests to an unreachable API server must not keep the process alive.
      setTimeout(() => process.exit(1), LOST_EXIT_MS).unref();
      throw new LeadershipLostError(`lost the leader-election lease (${why})`);
    }
    await this.#shutdown(workload, running);
    await close();
    log.info("stopped");
  }

  /** Waits for the Lease; false if `stop` came first. */
  async #lead(leader: NonNullable<ManagerOptions["leader"]>, stop: AbortSignal): Promise<boolean> {
    const { log } = this.#options;
    const fields = { lease: leader.lease, identity: leader.elector.identity };
    log.info(fields, "waiting to become the leader");
    if (!(await leader.elector.acquire(stop))) return false;
    leader.status(true);
    log.info(fields, "became the leader");
    return true;
  }

  /**
   * The Lease is lost: stop before a follower can take over. In-flight AWS
   * calls are aborted now, and the fence refuses whatever they would still write.
   */
  async #abandon(workload: Workload, running: Promise<void>, why: LostReason): Promise<void> {
    this.#options.leader?.status(false);
    this.#options.log.error({ reason: why }, "lost the leader-election lease; stopping");
    workload.abort();
    await within(Promise.all([stopCaches(workload.caches), running]), LOST_EXIT_MS);
  }

  /** SIGTERM or SIGINT: let work in flight finish within the grace period, then hand the Lease back. */
  async #shutdown(workload: Workload, running: Promise<void>): Promise<void> {
    const { log, leader, shutdownGracePeriodMs } = this.#options;
    log.info({ gracePeriodMs: shutdownGracePeriodMs }, "shutting down");
    await stopCaches(workload.caches);
    // No new work. In-flight reconciles may finish within the grace period, but
    // none retries: a retry aborts them all, and they record "Interrupted".
    workload.finish();
    if (!(await within(running, shutdownGracePeriodMs))) {
      log.warn("in-flight reconciles did not finish within the grace period; aborting them");
      workload.abort();
      if (!(await within(running, FLUSH_MS))) {
        log.warn("aborted reconciles did not record their status in time");
      }
    }
    if (leader) {
      // Handing the Lease back lets a follower take over at its next look.
      await leader.elector.release().then(
        (released) => {
          leader.status(false);
          if (released) log.info("released the leader-election lease");
        },
        (err: unknown) => {
          log.warn({ err: String(err) }, "could not release the leader-election lease");
        },
      );
    }
    await within(workload.flush(), EVENT_FLUSH_MS);
  }

  async #serve(ready: () => boolean): Promise<{ servers: AnyServer[]; stopWatching: () => void }> {
    const { log, registry, metricsBind, metricsSecurity, probeBind } = this.#options;
    const servers: AnyServer[] = [];
    let stopWatching: () => void = () => undefined;
    if (metricsBind) {
      const served = metricsSecurity
        ? await serveSecureMetrics(registry, metricsBind, metricsSecurity, log)
        : { ...(await serveMetrics(registry, metricsBind)), stop: () => undefined };
      stopWatching = served.stop;
      servers.push(served.server);
      log.info(
        {
          address: `${served.address.address}:${served.address.port}`,
          scheme: metricsSecurity ? "https" : "http",
        },
        "serving metrics",
      );
    }
    if (probeBind) {
      const { server, address } = await serveProbes({ healthy: () => true, ready }, probeBind);
      servers.push(server);
      log.info({ address: `${address.address}:${address.port}` }, "serving health probes");
    }
    return { servers, stopWatching };
  }
}

/** Starts each group of caches once the group before it is complete (or a stop came). */
async function startCaches(groups: Workload["caches"], stop: AbortSignal): Promise<void> {
  for (const [i, group] of groups.entries()) {
    for (const cache of group) cache.start();
    if (i === groups.length - 1) return;
    while (!group.every((c) => c.synced) && !stop.aborted) {
      await pause(SYNC_POLL_MS, { ref: false });
    }
  }
}

/** Stops the caches, the last started first. */
function stopCaches(groups: Workload["caches"]): Promise<unknown> {
  return Promise.all(
    groups
      .toReversed()
      .flat()
      .map((c) => c.stop()),
  );
}

/** Resolves "stop" once `stop` aborts, or why the Lease was lost. */
function stoppedOrLost(
  stop: AbortSignal,
  leader: ManagerOptions["leader"],
): Promise<"stop" | LostReason> {
  const stopped = new Promise<"stop">((resolve) => {
    if (stop.aborted) resolve("stop");
    stop.addEventListener("abort", () => {
      resolve("stop");
    });
  });
  return Promise.race([stopped, leader?.elector.lost ?? new Promise<never>(() => undefined)]);
}

/** True if `work` settles within `ms`, false once that time has passed. */
function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  return Promise.race([work.then(() => true), pause(ms, { ref: false }).then(() => false)]);
}
