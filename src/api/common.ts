// Pieces every kind of this API group shares: CEL rules in schema metadata, the
// conditions and metadata every object carries, and the destination name and
// region bounds. A module of its own so that each kind imports it rather than
// another kind (the policy kind embeds the grant kind's schema).
import { z } from "zod";

/** Limits published by CloudWatch Logs for PutDestinationPolicy. */
export const DESTINATION_NAME_MAX = 512;

// us-east-1, us-gov-west-1, ap-southeast-5, us-isob-east-1: two letters, one to three words, a number.
export const REGION_PATTERN = "^[a-z]{2}(-[a-z]{1,12}){1,3}-[0-9]{1,2}$";
export const REGION_MAX = 32;

// CEL rules travel in the schema's metadata so that the CRD generator can emit them
// as x-kubernetes-validations next to the structural schema.
export interface CelRule {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?:
    "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
}
export const celRules = (rules: CelRule[]) => ({ "x-kubernetes-validations": rules });

export const conditionSchema = z.object({
  type: z.string().min(1).max(316),
  status: z.enum(["True", "False", "Unknown"]),
  observedGeneration: z.int().min(0).optional(),
  lastTransitionTime: z.iso.datetime(),
  reason: z.string().min(1).max(1024),
  message: z.string().max(32768),
});
export type Condition = z.output<typeof conditionSchema>;

/** What every status of this group starts with: the generation seen, and conditions by type. */
export const conditionFields = (conditions: string) => ({
  observedGeneration: z
    .int()
    .min(0)
    .optional()
    .describe("The metadata.generation that the conditions describe."),
  conditions: z
    .array(conditionSchema)
    .optional()
    .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] })
    .describe(conditions),
});

export const metadataSchema = z.looseObject({
  name: z.string().min(1),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.int().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: z.union([z.string(), z.date()]).optional(),
  deletionTimestamp: z.union([z.string(), z.date()]).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
  labels: z.record(z.string(), z.string()).optional(),
});
