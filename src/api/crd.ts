// Builds the CustomResourceDefinition from the zod schema, so the API server and
// the controller enforce the same structural rules. Pure: scripts/generate.ts
// writes the result to crds/.
import { z } from "zod";
import { bindingSpecSchema, bindingStatusSchema } from "./binding.ts";
import {
  API_VERSION,
  CATEGORIES,
  BINDING_CRD_NAME,
  BINDING_KIND,
  BINDING_PLURAL,
  BINDING_SHORT_NAMES,
  BINDING_SINGULAR,
  CRD_NAME,
  GRANT_CRD_NAME,
  GRANT_KIND,
  GRANT_PLURAL,
  GRANT_SHORT_NAMES,
  GRANT_SINGULAR,
  GROUP,
  KIND,
  PLURAL,
  SHORT_NAMES,
  SINGULAR,
  VERSION,
} from "./names.ts";
import { grantSpecSchema, grantStatusSchema } from "./grant.ts";
import { specSchema, statusSchema } from "./v1alpha1.ts";
import { isRecord } from "../util/record.ts";

type JsonSchema = Record<string, unknown>;

// Keywords that a Kubernetes structural schema accepts; anything else that zod
// emits (such as $schema) is dropped rather than rejected by the API server.
const KEPT = new Set([
  "type",
  "format",
  "description",
  "properties",
  "required",
  "items",
  "enum",
  "default",
  "minimum",
  "maximum",
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
  "maxProperties",
  "pattern",
  "nullable",
  "x-kubernetes-validations",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-preserve-unknown-fields",
]);

const JS_SAFE_INTEGER_MAX = Number.MAX_SAFE_INTEGER;

function toStructural(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (!KEPT.has(key)) continue;
    out[key] = value;
  }
  // A map whose values have a schema (the policy's Condition); zod's records
  // emit an empty one, which is not structural and is dropped.
  const values = isRecord(schema.additionalProperties) ? schema.additionalProperties : undefined;
  if (values?.type !== undefined || values?.["x-kubernetes-preserve-unknown-fields"] === true) {
    out.additionalProperties = toStructural(values);
  } else if (schema.type === "object" && schema.properties === undefined) {
    // A free-form object (z.record of unknown) keeps whatever the user wrote.
    out["x-kubernetes-preserve-unknown-fields"] = true;
  }
  // Kubernetes checks date-time itself; zod's regex would only duplicate it.
  if (schema.format === "date-time") delete out.pattern;
  if (schema.type === "integer") {
    out.format = "int64";
    if (out.maximum === JS_SAFE_INTEGER_MAX) delete out.maximum;
  }
  if (isRecord(schema.properties)) {
    out.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([name, child]) => [
        name,
        toStructural(asSchema(child)),
      ]),
    );
  }
  if (isRecord(schema.items)) out.items = toStructural(schema.items);
  return out;
}

function asSchema(value: unknown): JsonSchema {
  if (!isRecord(value)) throw new Error("unexpected non-object JSON schema");
  return value;
}

function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  return toStructural(
    asSchema(
      z.toJSONSchema(schema, { target: "openapi-3.0", io: "input", unrepresentable: "any" }),
    ),
  );
}

const condition = (type: string, field: "status" | "reason" | "message") =>
  `.status.conditions[?(@.type=="${type}")].${field}`;

interface CrdParts {
  name: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories?: string[];
  scope: "Namespaced" | "Cluster";
  printerColumns: JsonSchema[];
  description: string;
  status: JsonSchema;
  spec: z.ZodType;
}

/** A CRD of one served and stored version, with a status subresource. */
function crdOf(parts: CrdParts): JsonSchema {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: parts.name },
    spec: {
      group: GROUP,
      names: {
        kind: parts.kind,
        listKind: `${parts.kind}List`,
        plural: parts.plural,
        singular: parts.singular,
        shortNames: parts.shortNames,
        ...(parts.categories ? { categories: parts.categories } : {}),
      },
      scope: parts.scope,
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: parts.printerColumns,
          schema: {
            openAPIV3Schema: {
              description: parts.description,
              type: "object",
              required: ["spec"],
              properties: {
                apiVersion: { type: "string" },
                kind: { type: "string" },
                metadata: { type: "object" },
                spec: jsonSchemaOf(parts.spec),
                status: parts.status,
              },
            },
          },
        },
      ],
    },
  };
}

