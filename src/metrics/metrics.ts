// Every metric the controller exposes. The controller-runtime names are kept so
// that existing dashboards and alerts for Go controllers work unchanged.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { CONTROLLER_NAME } from "../api/names.ts";

const QUEUE_NAME = CONTROLLER_NAME;

// controller-runtime's default buckets for reconcile time and client-go's for the queue.
const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1,
  1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
const QUEUE_BUCKETS = [1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1, 10, 100, 1000];
const AWS_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const SWEEP_BUCKETS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];
const READ_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000];

export class ControllerMetrics {
  readonly registry: Registry;
  readonly reconcileTotal: Counter<"controller" | "result">;
  readonly reconcileErrors: Counter<"controller">;
  readonly reconcileTime: Histogram<"controller">;
  readonly activeWorkers: Gauge<"controller">;
  readonly maxWorkers: Gauge<"controller">;
  readonly queueDepth: Gauge<"name" | "controller">;
  readonly queueAdds: Counter<"name" | "controller">;
  readonly queueRetries: Counter<"name" | "controller">;
  readonly queueDuration: Histogram<"name" | "controller">;
  readonly workDuration: Histogram<"name" | "controller">;
  readonly awsRequests: Counter<"operation" | "outcome">;
  readonly awsDuration: Histogram<"operation">;
  readonly awsRetries: Counter<"operation" | "error">;
  readonly applySkipped: Counter;
  readonly resources: Gauge<"reason">;
  readonly lastApply: Gauge;
  readonly reconcileOutcomes: Counter<"reason">;
  readonly driftDetected: Counter;
  readonly nearSizeLimit: Gauge;
  readonly revokeAbandoned: Counter;
  readonly bindings: Gauge;
  readonly tenancyReevaluations: Counter;
  readonly sweeps: Counter<"account" | "region" | "result">;
  readonly sweepDuration: Histogram<"account" | "region">;
  readonly sweepReads: Histogram<"account" | "region">;
  readonly sweepLast: Gauge<"account" | "region">;
  readonly sweepObjects: Gauge<"account" | "region">;
  readonly eventsDropped: Counter<"reason">;

