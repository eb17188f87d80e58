// The structure of spec.accessPolicy as the CRD publishes it, for `kubectl
// explain` and for admission to refuse a wrong Effect or Version at apply time.
// IAM lets several fields be a string or a list (and Statement an object or a
// list), which a structural schema cannot say with a type; those nodes keep no
// type and preserve what the user wrote, and the controller's grammar
// (src/policy) stays the full check. Nothing the grammar accepts is refused here.
import { POLICY_VERSIONS } from "../policy/grammar.ts";
import {
  POLICY_MAX_CONDITION_KEYS,
  POLICY_MAX_FIELDS,
  POLICY_MAX_STATEMENTS,
  stringOrListBounds,
} from "./policy-bounds.ts";

type JsonSchema = Record<string, unknown>;

const stringOrList = (description: string): JsonSchema => ({
  description: `${description} A string or a list of strings.`,
  "x-kubernetes-preserve-unknown-fields": true,
  ...stringOrListBounds,
});

const principal = (description: string): JsonSchema => ({
  description: `${description} "*", or a map such as {AWS: ["111122223333"]} whose values are a string or a list.`,
  "x-kubernetes-preserve-unknown-fields": true,
  maxLength: 1, // only "*" is a string principal
  maxProperties: 4,
  properties: Object.fromEntries(
    ["AWS", "Service", "Federated", "CanonicalUser"].map((type) => [
      type,
      { "x-kubernetes-preserve-unknown-fields": true, ...stringOrListBounds },
    ]),
  ),
});

const statementFields: Record<string, JsonSchema> = {
  Sid: { type: "string", maxLength: 256, description: "Optional identifier of the statement." },
  Effect: {
    type: "string",
    enum: ["Allow", "Deny"],
    description: "Whether the statement allows or denies the actions.",
  },
  Principal: principal("Who the statement applies to."),
  NotPrincipal: principal("Who the statement does not apply to (instead of Principal)."),
  Action: stringOrList("Actions, such as logs:PutSubscriptionFilter."),
  NotAction: stringOrList("Actions the statement does not cover (instead of Action)."),
  Resource: stringOrList("Resources: the destination's ARN, or *."),
  NotResource: stringOrList("Resources the statement does not cover (instead of Resource)."),
  Condition: {
    type: "object",
    description:
      "Conditions: operator (such as StringEquals) to condition key (such as aws:PrincipalOrgID) to a value or a list of values.",
    maxProperties: POLICY_MAX_CONDITION_KEYS,
    additionalProperties: {
      type: "object",
      maxProperties: POLICY_MAX_CONDITION_KEYS,
      additionalProperties: { "x-kubernetes-preserve-unknown-fields": true, ...stringOrListBounds },
    },
  },
};

export const accessPolicyStructure: JsonSchema = {
  "x-kubernetes-preserve-unknown-fields": true,
  maxProperties: POLICY_MAX_FIELDS,
  properties: {
    Version: {
      type: "string",
      enum: [...POLICY_VERSIONS],
      description: 'The policy language version; use "2012-10-17".',
    },
    Id: { type: "string", maxLength: 256, description: "Optional identifier of the policy." },
    Statement: {
      description: "One statement, or a list of them.",
      "x-kubernetes-preserve-unknown-fields": true,
      // Both shapes: an object is checked against properties, each list item against items.
      maxItems: POLICY_MAX_STATEMENTS,
      maxProperties: POLICY_MAX_FIELDS,
      properties: statementFields,
      items: {
        type: "object",
        description: "One statement.",
        "x-kubernetes-preserve-unknown-fields": true,
        maxProperties: POLICY_MAX_FIELDS,
        properties: statementFields,
      },
    },
  },
};
