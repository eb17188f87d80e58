// The LogDestinationGrant API: a namespaced object by which one team adds its
// sender accounts and organizations to a destination policy that another team
// owns and that accepts grants (spec.grants on the policy). Like the other
// kinds, this zod schema is the single source of truth for its CRD.
//
// A grant names principals only, never statements: what they may do, and on
// which resource, is the policy owner's to say. So a tenant's grant can widen
// a shared policy by exactly the principals its own bindings permit.
import { z } from "zod";
import { ACCOUNT_PATTERN, labelSelectorSchema, ORGANIZATION_PATTERN } from "./binding.ts";
import { celRules, conditionFields, metadataSchema } from "./common.ts";

export const GRANT_LIMITS = {
  accounts: 400,
  organizationIds: 64,
  organizationPaths: 64,
} as const;

/** What a grant's principals may do; the owner of the policy picks from these. */
export const GRANT_ACTIONS = ["logs:PutSubscriptionFilter", "logs:PutAccountPolicy"] as const;
export const DEFAULT_GRANT_ACTIONS = ["logs:PutSubscriptionFilter"] as const;

// An organization path must start with a fixed organization and root, so that it
// can never reach outside that organization; wildcards only at its end.
const ORGANIZATION_PATH_PATTERN =
  "^o-[a-z0-9]{10,32}/r-[0-9a-z]{4,32}/(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}/)*\\*?$";
const NAME_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

const uniqueList = (item: z.ZodString, max: number, what: string) =>
  z
    .array(item)
    .max(max, { error: `at most ${String(max)} ${what}s in one grant` })
    .meta({ "x-kubernetes-list-type": "set" })
    .superRefine((values, ctx) => {
      const seen = new Set<string>();
      values.forEach((value, index) => {
        if (seen.has(value)) {
          ctx.addIssue({ code: "custom", path: [index], message: `duplicate ${what} ${value}` });
        }
        seen.add(value);
      });
    });

export const grantPrincipalsSchema = z
  .object({
    accounts: uniqueList(
      z.string().regex(new RegExp(ACCOUNT_PATTERN), { error: "must be a 12-digit account ID" }),
      GRANT_LIMITS.accounts,
      "account",
    )
      .optional()
      .describe("AWS account IDs allowed to subscribe to the destination."),
    organizationIds: uniqueList(
      z.string().regex(new RegExp(ORGANIZATION_PATTERN), {
        error: "must be an organization ID such as o-a1b2c3d4e5",
      }),
      GRANT_LIMITS.organizationIds,
      "organization",
    )
      .optional()
      .describe("AWS Organizations whose accounts may subscribe (aws:PrincipalOrgID)."),
    organizationPaths: uniqueList(
      z.string().max(512).regex(new RegExp(ORGANIZATION_PATH_PATTERN), {
        error:
          "must be an organization path that starts with a fixed organization and root, such as o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/",
      }),
      GRANT_LIMITS.organizationPaths,
      "organization path",
    )
      .optional()
      .describe(
        "Organization paths whose accounts may subscribe (aws:PrincipalOrgPaths); each starts with a fixed organization and root, and may end in *.",
      ),
  })
  .meta(
    celRules([
      {
        rule: "(has(self.accounts) ? size(self.accounts) : 0) + (has(self.organizationIds) ? size(self.organizationIds) : 0) + (has(self.organizationPaths) ? size(self.organizationPaths) : 0) > 0",
        message: "name at least one account, organization ID or organization path",
        reason: "FieldValueRequired",
      },
    ]),
  )
  .superRefine((principals, ctx) => {
    const count =
      (principals.accounts?.length ?? 0) +
      (principals.organizationIds?.length ?? 0) +
      (principals.organizationPaths?.length ?? 0);
    if (count === 0) {
      ctx.addIssue({
        code: "custom",
        path: [],
        message: "name at least one account, organization ID or organization path",
      });
    }
  });

export const grantSpecSchema = z
  .object({
    policyRef: z
      .object({
        namespace: z
          .string()
          .min(1)
          .max(63)
          .regex(new RegExp(NAME_PATTERN), { error: "must be a namespace name" })
          .optional()
          .describe("Namespace of the LogDestinationPolicy. Defaults to the grant's own."),
        name: z
          .string()
          .min(1)
          .max(253)
          .regex(new RegExp(NAME_PATTERN), { error: "must be an object name" })
          .describe("Name of the LogDestinationPolicy that accepts grants."),
      })
      .describe("The LogDestinationPolicy whose destination the principals are granted."),
    principals: grantPrincipalsSchema.describe(
      "Who may subscribe to the destination; at least one entry in all.",
    ),
  })
  .describe("Principals one team adds to a destination policy that accepts grants.");

export type GrantSpec = z.output<typeof grantSpecSchema>;

/** On LogDestinationPolicy: whose grants the policy accepts, and what they may do. */
export const policyGrantsSchema = z
  .object({
    from: z
      .object({
        namespaceSelector: labelSelectorSchema.describe(
          "Namespaces whose LogDestinationGrants are accepted, by their labels; {} selects every namespace.",
        ),
      })
      .describe("Which namespaces may grant principals to this policy's destination."),
    actions: z
      .array(z.enum(GRANT_ACTIONS))
      .min(1)
      .max(GRANT_ACTIONS.length)
      .meta({ "x-kubernetes-list-type": "set" })
      .default([...DEFAULT_GRANT_ACTIONS])
      .describe("What granted principals may do on the destination."),
  })
  .describe(
    "Accept LogDestinationGrants: their principals are merged into the destination's policy after the owner's own statements.",
  );

export type PolicyGrants = z.output<typeof policyGrantsSchema>;

const principalsStatus = z.object({
  accounts: z.array(z.string()).optional(),
  organizationIds: z.array(z.string()).optional(),
  organizationPaths: z.array(z.string()).optional(),
});

export const grantStatusSchema = z
  .object({
    ...conditionFields("Ready, and Reconciling or Stalled while they are True (kstatus)."),
    destinationArn: z
      .string()
      .optional()
      .describe("The destination the principals are granted on."),
    policyHash: z
      .string()
      .optional()
      .describe(
        "sha256 of the merged policy this grant's current principals went out with; another grant's change does not rewrite it.",
      ),
    bytes: z
      .int()
      .min(0)
      .optional()
      .describe("Bytes this grant's principals take in the merged policy."),
    applied: principalsStatus
      .extend({ policyUid: z.string().optional() })
      .optional()
      .describe(
        "The principals AWS holds for this grant, and the uid of the policy they went through; written only after the put landed.",
      ),
  })
  .describe("Observed state, written only by the controller.");

export type GrantStatus = z.output<typeof grantStatusSchema>;

export interface LogDestinationGrant {
  apiVersion?: string;
  kind?: string;
  metadata: z.output<typeof metadataSchema>;
  spec?: unknown;
  status?: GrantStatus;
}
