// The work queue's observer: client-go's workqueue metrics and
// controller-runtime's worker gauges, under the names dashboards know.
import { ControllerMetrics } from "../metrics/metrics.ts";
import type { QueueObserver } from "./queue.ts";

export function queueMetrics(metrics: ControllerMetrics): QueueObserver {
  const q = ControllerMetrics.queueLabels;
  const c = ControllerMetrics.controllerLabels;
  return {
    depth: (n) => {
      metrics.queueDepth.set(q, n);
    },
    added: () => {
      metrics.queueAdds.inc(q);
    },
    retried: () => {
      metrics.queueRetries.inc(q);
    },
    waited: (s) => {
      metrics.queueDuration.observe(q, s);
    },
    worked: (s) => {
      metrics.workDuration.observe(q, s);
    },
    active: (n) => {
      metrics.activeWorkers.set(c, n);
    },
    namespaces: (waiting, deepest) => {
      metrics.queueNamespaces.set(waiting);
      metrics.queueMaxNamespaceDepth.set(deepest);
    },
    turnWaited: (s) => {
      metrics.queueTurnWait.observe(s);
    },
  };
}
