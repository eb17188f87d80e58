// How `validate` (and `diff`) show a shared destination: the schema of its
// part of the JSON reports, the JSON itself, and the text block.
import { z } from "zod";
import { MAX_POLICY_BYTES } from "../util/limits.ts";
import { printable } from "../util/quote.ts";
import type { GrantOutcome, SharedPolicy } from "./validate-shared.ts";
import { PLACEHOLDER_ACCOUNT, PLACEHOLDER_REGION } from "./validate-shared.ts";

export const grantOutcomeSchema = z
  .object({
    file: z.string(),
    line: z.int().min(1).describe("Line of the grant's metadata.name."),
    name: z.string(),
    namespace: z.string(),
    verdict: z
      .enum(["admitted", "waiting", "refused"])
      .describe(
        "admitted: its principals are in the merged policy; waiting: for room or for spec.forceUpdate; refused: nothing of it is sent.",
      ),
    reason: z
      .enum([
        "Applied",
        "PolicySizeExceeded",
        "ForceUpdateRequired",
        "InvalidSpec",
        "NotAccepted",
        "NotPermitted",
      ])
      .describe("The Ready reason the controller would give the grant."),
    message: z.string(),
    bytes: z.int().min(0).optional().describe("Bytes its principals take (admitted)."),
    neededBytes: z.int().min(0).optional().describe("PolicySizeExceeded: bytes it would add."),
    leftBytes: z.int().min(0).optional().describe("PolicySizeExceeded: bytes the policy has left."),
  })
  .describe("One LogDestinationGrant, judged as the controller would judge it.");

export const sharedDestinationSchema = z
  .object({
    file: z.string(),
    line: z.int().min(1).describe("Line of the policy's metadata.name."),
    object: z.object({ name: z.string(), namespace: z.string().optional() }),
    destinationName: z.string(),
    region: z.string(),
    resource: z.string().describe("The destination's ARN, the Resource of the merged statements."),
    placeholders: z
      .array(z.enum(["account", "region"]))
      .describe(
        `What was not known offline and stood in: account ${PLACEHOLDER_ACCOUNT.accountId} (no spec.roleArn names it), region ${PLACEHOLDER_REGION} (no spec.region or --aws-region); the size is the same for any 12-digit account.`,
      ),
    size: z.object({
      bytes: z.int().min(0).describe("Bytes of the merged policy as it would be sent."),
      limit: z.literal(MAX_POLICY_BYTES),
    }),
    grants: z.array(grantOutcomeSchema),
  })
  .describe(
    "A LogDestinationPolicy that accepts grants (or is named by one), merged with the grants among the inputs; offline, grants count as created at once and none as applied yet.",
  );

export type SharedDestinationJson = z.output<typeof sharedDestinationSchema>;
export type GrantOutcomeJson = z.output<typeof grantOutcomeSchema>;

export function grantOutcomeJson(outcome: GrantOutcome): GrantOutcomeJson {
  const { grant } = outcome;
  return {
    file: grant.file,
    line: grant.line,
    name: grant.name,
    namespace: grant.namespace,
    verdict: outcome.verdict,
    reason: outcome.reason,
    message: outcome.message,
    ...(outcome.bytes === undefined ? {} : { bytes: outcome.bytes }),
    ...(outcome.neededBytes === undefined ? {} : { neededBytes: outcome.neededBytes }),
    ...(outcome.leftBytes === undefined ? {} : { leftBytes: outcome.leftBytes }),
  };
}

export function sharedJson(shared: SharedPolicy): SharedDestinationJson {
  const { policy } = shared;
  return {
    file: policy.file,
    line: policy.line,
    object: {
      name: policy.name,
      ...(policy.namespace === undefined ? {} : { namespace: policy.namespace }),
    },
    destinationName: policy.spec.destinationName,
    region: shared.region,
    resource: shared.resource,
    placeholders: [...shared.placeholders],
    size: { bytes: shared.bytes, limit: MAX_POLICY_BYTES },
    grants: shared.grants.map(grantOutcomeJson),
  };
}

/** "account 000000000000 stands in for the destination's account (no spec.roleArn)". */
export function placeholderNote(placeholders: SharedPolicy["placeholders"]): string | undefined {
  const parts: string[] = [];
  if (placeholders.includes("account")) {
    parts.push(
      `account ${PLACEHOLDER_ACCOUNT.accountId} stands in for the destination's account (no spec.roleArn names it; any 12-digit account gives the same size)`,
    );
  }
  if (placeholders.includes("region")) {
    parts.push(`region ${PLACEHOLDER_REGION} stands in (no spec.region or --aws-region)`);
  }
  return parts.length === 0 ? undefined : parts.join("; ");
}

export function grantLine(outcome: GrantOutcome): string {
  const { grant } = outcome;
  const where = `${grant.namespace}/${grant.name} (${grant.file}:${String(grant.line)})`;
  return `${outcome.verdict.padEnd(9)}${outcome.reason}: ${where}: ${outcome.message}`;
}

/** The text block for one shared destination. */
export function sharedText(shared: SharedPolicy): string {
  const { policy } = shared;
  const name = `${policy.namespace === undefined ? "" : `${policy.namespace}/`}${policy.name}`;
  const lines = [
    `${policy.file}:${String(policy.line)}: shared destination ${policy.spec.destinationName} in ${shared.region} (LogDestinationPolicy ${name}): merged policy ${String(shared.bytes)} of ${String(MAX_POLICY_BYTES)} bytes`,
  ];
  const note = placeholderNote(shared.placeholders);
  if (note !== undefined) lines.push(`    note: ${note}`);
  if (shared.grants.length === 0)
    lines.push("    no LogDestinationGrant among the inputs names it");
  for (const outcome of shared.grants) lines.push(`    ${grantLine(outcome)}`);
  // Names and namespaces come from manifests that may be a stranger's pull request: no terminal escapes.
  return lines.map(printable).join("\n");
}
