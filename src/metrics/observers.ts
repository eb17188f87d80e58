// What the watches, the event recorder and the AWS client report, turned into
// log lines and metrics. The parts themselves only call back; what an operator
// sees of them is decided here, in one place.
import type { StreamEvent } from "../kube/reflector.ts";
import type { Logger } from "../logger.ts";
import type { ControllerMetrics } from "./metrics.ts";
import type { ResilienceMetrics } from "./resilience.ts";

/** Watch failures and restarts of one kind: counted by why, and logged. */
export function watchObserver(resilience: ResilienceMetrics, log: Logger, kind: string) {
  return {
    error: (err: unknown, namespace: string | undefined, retryInMs: number) => {
      resilience.watchRestarts.inc({ reason: "error" });
      log.warn({ err: String(err), kind, namespace, retryInMs }, "watch failed; restarting");
    },
    event: (event: StreamEvent) => {
      switch (event.type) {
        case "expired":
          resilience.watchRestarts.inc({ reason: "expired" });
          log.info({ ...event, kind }, "watch expired (410 Gone); relisting");
          break;
        case "silent":
          resilience.watchRestarts.inc({ reason: "silent" });
          log.warn({ ...event, kind }, "watch silent for too long; restarting");
          break;
        case "listed":
          log.info({ ...event, kind }, `listed ${kind} objects`);
          break;
        case "resumed":
          log.info({ ...event, kind }, "watch resumed");
          break;
      }
    },
  };
}

const EVENT_DROP_LOG_MS = 10_000;

/** Events dropped: counted always, logged at most every few seconds, so a flood of drops cannot flood the log. */
export function eventDropObserver(
  metrics: ControllerMetrics,
  log: Logger,
): (reason: "queue_full" | "write_failed", err?: unknown) => void {
  let lastDropLog = 0;
  return (reason, err) => {
    metrics.eventsDropped.inc({ reason });
    if (Date.now() - lastDropLog < EVENT_DROP_LOG_MS) return;
    lastDropLog = Date.now();
    if (reason === "queue_full") log.warn("event queue full; dropping events (counted in metrics)");
    else log.warn({ err: String(err) }, "could not record event");
  };
}

/** AWS requests, retries, rate-limit waits and assumed roles. */
export function awsObserver(metrics: ControllerMetrics, resilience: ResilienceMetrics) {
  return {
    request: (operation: string, outcome: string, seconds: number) => {
      metrics.awsRequests.inc({ operation, outcome });
      metrics.awsDuration.observe({ operation }, seconds);
    },
    retry: (operation: string, error: string) => {
      metrics.awsRetries.inc({ operation, error });
    },
    rateLimited: (_key: string, seconds: number) => {
      resilience.rateLimitWait.observe(seconds);
    },
    assumeRole: (outcome: string) => {
      resilience.assumeRole.inc({ outcome });
    },
  };
}
