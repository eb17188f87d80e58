// Connects the drift sweeper to AWS, the clock, and the controller's metrics
// and log. What a sweep hands back and what it counts as a read are the
// caller's to decide.
import type { DestinationSweepApi } from "../aws/destinations.ts";
import { rateLimitKey } from "../aws/rate-limit.ts";
import type { Logger } from "../logger.ts";
import type { ControllerMetrics } from "../metrics/metrics.ts";
import type { Clock } from "../util/clock.ts";
import { DriftSweeper, type SweepDeps, type SweepResult } from "./sweep.ts";

export function wiredSweeper(
  aws: DestinationSweepApi,
  clock: Clock,
  metrics: ControllerMetrics,
  log: Logger,
  handlers: Pick<SweepDeps, "changed" | "read" | "batchIntervalMs">,
): DriftSweeper {
  return new DriftSweeper({
    list: (target, prefix, onPage, signal) => aws.list(target, prefix, onPage, signal),
    describe: (target, name, signal) => aws.describe(target, name, signal, "background"),
    batchIntervalMs: handlers.batchIntervalMs,
    changed: handlers.changed,
    read: handlers.read,
    done: (result) => {
      sweepDone(result, clock, metrics, log);
    },
    now: () => clock.now(),
    schedule: (run, delayMs) => clock.schedule(run, delayMs),
  });
}

function sweepDone(result: SweepResult, clock: Clock, m: ControllerMetrics, log: Logger): void {
  const labels = {
    account: rateLimitKey(result.region, result.roleArn).split("/")[0] ?? "default",
    region: result.region,
  };
  m.sweeps.inc({ ...labels, result: result.error === undefined ? "success" : "error" });
  m.sweepDuration.observe(labels, result.seconds);
  m.sweepReads.observe(labels, result.reads);
  if (result.error === undefined) {
    m.sweepLast.set(labels, clock.now() / 1000);
    m.sweepObjects.set(labels, result.members);
    log.debug({ ...labels, ...result }, "drift sweep done");
    return;
  }
  log.warn(
    { ...labels, reads: result.reads, err: errorText(result.error) },
    "drift sweep failed; its objects stay as they are until the next sweep",
  );
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : JSON.stringify(err);
}