export function buildCrd(): JsonSchema {
  return crdOf({
    name: CRD_NAME,
    kind: KIND,
    plural: PLURAL,
    singular: SINGULAR,
    shortNames: SHORT_NAMES,
    categories: CATEGORIES,
    scope: "Namespaced",
    printerColumns: [
      { name: "Destination", type: "string", jsonPath: ".spec.destinationName" },
      // The effective region: spec.region, or the controller's default.
      { name: "Region", type: "string", jsonPath: ".status.region" },
      { name: "Mode", type: "string", jsonPath: ".spec.mode" },
      { name: "Ready", type: "string", jsonPath: condition("Ready", "status") },
      { name: "Reason", type: "string", jsonPath: condition("Ready", "reason") },
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
      // -o wide
      { name: "Account", type: "string", jsonPath: ".status.accountId", priority: 1 },
      { name: "Bytes", type: "integer", jsonPath: ".status.policySizeBytes", priority: 1 },
      { name: "Message", type: "string", jsonPath: condition("Ready", "message"), priority: 1 },
    ],
    description: `${KIND} manages the access policy of a CloudWatch Logs destination (${API_VERSION}).`,
    spec: specSchema,
    // A new object reads as not yet observed (kstatus InProgress, Argo CD
    // Progressing) until the controller writes its first status, instead
    // of as Current the moment it is created.
    status: { ...jsonSchemaOf(statusSchema), default: { observedGeneration: 0 } },
  });
}

/** The CRD of the cluster-scoped LogDestinationPolicyBinding kind. */
export function buildBindingCrd(): JsonSchema {
  return crdOf({
    name: BINDING_CRD_NAME,
    kind: BINDING_KIND,
    plural: BINDING_PLURAL,
    singular: BINDING_SINGULAR,
    shortNames: BINDING_SHORT_NAMES,
    scope: "Cluster",
    printerColumns: [
      { name: "Destinations", type: "string", jsonPath: ".spec.destinations" },
      { name: "Regions", type: "string", jsonPath: ".spec.regions" },
      { name: "Public", type: "boolean", jsonPath: ".spec.allowPublicAccess" },
      { name: "Ready", type: "string", jsonPath: condition("Ready", "status") },
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
    ],
    description: `${BINDING_KIND} lets the namespaces it selects manage the destinations, regions, roles and principals it lists (${API_VERSION}). Cluster-scoped: only cluster administrators write it.`,
    spec: bindingSpecSchema,
    status: jsonSchemaOf(bindingStatusSchema),
  });
}

/** The CRD of the namespaced LogDestinationGrant kind. */
export function buildGrantCrd(): JsonSchema {
  return crdOf({
    name: GRANT_CRD_NAME,
    kind: GRANT_KIND,
    plural: GRANT_PLURAL,
    singular: GRANT_SINGULAR,
    shortNames: GRANT_SHORT_NAMES,
    categories: CATEGORIES,
    scope: "Namespaced",
    printerColumns: [
      { name: "Policy", type: "string", jsonPath: ".spec.policyRef.name" },
      { name: "Accounts", type: "string", jsonPath: ".spec.principals.accounts" },
      { name: "Ready", type: "string", jsonPath: condition("Ready", "status") },
      { name: "Reason", type: "string", jsonPath: condition("Ready", "reason") },
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
      // -o wide
      { name: "Bytes", type: "integer", jsonPath: ".status.bytes", priority: 1 },
      { name: "Message", type: "string", jsonPath: condition("Ready", "message"), priority: 1 },
    ],
    description: `${GRANT_KIND} adds one team's sender accounts and organizations to a ${KIND} that accepts grants (${API_VERSION}).`,
    spec: grantSpecSchema,
    status: { ...jsonSchemaOf(grantStatusSchema), default: { observedGeneration: 0 } },
  });
}
