// What `diff` finds, as data: the schema of `diff -o json` (the single source of
// docs/diff-output.schema.json, written by `npm run generate`) and the pure
// comparison of one manifest with the live policy of its destination.
import { z } from "zod";
import { MAX_POLICY_BYTES } from "../util/limits.ts";
import {
  accessChange,
  DEFAULT_POLICY_VERSION,
  findPublicStatements,
  GRANTEE_KINDS,
  parseLivePolicy,
  summarizePolicyDiff,
  switchesToOrganization,
  utf8ByteLength,
  type PolicyDocumentInput,
} from "../policy/index.ts";
import type { ManifestPolicy } from "./validate-core.ts";
import { attributeGrants, diffGrantsSchema } from "./diff-grants.ts";
import type { SharedPolicy } from "./validate-shared.ts";

const grantee = z
  .object({
    kind: z.enum(GRANTEE_KINDS),
    id: z
      .string()
      .describe(
        "Account ID, organization ID, organization path, principal ARN or service name; * for everyone.",
      ),
  })
  .describe("Someone an Allow statement lets in.");

const location = {
  file: z.string().describe('The file as it was named on the command line, or "<stdin>".'),
  line: z.int().min(1).describe("1-based line in that file."),
};

const destinationDiffSchema = z
  .object({
    ...location,
    object: z
      .object({ name: z.string(), namespace: z.string().optional() })
      .describe(
        "The LogDestinationPolicy's metadata.name and, if the manifest sets it, namespace.",
      ),
    destinationName: z.string(),
    region: z.string(),
    roleArn: z
      .string()
      .optional()
      .describe("spec.roleArn, when the destination is read through it."),
    mode: z.enum(["Enforce", "Observe"]).describe("Compared the same way in both modes."),
    suspend: z.boolean().describe("true: the controller leaves this destination alone for now."),
    livePolicy: z
      .enum(["none", "present", "unreadable"])
      .describe("none: the destination has no policy yet; unreadable: not an IAM policy."),
    access: z
      .object({
        gained: z.array(grantee).describe("Let in by the manifest, not by the live policy."),
        lost: z.array(grantee).describe("Let in by the live policy, no longer by the manifest."),
      })
      .describe("Read from Allow statements; Deny statements show as statement changes."),
    statements: z
      .object({
        added: z.array(z.string()),
        removed: z.array(z.string()),
        changed: z.array(z.string()),
      })
      .describe(
        '"Sid <sid>" for a statement with a unique Sid, else "Statement[<index>]" in its own policy.',
      ),
    otherChanges: z
      .array(z.string())
      .describe("Changes outside the statements, such as the policy's Version or Id."),
    size: z
      .object({
        before: z.int().min(0).describe("Bytes of the live policy as stored; 0 without one."),
        after: z.int().min(0).describe("Bytes of the policy the controller would send."),
        limit: z.literal(MAX_POLICY_BYTES),
      })
      .describe("UTF-8 bytes against PutDestinationPolicy's limit."),
    guardrail: z
      .object({
        verdict: z
          .enum(["not-public", "allowed", "refused"])
          .describe(
            "allowed: public, but spec.allowPublicAccess lets it through; refused: the controller will not apply it.",
          ),
        publicStatements: z.array(z.string()),
        messages: z.array(z.string()).describe("Why it is refused, as validate reports it."),
      })
      .describe("The public-access guardrail's verdict on the manifest's policy."),
    forceUpdate: z
      .object({
        needed: z
          .boolean()
          .describe("The change switches from account IDs to an organization condition."),
        set: z.boolean().describe("spec.forceUpdate."),
      })
      .describe("Whether the update must affirm, with forceUpdate, that senders were updated."),
    grants: diffGrantsSchema.optional(),
  })
  .describe("One destination whose live policy differs from its manifest.");

/** The version field of every machine-readable report this command line prints. */
export const reportVersionSchema = z
  .literal(1)
  .describe("Raised when a field is removed or changes meaning; new fields may appear without it.");

