// What the command line's values must be: the zod schema every flag and
// environment variable is validated with (see ./config.ts for the flags).
import { z } from "zod";
import { parseDuration } from "../api/duration.ts";
import { REGION_MAX, REGION_PATTERN } from "../api/v1alpha1.ts";
import { RoleAllowList } from "../aws/roles.ts";
import { OBJECT_NAME, OBJECT_NAME_MAX_LENGTH } from "../util/names.ts";

const duration = z.string().transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === undefined) {
    ctx.addIssue({
      code: "custom",
      message: `"${value}" is not a duration such as 500ms, 30s, 10m or 1h30m`,
    });
    return z.NEVER;
  }
  return ms;
});

/** "host:port", ":port" (all interfaces) or "0" (disabled), as controller-runtime accepts. */
const bindAddress = z.string().transform((value, ctx) => {
  if (value === "0") return undefined;
  const match = /^(\[[^\]]+\]|[^:]*):(\d{1,5})$/.exec(value);
  const port = Number(match?.[2]);
  if (!match || port > 65535) {
    ctx.addIssue({ code: "custom", message: `"${value}" is not host:port, :port or 0` });
    return z.NEVER;
  }
  const host = (match[1] ?? "").replace(/^\[|\]$/g, "");
  return { host: host === "" ? "0.0.0.0" : host, port };
});

/** A switch: the bare flag, or true/false (also 1/0) from the environment. */
const flagBoolean = z.union([
  z.boolean(),
  z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1"),
]);

/** Comma-separated IAM role ARNs or patterns; empty allows none. */
const roleArns = z.string().transform((value, ctx) => {
  const entries = value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  try {
    return RoleAllowList.parse(entries);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: err instanceof Error ? err.message : String(err) });
    return z.NEVER;
  }
});

const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "must be a Kubernetes namespace name");
const dnsSubdomain = z
  .string()
  .max(OBJECT_NAME_MAX_LENGTH)
  .regex(OBJECT_NAME, "must be a Kubernetes object name (lower case, digits, - and .)");

const namespaces = z.string().transform((value) =>
  value
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== ""),
);

export const configSchema = z
  .object({
    kubeconfig: z.string().optional(),
    watchNamespace: namespaces.optional(),
    maxConcurrentReconciles: z.coerce.number().int().min(1).max(1000),
    metricsBindAddress: bindAddress,
    metricsSecure: flagBoolean,
    metricsCertDir: z.string().min(1).max(4096).optional(),
    healthProbeBindAddress: bindAddress,
    awsRegion: z
      .string()
      .max(REGION_MAX)
      .regex(new RegExp(REGION_PATTERN), "must be an AWS region such as eu-west-1")
      .optional(),
    awsMaxAttempts: z.coerce.number().int().min(1).max(20),
    awsMaxRetryTime: duration,
    shutdownGracePeriod: duration,
    logLevel: z.enum(["trace", "debug", "info", "warn", "error"]),
    denyPublicAccessOverride: flagBoolean,
    driftDetectionInterval: duration,
    minDriftDetectionInterval: duration,
    revokeTimeout: duration,
    roleSessionTags: flagBoolean,
    leaderElect: flagBoolean,
    leaderElectionNamespace: dnsLabel.optional(),
    leaderElectionId: dnsSubdomain,
    leaderElectLeaseDuration: duration,
    leaderElectRenewDeadline: duration,
    leaderElectRetryPeriod: duration,
    watchSilenceTimeout: duration.refine((ms) => ms >= 1000, "must be at least 1s"),
    awsRateLimit: z.coerce.number().min(0).max(10_000),
    awsBurst: z.coerce.number().int().min(1).max(10_000).optional(),
    awsMaxClients: z.coerce.number().int().min(1).max(100_000),
    allowedRoleArns: roleArns.optional(),
    requireBinding: flagBoolean,
  })
  // client-go's rules, and one more that lets a leader always stop before a
  // follower can take over (see src/election/lease.ts).
  .superRefine((c, ctx) => {
    if (c.metricsCertDir !== undefined && !c.metricsSecure) {
      ctx.addIssue({
        code: "custom",
        path: ["metricsCertDir"],
        message: "needs --metrics-secure: a certificate is only used for HTTPS",
      });
    }
    if (c.driftDetectionInterval > 0 && c.driftDetectionInterval < c.minDriftDetectionInterval) {
      ctx.addIssue({
        code: "custom",
        path: ["driftDetectionInterval"],
        message: "must be 0 or at least --min-drift-detection-interval",
      });
    }
    if (c.leaderElectRenewDeadline <= c.leaderElectRetryPeriod) {
      ctx.addIssue({
        code: "custom",
        path: ["leaderElectRenewDeadline"],
        message: "must be longer than --leader-elect-retry-period",
      });
    }
    if (c.leaderElectLeaseDuration <= c.leaderElectRenewDeadline + c.leaderElectRetryPeriod) {
      ctx.addIssue({
        code: "custom",
        path: ["leaderElectLeaseDuration"],
        message:
          "must be longer than --leader-elect-renew-deadline plus --leader-elect-retry-period",
      });
    }
  });

export type Config = z.output<typeof configSchema>;
