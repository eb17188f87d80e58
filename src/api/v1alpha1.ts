// The LogDestinationPolicy API. This zod schema is the single source of truth:
// the CRD in crds/ is generated from it (scripts/generate.ts), and the controller
// and the offline validator parse objects with it.
import { z } from "zod";
import { accessPolicyStructure } from "./access-policy-schema.ts";
import { policyGrantsSchema } from "./grant.ts";
import { MAX_POLICY_BYTES } from "../util/limits.ts";
import {
  celRules,
  conditionFields,
  DESTINATION_NAME_MAX,
  metadataSchema,
  REGION_MAX,
  REGION_PATTERN,
} from "./common.ts";

export {
  celRules,
  conditionFields,
  conditionSchema,
  DESTINATION_NAME_MAX,
  metadataSchema,
  REGION_MAX,
  REGION_PATTERN,
  type CelRule,
  type Condition,
} from "./common.ts";

/**
 * A structured policy whose JSON is longer than this cannot fit AWS's limit
 * once canonical (the canonical form is never shorter), so the watch cache
 * keeps only its size, under this key, and reconciling reports it.
 */
export const CACHED_POLICY_MAX_CHARS = 2 * MAX_POLICY_BYTES;
export const OVERSIZED_POLICY_MARK = "$oversizedJsonChars";

// Kubernetes validates CRDs with RE2 and JS validates with ECMAScript regexes; this
// pattern means the same in both. AWS allows any character but ':' and '*'; control
// characters are refused as well, as no real destination has them and they would
// reach every message that names the destination.
const DESTINATION_NAME_PATTERN = "^[^:*\\x00-\\x1f\\x7f-\\x9f]*$";
const ROLE_ARN_PATTERN = "^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\\w+=,.@/-]{1,512}$";
// Go-style durations as Kubernetes users write them: 30s, 10m, 1h30m; "0" disables.
const DURATION_PATTERN = "^(0|([0-9]+(\\.[0-9]+)?(ms|s|m|h))+)$";

const ONE_POLICY_FIELD = "set at most one of accessPolicy and accessPolicyJson";
const SOME_POLICY_SOURCE =
  "set accessPolicy or accessPolicyJson, or grants for a policy made only of LogDestinationGrants";

export const specSchema = z
  .object({
    destinationName: z
      .string()
      .min(1)
      .max(DESTINATION_NAME_MAX)
      .regex(new RegExp(DESTINATION_NAME_PATTERN), {
        error: "must not contain ':', '*' or control characters (U+0000–U+001F, U+007F–U+009F)",
      })
      .describe("Name of the existing CloudWatch Logs destination whose access policy is managed."),
    region: z
      .string()
      .max(REGION_MAX)
      .regex(new RegExp(REGION_PATTERN), { error: "must be an AWS region such as eu-west-1" })
      .optional()
      .describe("AWS region of the destination. Defaults to the controller's region."),
    accessPolicy: z
      .record(z.string(), z.unknown())
      .meta(accessPolicyStructure)
      .optional()
      .describe(
        "The owner's IAM policy document, written as YAML. At most one of accessPolicy and accessPolicyJson is set; both may be left out when grants is set.",
      ),
    accessPolicyJson: z
      .string()
      .min(1)
      .max(MAX_POLICY_BYTES)
      .optional()
      .describe(
        "The owner's IAM policy document as a JSON string. At most one of accessPolicy and accessPolicyJson is set; both may be left out when grants is set.",
      ),
    grants: policyGrantsSchema.optional(),
    forceUpdate: z
      .boolean()
      .default(false)
      .describe(
        "Passed to PutDestinationPolicy: affirms that senders' subscription filters were updated before switching from account IDs to an organization ID.",
      ),
    suspend: z
      .boolean()
      .default(false)
      .describe("Stops reconciling this object without touching the policy in AWS."),
    mode: z
      .enum(["Enforce", "Observe"])
      .default("Enforce")
      .describe(
        "Enforce writes the policy to AWS. Observe only reads the live policy and reports whether it matches, for adopting destinations that already have one.",
      ),
    allowPublicAccess: z
      .boolean()
      .default(false)
      .describe(
        'Allows public statements: Principal "*" or an AWS wildcard without a fixed organization or account condition, no Principal, NotPrincipal, a Service wildcard, or a Federated or CanonicalUser principal. Refused unless set (and permitted by a binding), and the controller may forbid it altogether.',
      ),
    roleArn: z
      .string()
      .regex(new RegExp(ROLE_ARN_PATTERN), {
        error: "must be an IAM role ARN such as arn:aws:iam::123456789012:role/name",
      })
      .optional()
      .describe(
        "IAM role to assume for this destination, for destinations in other accounts. It must match the controller's allow-list.",
      ),
    driftDetection: z
      .object({
        interval: z
          .string()
          .regex(new RegExp(DURATION_PATTERN), {
            error: "must be a duration such as 10m, 1h or 0 to disable",
          })
          .optional()
          .describe(
            "How often the live policy is compared with the desired one. Defaults to the controller's setting; 0 disables.",
          ),
      })
      .optional()
      .describe("Periodic comparison of the live policy in AWS with the desired one."),
    driftPolicy: z
      .enum(["Correct", "Report"])
      .default("Correct")
      .describe(
        "What to do when the live policy has drifted: Correct applies the desired policy again, Report only reports it.",
      ),
    deletionPolicy: z
      .enum(["Retain", "Revoke"])
      .default("Retain")
      .describe(
        "Retain leaves the policy in AWS when the object is deleted. Revoke replaces it with a deny-all policy first.",
      ),
  })
  .meta(
    celRules([
      {
        rule: "!(has(self.accessPolicy) && has(self.accessPolicyJson))",
        message: ONE_POLICY_FIELD,
        reason: "FieldValueInvalid",
      },
      {
        rule: "has(self.accessPolicy) || has(self.accessPolicyJson) || has(self.grants)",
        message: SOME_POLICY_SOURCE,
        reason: "FieldValueRequired",
      },
    ]),
  )
  .superRefine((spec, ctx) => {
    if (spec.accessPolicy !== undefined && spec.accessPolicyJson !== undefined) {
      ctx.addIssue({ code: "custom", path: ["accessPolicy"], message: ONE_POLICY_FIELD });
    } else if (
      spec.accessPolicy === undefined &&
      spec.accessPolicyJson === undefined &&
      spec.grants === undefined
    ) {
      ctx.addIssue({ code: "custom", path: ["accessPolicy"], message: SOME_POLICY_SOURCE });
    }
  })
  .describe("The desired access policy of one CloudWatch Logs destination.");