const diffErrorSchema = z
  .object({
    file: location.file,
    line: location.line.optional().describe("Absent when the file itself could not be read."),
    path: z.string().describe("The field at fault, e.g. spec.destinationName; empty for a file."),
    message: z.string(),
  })
  .describe("Something that stopped a comparison: bad input, missing destination, AWS error.");

export const diffReportSchema = z
  .object({
    version: reportVersionSchema,
    summary: z.object({
      compared: z.int().min(0).describe("LogDestinationPolicies whose live policy was read."),
      changed: z.int().min(0),
      errors: z.int().min(0),
    }),
    destinations: z
      .array(destinationDiffSchema)
      .describe("Only those that change, in the order of the input; equal ones are left out."),
    errors: z.array(diffErrorSchema),
  })
  .describe("The output of `log-destination-policy-controller diff -o json`.");

export type DestinationDiff = z.output<typeof destinationDiffSchema>;
export type DiffError = z.output<typeof diffErrorSchema>;
export type DiffReport = z.output<typeof diffReportSchema>;

/**
 * How applying `manifest` would change `liveText`, the accessPolicy string that
 * DescribeDestinations returned (undefined: the destination has none).
 * Undefined when the two are semantically equal.
 */
export function compareWithLive(
  manifest: ManifestPolicy,
  region: string,
  liveText: string | undefined,
  /** For a policy that accepts grants: the merged document is what would be sent. */
  shared?: SharedPolicy,
): DestinationDiff | undefined {
  const desired = shared?.document ?? manifest.policy.document;
  const summary = summarizePolicyDiff(liveText, desired);
  if (summary.equal) return undefined;
  const live = readLive(liveText);
  const { spec } = manifest;
  const exposed = findPublicStatements(desired);
  const access = accessChange(live, desired);
  return {
    file: manifest.file,
    line: manifest.line,
    object: {
      name: manifest.name,
      ...(manifest.namespace === undefined ? {} : { namespace: manifest.namespace }),
    },
    destinationName: spec.destinationName,
    region,
    ...(spec.roleArn === undefined ? {} : { roleArn: spec.roleArn }),
    mode: spec.mode,
    suspend: spec.suspend,
    livePolicy: liveText === undefined ? "none" : live === undefined ? "unreadable" : "present",
    access,
    statements: {
      added: summary.statementsAdded,
      removed: summary.statementsRemoved,
      changed: summary.statementsChanged,
    },
    otherChanges: live === undefined ? [] : otherChanges(live, desired),
    size: {
      before: liveText === undefined ? 0 : utf8ByteLength(liveText),
      after: shared?.bytes ?? manifest.policy.bytes,
      limit: MAX_POLICY_BYTES,
    },
    guardrail: {
      verdict:
        exposed.length === 0 ? "not-public" : manifest.guardrail.length > 0 ? "refused" : "allowed",
      publicStatements: exposed.map((s) =>
        s.sid === undefined ? `Statement[${s.index}]` : `Sid ${s.sid}`,
      ),
      messages: manifest.guardrail.map((problem) => `${problem.path}: ${problem.message}`),
    },
    forceUpdate: { needed: switchesToOrganization(live, desired), set: spec.forceUpdate },
    ...(shared === undefined ? {} : { grants: attributeGrants(shared, access) }),
  };
}

function readLive(text: string | undefined): PolicyDocumentInput | undefined {
  if (text === undefined) return undefined;
  try {
    return parseLivePolicy(JSON.parse(text));
  } catch {
    return undefined;
  }
}

function otherChanges(live: PolicyDocumentInput, desired: PolicyDocumentInput): string[] {
  const changes: string[] = [];
  const [from, to] = [live.Version ?? DEFAULT_POLICY_VERSION, desired.Version];
  if (from !== to) changes.push(`Version ${from} → ${to ?? DEFAULT_POLICY_VERSION}`);
  if (live.Id !== desired.Id) {
    const show = (id: string | undefined) => (id === undefined ? "none" : JSON.stringify(id));
    changes.push(`Id ${show(live.Id)} → ${show(desired.Id)}`);
  }
  return changes;
}
