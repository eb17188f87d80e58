// Metrics of the parts that keep the controller going through faults: leader
// election, watch recovery, the AWS rate limit and assumed roles. Registered
// on the controller's registry next to ControllerMetrics.
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

type WatchRestartReason = "error" | "expired" | "silent";

export class ResilienceMetrics {
  /** client-go's name, so existing leader-election dashboards work. */
  readonly leaderStatus: Gauge<"name">;
  readonly watchRestarts: Counter<"reason">;
  readonly rateLimitWait: Histogram;
  readonly assumeRole: Counter<"outcome">;

  constructor(registry: Registry) {
    const registers = [registry];
    this.leaderStatus = new Gauge({
      name: "leader_election_master_status",
      help: "1 while this process holds the leader-election Lease, else 0",
      labelNames: ["name"],
      registers,
    });
    this.watchRestarts = new Counter({
      name: "log_destination_policy_watch_restarts_total",
      help: "Watches of LogDestinationPolicy objects restarted, by why: error, expired (410 Gone, relisted) or silent (watchdog)",
      labelNames: ["reason"],
      registers,
    });
    for (const reason of ["error", "expired", "silent"] satisfies WatchRestartReason[]) {
      this.watchRestarts.inc({ reason }, 0);
    }
    this.rateLimitWait = new Histogram({
      name: "log_destination_policy_aws_rate_limit_wait_seconds",
      help: "Time AWS calls waited for the client-side rate limit of their account and region",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.assumeRole = new Counter({
      name: "log_destination_policy_aws_assume_role_total",
      help: "STS AssumeRole calls for spec.roleArn, by outcome (success or the error name)",
      labelNames: ["outcome"],
      registers,
    });
  }
}