export type LogDestinationPolicySpec = z.output<typeof specSchema>;

export const statusSchema = z
  .object({
    ...conditionFields("Ready, and Reconciling or Stalled while they are True (kstatus)."),
    appliedPolicyHash: z
      .string()
      .optional()
      .describe("sha256 of the canonical policy last applied to AWS."),
    appliedRecordHash: z
      .string()
      .optional()
      .describe(
        "sha256 of the last-applied annotation the controller wrote; an annotation that does not match it is not trusted.",
      ),
    lastAppliedTime: z.iso
      .datetime()
      .optional()
      .describe("When the policy was last written to AWS."),
    livePolicyHash: z
      .string()
      .optional()
      .describe(
        "sha256 of the live policy last read from or written to AWS, or `unknown` when it may have changed since (a write that may have landed, a suspension). Status says Applied without an AWS call only while this is the applied policy's hash.",
      ),
    lastDriftCheckTime: z.iso
      .datetime()
      .optional()
      .describe(
        "When a reconcile last compared the live policy with the desired one. Drift sweeps that find nothing changed do not update it; their time is a metric.",
      ),
    region: z
      .string()
      .optional()
      .describe("The region the controller uses: spec.region, or the controller's default."),
    accountId: z
      .string()
      .optional()
      .describe(
        "The AWS account of the destination: from its ARN once the live policy was read, before that from spec.roleArn.",
      ),
    destinationArn: z
      .string()
      .optional()
      .describe(
        "The destination's ARN: as DescribeDestinations returned it, or built from the account of the identity that applied the policy.",
      ),
    grantedAccounts: z
      .array(z.string())
      .optional()
      .describe("The AWS accounts the applied policy's Allow statements name."),
    grantedOrganizations: z
      .array(z.string())
      .optional()
      .describe("The AWS Organizations the applied policy's Allow statements admit by condition."),
    policySizeBytes: z
      .int()
      .min(0)
      .optional()
      .describe(
        `Size of the applied canonical policy in bytes; PutDestinationPolicy accepts at most ${MAX_POLICY_BYTES}.`,
      ),
    grants: z
      .object({
        accepted: z.int().min(0).describe("Grants whose principals the policy AWS holds carries."),
        waiting: z
          .int()
          .min(0)
          .describe("Grants waiting for room (PolicySizeExceeded) or for forceUpdate."),
        refused: z
          .int()
          .min(0)
          .describe("Grants not accepted, not permitted by a binding, or with an invalid spec."),
      })
      .optional()
      .describe(
        "The LogDestinationGrants that name this policy, by state; set while spec.grants is.",
      ),
  })
  .describe("Observed state, written only by the controller.");

export type LogDestinationPolicyStatus = z.output<typeof statusSchema>;

/** The whole object as the API server returns it; spec is validated separately. */
export interface LogDestinationPolicy {
  apiVersion?: string;
  kind?: string;
  metadata: z.output<typeof metadataSchema>;
  spec?: unknown;
  status?: LogDestinationPolicyStatus;
}