  constructor(registry = new Registry(), options: { defaultMetrics?: boolean } = {}) {
    this.registry = registry;
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
    const r = [registry];
    this.reconcileTotal = new Counter({
      name: "controller_runtime_reconcile_total",
      help: "Total number of reconciliations per controller",
      labelNames: ["controller", "result"],
      registers: r,
    });
    this.reconcileErrors = new Counter({
      name: "controller_runtime_reconcile_errors_total",
      help: "Total number of reconciliation errors per controller",
      labelNames: ["controller"],
      registers: r,
    });
    this.reconcileTime = new Histogram({
      name: "controller_runtime_reconcile_time_seconds",
      help: "Length of time per reconciliation per controller",
      labelNames: ["controller"],
      buckets: RECONCILE_BUCKETS,
      registers: r,
    });
    this.activeWorkers = new Gauge({
      name: "controller_runtime_active_workers",
      help: "Number of currently used workers per controller",
      labelNames: ["controller"],
      registers: r,
    });
    this.maxWorkers = new Gauge({
      name: "controller_runtime_max_concurrent_reconciles",
      help: "Maximum number of concurrent reconciles per controller",
      labelNames: ["controller"],
      registers: r,
    });
    this.queueDepth = new Gauge({
      name: "workqueue_depth",
      help: "Current depth of workqueue",
      labelNames: ["name", "controller"],
      registers: r,
    });
    this.queueAdds = new Counter({
      name: "workqueue_adds_total",
      help: "Total number of adds handled by workqueue",
      labelNames: ["name", "controller"],
      registers: r,
    });
    this.queueRetries = new Counter({
      name: "workqueue_retries_total",
      help: "Total number of retries handled by workqueue",
      labelNames: ["name", "controller"],
      registers: r,
    });
    this.queueDuration = new Histogram({
      name: "workqueue_queue_duration_seconds",
      help: "How long in seconds an item stays in workqueue before being requested",
      labelNames: ["name", "controller"],
      buckets: QUEUE_BUCKETS,
      registers: r,
    });
    this.workDuration = new Histogram({
      name: "workqueue_work_duration_seconds",
      help: "How long in seconds processing an item from workqueue takes",
      labelNames: ["name", "controller"],
      buckets: QUEUE_BUCKETS,
      registers: r,
    });
    this.awsRequests = new Counter({
      name: "log_destination_policy_aws_requests_total",
      help: "AWS API requests by operation and outcome (success or the AWS error name)",
      labelNames: ["operation", "outcome"],
      registers: r,
    });
    this.awsDuration = new Histogram({
      name: "log_destination_policy_aws_request_duration_seconds",
      help: "Duration of single AWS API attempts",
      labelNames: ["operation"],
      buckets: AWS_BUCKETS,
      registers: r,
    });
    this.awsRetries = new Counter({
      name: "log_destination_policy_aws_retries_total",
      help: "AWS API attempts retried, by operation and the error that caused the retry",
      labelNames: ["operation", "error"],
      registers: r,
    });
    this.applySkipped = new Counter({
      name: "log_destination_policy_apply_skipped_total",
      help: "Reconciles that made no AWS call because the policy was unchanged",
      registers: r,
    });
    this.resources = new Gauge({
      name: "log_destination_policy_resources",
      help: "LogDestinationPolicy objects by their current Ready reason",
      labelNames: ["reason"],
      registers: r,
    });
    this.lastApply = new Gauge({
      name: "log_destination_policy_last_apply_timestamp_seconds",
      help: "Unix time of the last successful PutDestinationPolicy",
      registers: r,
    });
    this.reconcileOutcomes = new Counter({
      name: "log_destination_policy_reconcile_outcomes_total",
      help: "Reconcile outcomes by the Ready reason they produced",
      labelNames: ["reason"],
      registers: r,
    });
    this.driftDetected = new Counter({
      name: "log_destination_policy_drift_detected_total",
      help: "Times the live policy in AWS was found to differ from the one last applied",
      registers: r,
    });
    this.nearSizeLimit = new Gauge({
      name: "log_destination_policy_policies_near_size_limit",
      help: "Objects whose applied policy is above 80 % of the 5120-byte limit of PutDestinationPolicy",
      registers: r,
    });
    this.revokeAbandoned = new Counter({
      name: "log_destination_policy_revoke_abandoned_total",
      help: "Deleted objects released after --revoke-timeout although their deny-all policy never landed",
      registers: r,
    });
    this.bindings = new Gauge({
      name: "log_destination_policy_bindings",
      help: "LogDestinationPolicyBinding objects the controller knows (0 while --require-binding is off)",
      registers: r,
    });
    this.tenancyReevaluations = new Counter({
      name: "log_destination_policy_tenancy_reevaluations_total",
      help: "Objects decided again because a binding that selects their namespace, or the namespace's labels, changed",
      registers: r,
    });
    const where = ["account", "region"] as const;
    this.sweeps = new Counter({
      name: "log_destination_policy_drift_sweeps_total",
      help: "Drift sweeps (one paginated DescribeDestinations per account, region and role) by result",
      labelNames: [...where, "result"],
      registers: r,
    });
    this.sweepDuration = new Histogram({
      name: "log_destination_policy_drift_sweep_duration_seconds",
      help: "How long one drift sweep took, rate-limit waits included",
      labelNames: where,
      buckets: SWEEP_BUCKETS,
      registers: r,
    });
    this.sweepReads = new Histogram({
      name: "log_destination_policy_drift_sweep_reads",
      help: "DescribeDestinations calls (pages) one drift sweep made",
      labelNames: where,
      buckets: READ_BUCKETS,
      registers: r,
    });
    this.sweepLast = new Gauge({
      name: "log_destination_policy_drift_sweep_last_success_timestamp_seconds",
      help: "Unix time the last successful drift sweep of an account and region ended",
      labelNames: where,
      registers: r,
    });
    this.sweepObjects = new Gauge({
      name: "log_destination_policy_drift_sweep_objects",
      help: "Objects the last successful drift sweep of an account and region covered",
      labelNames: where,
      registers: r,
    });
    this.eventsDropped = new Counter({
      name: "log_destination_policy_events_dropped_total",
      help: "Kubernetes Events not written: the queue was full, or the API server refused them",
      labelNames: ["reason"],
      registers: r,
    });
    this.eventsDropped.inc({ reason: "queue_full" }, 0);
    this.eventsDropped.inc({ reason: "write_failed" }, 0);
    this.maxWorkers.set({ controller: CONTROLLER_NAME }, 0);
    // Gauges exist from the start, as client-go's do: an idle queue reads 0, not "no data".
    this.queueDepth.set({ name: QUEUE_NAME, controller: CONTROLLER_NAME }, 0);
    this.activeWorkers.set({ controller: CONTROLLER_NAME }, 0);
  }

  /** Labels shared by every workqueue series. */
  static readonly queueLabels = { name: QUEUE_NAME, controller: CONTROLLER_NAME } as const;
  static readonly controllerLabels = { controller: CONTROLLER_NAME } as const;
}
