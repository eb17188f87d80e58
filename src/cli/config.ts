// Command-line flags, each with an environment-variable equivalent, validated
// with zod (./config-schema.ts) so that a bad value names the flag and exits
// with code 2 before any connection is made.
import type { z } from "zod";
import { configSchema, type Config } from "./config-schema.ts";

export interface FlagSpec {
  key: keyof z.input<typeof configSchema>;
  flag: string;
  env: string;
  description: string;
  default?: string;
}

export const FLAGS: readonly FlagSpec[] = [
  {
    key: "kubeconfig",
    flag: "--kubeconfig <path>",
    env: "KUBECONFIG",
    description: "kubeconfig file; in-cluster credentials when unset",
  },
  {
    key: "watchNamespace",
    flag: "--watch-namespace <list>",
    env: "LDPC_WATCH_NAMESPACE",
    description: "comma-separated namespaces to watch; all when unset",
  },
  {
    key: "maxConcurrentReconciles",
    flag: "--max-concurrent-reconciles <n>",
    env: "LDPC_MAX_CONCURRENT_RECONCILES",
    description:
      "objects reconciled at once; AWS calls stay within --aws-rate-limit however many there are",
    default: "32",
  },
  {
    key: "metricsBindAddress",
    flag: "--metrics-bind-address <addr>",
    env: "LDPC_METRICS_BIND_ADDRESS",
    description: "address of /metrics; 0 disables",
    default: ":8080",
  },
  {
    key: "metricsSecure",
    flag: "--metrics-secure [bool]",
    env: "LDPC_METRICS_SECURE",
    description:
      "serve /metrics over HTTPS and answer only callers whose bearer token the API server authenticates (TokenReview) and allows to get /metrics (SubjectAccessReview); false serves plain, open HTTP for local use",
    default: "false",
  },
  {
    key: "metricsCertDir",
    flag: "--metrics-cert-dir <path>",
    env: "LDPC_METRICS_CERT_DIR",
    description:
      "folder holding tls.crt and tls.key for --metrics-secure, read again when they change; a self-signed certificate made at start when unset",
  },
  {
    key: "healthProbeBindAddress",
    flag: "--health-probe-bind-address <addr>",
    env: "LDPC_HEALTH_PROBE_BIND_ADDRESS",
    description: "address of /healthz and /readyz; 0 disables",
    default: ":8081",
  },
  {
    key: "awsRegion",
    flag: "--aws-region <region>",
    env: "AWS_REGION",
    description: "region for objects that set no spec.region",
  },
  {
    key: "awsMaxAttempts",
    flag: "--aws-max-attempts <n>",
    env: "LDPC_AWS_MAX_ATTEMPTS",
    description: "attempts per AWS call, the first included",
    default: "5",
  },
  {
    key: "awsMaxRetryTime",
    flag: "--aws-max-retry-time <duration>",
    env: "LDPC_AWS_MAX_RETRY_TIME",
    description: "time budget for all attempts of one AWS call",
    default: "30s",
  },
  {
    key: "shutdownGracePeriod",
    flag: "--shutdown-grace-period <duration>",
    env: "LDPC_SHUTDOWN_GRACE_PERIOD",
    description: "how long in-flight reconciles may take to finish on SIGTERM",
    default: "25s",
  },
  {
    key: "driftDetectionInterval",
    flag: "--drift-detection-interval <duration>",
    env: "LDPC_DRIFT_DETECTION_INTERVAL",
    description:
      "how often the live policy is compared with the applied one, unless spec.driftDetection.interval says otherwise; 0 disables",
    default: "10m",
  },
  {
    key: "minDriftDetectionInterval",
    flag: "--min-drift-detection-interval <duration>",
    env: "LDPC_MIN_DRIFT_DETECTION_INTERVAL",
    description:
      "the least time between two reads of one object's live policy; a shorter spec.driftDetection.interval is raised to it",
    default: "1m",
  },
  {
    key: "revokeTimeout",
    flag: "--revoke-timeout <duration>",
    env: "LDPC_REVOKE_TIMEOUT",
    description:
      "how long a deleted object with deletionPolicy Revoke keeps retrying a failing revoke, from its first failure, before its finalizer is removed and the policy stays; 0 = until it succeeds",
    default: "0",
  },
  {
    key: "denyPublicAccessOverride",
    flag: "--deny-public-access-override",
    env: "LDPC_DENY_PUBLIC_ACCESS_OVERRIDE",
    description:
      "refuse policies open to every AWS account even when an object sets spec.allowPublicAccess",
    default: "false",
  },
  {
    key: "leaderElect",
    flag: "--leader-elect [bool]",
    env: "LDPC_LEADER_ELECT",
    description: "elect a leader through a coordination.k8s.io Lease; only the leader reconciles",
    default: "false",
  },
  {
    key: "leaderElectionNamespace",
    flag: "--leader-election-namespace <namespace>",
    env: "LDPC_LEADER_ELECTION_NAMESPACE",
    description: "namespace of the Lease; the pod's own namespace when unset, else default",
  },
  {
    key: "leaderElectionId",
    flag: "--leader-election-id <name>",
    env: "LDPC_LEADER_ELECTION_ID",
    description: "name of the Lease",
    default: "log-destination-policy-controller",
  },
  {
    key: "leaderElectLeaseDuration",
    flag: "--leader-elect-lease-duration <duration>",
    env: "LDPC_LEADER_ELECT_LEASE_DURATION",
    description: "how long followers wait after the last renew before taking over",
    default: "15s",
  },
  {
    key: "leaderElectRenewDeadline",
    flag: "--leader-elect-renew-deadline <duration>",
    env: "LDPC_LEADER_ELECT_RENEW_DEADLINE",
    description: "how long the leader keeps trying to renew before it stops reconciling and exits",
    default: "10s",
  },
  {
    key: "leaderElectRetryPeriod",
    flag: "--leader-elect-retry-period <duration>",
    env: "LDPC_LEADER_ELECT_RETRY_PERIOD",
    description: "time between renews, and between a follower's looks at the Lease",
    default: "2s",
  },
  {
    key: "watchSilenceTimeout",
    flag: "--watch-silence-timeout <duration>",
    env: "LDPC_WATCH_SILENCE_TIMEOUT",
    description:
      "restart a watch that has brought no event or bookmark for this long (bookmarks come about every minute)",
    default: "5m",
  },
  {
    key: "awsRateLimit",
    flag: "--aws-rate-limit <n>",
    env: "LDPC_AWS_RATE_LIMIT",
    description: "AWS requests per second per account and region, retries included; 0 = unlimited",
    default: "5",
  },
  {
    key: "awsBurst",
    flag: "--aws-burst <n>",
    env: "LDPC_AWS_BURST",
    description: "AWS requests allowed at once above the rate; the rate (at least 1) when unset",
  },
  {
    key: "awsMaxClients",
    flag: "--aws-max-clients <n>",
    env: "LDPC_AWS_MAX_CLIENTS",
    description:
      "AWS SDK clients kept, one per region, role and session; the least recently used goes first, with its credentials, and its region's STS client and rate bucket once no kept client uses them",
    default: "64",
  },
  {
    key: "allowedRoleArns",
    flag: "--allowed-role-arns <list>",
    env: "LDPC_ALLOWED_ROLE_ARNS",
    description:
      "comma-separated IAM role ARNs that spec.roleArn may name; * matches within one ARN field; none when unset",
  },
  {
    key: "roleSessionTags",
    flag: "--role-session-tags [bool]",
    env: "LDPC_ROLE_SESSION_TAGS",
    description:
      "tag assumed-role sessions with the object's namespace and name (ldpc-namespace, ldpc-name); false for trust policies that do not allow sts:TagSession",
    default: "true",
  },
  {
    key: "requireBinding",
    flag: "--require-binding [bool]",
    env: "LDPC_REQUIRE_BINDING",
    description:
      "act on an object only when a LogDestinationPolicyBinding that selects its namespace permits its destination, region, role and principals; false trusts every namespace",
    default: "true",
  },
  {
    key: "logLevel",
    flag: "--log-level <level>",
    env: "LDPC_LOG_LEVEL",
    description: "trace, debug, info, warn or error",
    default: "info",
  },
];

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Flags win over environment variables, which win over defaults. */
export function resolveConfig(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): Config {
  const input: Record<string, unknown> = {};
  for (const spec of FLAGS) {
    input[spec.key] =
      flags[spec.key] ?? (env[spec.env] === "" ? undefined : env[spec.env]) ?? spec.default;
  }
  const parsed = configSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const spec = FLAGS.find((f) => f.key === issue.path[0]);
    const name = spec ? `${spec.flag.split(" ")[0] ?? ""} (${spec.env})` : issue.path.join(".");
    return `${name}: ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration:\n  ${lines.join("\n  ")}`);
}
