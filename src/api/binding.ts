// The LogDestinationPolicyBinding API: cluster-scoped objects, written by the
// platform team, that say which namespaces may manage which destinations,
// regions, roles and principals. Like the policy kind, this zod schema is the
// single source of truth: the CRD is generated from it, and the controller and
// the offline validator parse bindings with it.
import { z } from "zod";
import {
  celRules,
  conditionFields,
  DESTINATION_NAME_MAX,
  metadataSchema,
  REGION_PATTERN,
} from "./common.ts";

/** Bounds that keep a binding cheap to hold and to match, whatever an admin writes. */
const BINDING_LIMITS = {
  destinations: 256,
  regions: 64,
  roleArns: 256,
  accounts: 1024,
  organizationIds: 64,
  services: 64,
  matchLabels: 64,
  matchExpressions: 64,
  values: 256,
} as const;

// A glob over destination names: names cannot contain ':' or '*', so '*' is free to mean
// "any run of characters".
const DESTINATION_GLOB_PATTERN = "^[^:]+$";
// An exact role ARN, or one with '*' inside its fields, as --allowed-role-arns takes them.
const ROLE_PATTERN = "^arn:aws[a-z-]*:iam::([0-9]{12}|\\*):role/[\\w+=,.@/*-]{1,512}$";
export const ACCOUNT_PATTERN = "^[0-9]{12}$";
export const ORGANIZATION_PATTERN = "^o-[a-z0-9]{10,32}$";
// A service principal as AWS names it: logs.amazonaws.com, or a regional or China form.
const SERVICE_PATTERN = "^[a-z0-9]([a-z0-9.-]{0,126}[a-z0-9])?\\.amazonaws\\.com(\\.cn)?$";
// Label keys and values as Kubernetes accepts them.
const LABEL_KEY_PATTERN =
  "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";
const LABEL_VALUE_PATTERN = "^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$";

const labelKey = z.string().max(317).regex(new RegExp(LABEL_KEY_PATTERN), {
  error: "must be a label key such as team or example.com/team",
});
const labelValue = z.string().max(63).regex(new RegExp(LABEL_VALUE_PATTERN), {
  error: "must be a label value (at most 63 characters)",
});

const labelSelectorRequirementSchema = z
  .object({
    key: labelKey,
    operator: z.enum(["In", "NotIn", "Exists", "DoesNotExist"]),
    values: z.array(labelValue).max(BINDING_LIMITS.values).optional(),
  })
  .meta(
    celRules([
      {
        rule: "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0",
        message: "In and NotIn need values; Exists and DoesNotExist take none",
        reason: "FieldValueInvalid",
      },
    ]),
  )
  .superRefine((req, ctx) => {
    const needsValues = req.operator === "In" || req.operator === "NotIn";
    const count = req.values?.length ?? 0;
    if (needsValues && count === 0) {
      ctx.addIssue({ code: "custom", path: ["values"], message: `${req.operator} needs values` });
    } else if (!needsValues && count > 0) {
      ctx.addIssue({
        code: "custom",
        path: ["values"],
        message: `${req.operator} takes no values`,
      });
    }
  });

export const labelSelectorSchema = z
  .object({
    matchLabels: z
      .record(labelKey, labelValue)
      .optional()
      .describe("Labels the namespace must carry, with these values."),
    matchExpressions: z
      .array(labelSelectorRequirementSchema)
      .max(BINDING_LIMITS.matchExpressions)
      .optional()
      .describe("Requirements on the namespace's labels; all must hold."),
  })
  .superRefine((selector, ctx) => {
    if (Object.keys(selector.matchLabels ?? {}).length > BINDING_LIMITS.matchLabels) {
      ctx.addIssue({
        code: "custom",
        path: ["matchLabels"],
        message: `at most ${BINDING_LIMITS.matchLabels} labels`,
      });
    }
  });

export type LabelSelector = z.output<typeof labelSelectorSchema>;

export const bindingSpecSchema = z
  .object({
    namespaceSelector: labelSelectorSchema.describe(
      "The namespaces this binding applies to, by their labels; {} selects every namespace.",
    ),
    destinations: z
      .array(
        z
          .string()
          .min(1)
          .max(DESTINATION_NAME_MAX)
          .regex(new RegExp(DESTINATION_GLOB_PATTERN), { error: "must not contain ':'" }),
      )
      .min(1)
      .max(BINDING_LIMITS.destinations)
      .describe(
        "Destination names objects in these namespaces may manage; * matches any run of characters.",
      ),
    regions: z
      .array(
        z.string().regex(new RegExp(REGION_PATTERN), {
          error: "must be an AWS region such as eu-west-1",
        }),
      )
      .min(1)
      .max(BINDING_LIMITS.regions)
      .optional()
      .describe("Regions objects may use. Absent: any region."),
    roleArns: z
      .array(
        z.string().regex(new RegExp(ROLE_PATTERN), {
          error:
            "must be an IAM role ARN, or one with * inside a field, such as arn:aws:iam::123456789012:role/ldp-*",
        }),
      )
      .max(BINDING_LIMITS.roleArns)
      .optional()
      .describe(
        "Roles objects may name in spec.roleArn; * matches within one ARN field, as in --allowed-role-arns. Absent: objects may not name a role. A role must also be on the controller's --allowed-role-arns.",
      ),
    principals: z
      .object({
        accounts: z
          .array(
            z
              .string()
              .regex(new RegExp(ACCOUNT_PATTERN), { error: "must be a 12-digit account ID" }),
          )
          .max(BINDING_LIMITS.accounts)
          .optional()
          .describe(
            "Accounts an Allow statement may grant, as principals or through aws:PrincipalAccount or aws:SourceAccount.",
          ),
        organizationIds: z
          .array(
            z.string().regex(new RegExp(ORGANIZATION_PATTERN), {
              error: "must be an organization ID such as o-a1b2c3d4e5",
            }),
          )
          .max(BINDING_LIMITS.organizationIds)
          .optional()
          .describe(
            "Organizations an Allow statement may grant through aws:PrincipalOrgID, aws:SourceOrgID or aws:PrincipalOrgPaths.",
          ),
        services: z
          .array(
            z.string().regex(new RegExp(SERVICE_PATTERN), {
              error: "must be a service principal such as logs.amazonaws.com (no wildcards)",
            }),
          )
          .max(BINDING_LIMITS.services)
          .optional()
          .describe(
            "Service principals an Allow statement may name, such as logs.amazonaws.com. Absent: none.",
          ),
      })
      .optional()
      .describe(
        "What the Allow statements of an object's policy may grant. Absent: any principal that is not public. Present: only the accounts, organizations and services it lists.",
      ),
    allowPublicAccess: z
      .boolean()
      .default(false)
      .describe("Whether objects may set spec.allowPublicAccess and so grant every AWS account."),
  })
  .describe(
    "Which destinations, regions, roles and principals the selected namespaces may manage.",
  );

export type BindingSpec = z.output<typeof bindingSpecSchema>;

export const bindingStatusSchema = z
  .object({
    ...conditionFields("Ready: whether the controller accepted the spec and enforces it."),
  })
  .describe("Observed state, written only by the controller.");

export type BindingStatus = z.output<typeof bindingStatusSchema>;

export interface LogDestinationPolicyBinding {
  apiVersion?: string;
  kind?: string;
  metadata: z.output<typeof metadataSchema>;
  spec?: unknown;
  status?: BindingStatus;
}
