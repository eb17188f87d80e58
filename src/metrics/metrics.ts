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
const TURN_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300];
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
  readonly queueNamespaces: Gauge;
  readonly queueMaxNamespaceDepth: Gauge;
  readonly queueTurnWait: Histogram;
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
  readonly grants: Gauge<"reason">;
  readonly sharedPolicyBytes: Gauge<"namespace" | "name">;

  constructor(registry = new Registry(), options: { defaultMetrics?: boolean } = {}) {
    this.registry = registry;
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
    // One declaration per metric: name, help, labels (and buckets) are all that differ.
    const registers = [registry];
    const counter = <T extends string>(name: string, help: string, labelNames: readonly T[]) =>
      new Counter<T>({ name, help, labelNames, registers });
    const gauge = <T extends string>(name: string, help: string, labelNames: readonly T[]) =>
      new Gauge<T>({ name, help, labelNames, registers });
    const histogram = <T extends string>(
      name: string,
      help: string,
      labelNames: readonly T[],
      buckets: number[],
    ) => new Histogram<T>({ name, help, labelNames, buckets, registers });
    const where = ["account", "region"] as const;
    this.reconcileTotal = counter(
      "controller_runtime_reconcile_total",
      "Total number of reconciliations per controller",
      ["controller", "result"],
    );
    this.reconcileErrors = counter(
      "controller_runtime_reconcile_errors_total",
      "Total number of reconciliation errors per controller",
      ["controller"],
    );
    this.reconcileTime = histogram(
      "controller_runtime_reconcile_time_seconds",
      "Length of time per reconciliation per controller",
      ["controller"],
      RECONCILE_BUCKETS,
    );
    this.activeWorkers = gauge(
      "controller_runtime_active_workers",
      "Number of currently used workers per controller",
      ["controller"],
    );
    this.maxWorkers = gauge(
      "controller_runtime_max_concurrent_reconciles",
      "Maximum number of concurrent reconciles per controller",
      ["controller"],
    );
    this.queueDepth = gauge("workqueue_depth", "Current depth of workqueue", [
      "name",
      "controller",
    ]);
    this.queueAdds = counter("workqueue_adds_total", "Total number of adds handled by workqueue", [
      "name",
      "controller",
    ]);
    this.queueRetries = counter(
      "workqueue_retries_total",
      "Total number of retries handled by workqueue",
      ["name", "controller"],
    );
    this.queueDuration = histogram(
      "workqueue_queue_duration_seconds",
      "How long in seconds an item stays in workqueue before being requested",
      ["name", "controller"],
      QUEUE_BUCKETS,
    );
    this.workDuration = histogram(
      "workqueue_work_duration_seconds",
      "How long in seconds processing an item from workqueue takes",
      ["name", "controller"],
      QUEUE_BUCKETS,
    );
    // Fair turns per namespace, as aggregates only: a namespace label would let
    // tenants grow the series count and would show every tenant's backlog.
    this.queueNamespaces = gauge(
      "log_destination_policy_workqueue_namespaces_waiting",
      "Namespaces with at least one object waiting in the work queue",
      [],
    );
    this.queueMaxNamespaceDepth = gauge(
      "log_destination_policy_workqueue_max_namespace_depth",
      "The most objects one namespace has waiting in the work queue",
      [],
    );
    this.queueTurnWait = histogram(
      "log_destination_policy_workqueue_namespace_turn_seconds",
      "How long a namespace with objects waiting waited for its next turn (one object handed out)",
      [],
      TURN_BUCKETS,
    );
    this.awsRequests = counter(
      "log_destination_policy_aws_requests_total",
      "AWS API requests by operation and outcome (success or the AWS error name)",
      ["operation", "outcome"],
    );
    this.awsDuration = histogram(
      "log_destination_policy_aws_request_duration_seconds",
      "Duration of single AWS API attempts",
      ["operation"],
      AWS_BUCKETS,
    );
    this.awsRetries = counter(
      "log_destination_policy_aws_retries_total",
      "AWS API attempts retried, by operation and the error that caused the retry",
      ["operation", "error"],
    );
    this.applySkipped = counter(
      "log_destination_policy_apply_skipped_total",
      "Reconciles that made no AWS call because the policy was unchanged",
      [],
    );
    this.resources = gauge(
      "log_destination_policy_resources",
      "LogDestinationPolicy objects by their current Ready reason",
      ["reason"],
    );
    this.lastApply = gauge(
      "log_destination_policy_last_apply_timestamp_seconds",
      "Unix time of the last successful PutDestinationPolicy",
      [],
    );
    this.reconcileOutcomes = counter(
      "log_destination_policy_reconcile_outcomes_total",
      "Reconcile outcomes by the Ready reason they produced",
      ["reason"],
    );
    this.driftDetected = counter(
      "log_destination_policy_drift_detected_total",
      "Times the live policy in AWS was found to differ from the one last applied",
      [],
    );
    this.grants = gauge(
      "log_destination_policy_grants",
      "LogDestinationGrant objects by their current Ready reason",
      ["reason"],
    );
    // One series per policy that accepts grants: those are the platform team's
    // shared destinations, few by design; a grant adds no series.
    this.sharedPolicyBytes = gauge(
      "log_destination_policy_shared_policy_bytes",
      "Bytes of the merged policy (owner's statements and admitted grants) of each LogDestinationPolicy that accepts grants; PutDestinationPolicy takes at most 5120",
      ["namespace", "name"],
    );
    this.nearSizeLimit = gauge(
      "log_destination_policy_policies_near_size_limit",
      "Objects whose applied policy is above 80 % of the 5120-byte limit of PutDestinationPolicy",
      [],
    );
    this.revokeAbandoned = counter(
      "log_destination_policy_revoke_abandoned_total",
      "Deleted objects released after --revoke-timeout although their deny-all policy never landed",
      [],
    );
    this.bindings = gauge(
      "log_destination_policy_bindings",
      "LogDestinationPolicyBinding objects the controller knows (0 while --require-binding is off)",
      [],
    );
    this.tenancyReevaluations = counter(
      "log_destination_policy_tenancy_reevaluations_total",
      "Objects decided again because a binding that selects their namespace, or the namespace's labels, changed",
      [],
    );
    this.sweeps = counter(
      "log_destination_policy_drift_sweeps_total",
      "Drift sweeps (one paginated DescribeDestinations per account, region and role) by result",
      [...where, "result"],
    );
    this.sweepDuration = histogram(
      "log_destination_policy_drift_sweep_duration_seconds",
      "How long one drift sweep took, rate-limit waits included",
      where,
      SWEEP_BUCKETS,
    );
    this.sweepReads = histogram(
      "log_destination_policy_drift_sweep_reads",
      "DescribeDestinations calls (pages) one drift sweep made",
      where,
      READ_BUCKETS,
    );
    this.sweepLast = gauge(
      "log_destination_policy_drift_sweep_last_success_timestamp_seconds",
      "Unix time the last successful drift sweep of an account and region ended",
      where,
    );
    this.sweepObjects = gauge(
      "log_destination_policy_drift_sweep_objects",
      "Objects the last successful drift sweep of an account and region covered",
      where,
    );
    this.eventsDropped = counter(
      "log_destination_policy_events_dropped_total",
      "Kubernetes Events not written: the queue was full, or the API server refused them",
      ["reason"],
    );
    this.eventsDropped.inc({ reason: "queue_full" }, 0);
    this.eventsDropped.inc({ reason: "write_failed" }, 0);
    this.maxWorkers.set({ controller: CONTROLLER_NAME }, 0);
    // Gauges exist from the start, as client-go's do: an idle queue reads 0, not "no data".
    this.queueDepth.set({ name: QUEUE_NAME, controller: CONTROLLER_NAME }, 0);
    this.activeWorkers.set({ controller: CONTROLLER_NAME }, 0);
    this.queueNamespaces.set(0);
    this.queueMaxNamespaceDepth.set(0);
  }

  /** Labels shared by every workqueue series. */
  static readonly queueLabels = { name: QUEUE_NAME, controller: CONTROLLER_NAME } as const;
  static readonly controllerLabels = { controller: CONTROLLER_NAME } as const;
}
