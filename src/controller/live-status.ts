// The live state `kubectl get` shows: where the policy goes, and whom and how
// big the applied one is. The controller only writes these fields and never reads them
// back for a decision, so a status edited by someone else misleads no reconcile.
import type { LogDestinationPolicyStatus } from "../api/v1alpha1.ts";
import { destinationArn } from "../aws/identity.ts";
import { grantees, utf8ByteLength } from "../policy/index.ts";
import type { ReconcileContext } from "./context.ts";
import { accountOfArn } from "../util/arn.ts";

type LiveFields = Pick<
  LogDestinationPolicyStatus,
  | "region"
  | "accountId"
  | "destinationArn"
  | "policySizeBytes"
  | "grantedAccounts"
  | "grantedOrganizations"
>;

const DESTINATION_ARN = /^arn:aws[a-z-]*:logs:([a-z0-9-]+):(\d{12}):destination:(.+)$/;

/** The destination ARN's account, when the ARN is the one of this region and name. */
function arnAccount(arn: string | undefined, region: string, name: string): string | undefined {
  const match = arn === undefined ? null : DESTINATION_ARN.exec(arn);
  return match?.[1] === region && match[3] === name ? match[2] : undefined;
}

/**
 * The live fields as they should be after this reconcile: a value to set, null
 * to remove one that no longer describes the target, or absent to leave alone.
 */
export function liveFields(
  ctx: ReconcileContext,
  defaultRegion: string | undefined,
): { [K in keyof LiveFields]?: LiveFields[K] | null } {
  if (!ctx.spec) return {};
  const region = ctx.desired?.region ?? ctx.spec.region ?? defaultRegion;
  const fields: { [K in keyof LiveFields]?: LiveFields[K] | null } = {};
  if (region !== undefined) fields.region = region;
  const desired = ctx.desired;
  if (!desired) return fields;
  const name = desired.destinationName;
  // Read from AWS, or else known from the identity that wrote the policy.
  const derived = ctx.account ? destinationArn(ctx.account, desired.region, name) : undefined;
  const arn = ctx.liveArn ?? derived;
  const fresh = arnAccount(arn, desired.region, name);
  const recorded = ctx.object.status?.destinationArn;
  const kept = fresh === undefined ? arnAccount(recorded, desired.region, name) : undefined;
  const roleAccount = desired.roleArn ? accountOfArn(desired.roleArn)?.accountId : undefined;
  if (fresh !== undefined) fields.destinationArn = arn;
  else if (kept === undefined && recorded !== undefined) fields.destinationArn = null;
  // A role in another account than the destination's is AWS's to refuse; until the
  // ARN is read the role's account is the best guess, and the ARN replaces it.
  const account = fresh ?? kept ?? roleAccount;
  fields.accountId = account ?? null;
  if (ctx.inSync) {
    fields.policySizeBytes = utf8ByteLength(desired.canonical);
    // The same reading of the policy as `diff` reports; empty lists are left out.
    const granted = grantees(desired.document);
    const ids = (kind: string) => granted.filter((g) => g.kind === kind).map((g) => g.id);
    const accounts = ids("account");
    const organizations = ids("organization");
    fields.grantedAccounts = accounts.length > 0 ? accounts : null;
    fields.grantedOrganizations = organizations.length > 0 ? organizations : null;
  }
  return fields;
}

/** The part of a status merge patch that changes the live fields. */
export function liveFieldsPatch(
  status: LogDestinationPolicyStatus,
  fields: ReturnType<typeof liveFields>,
): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    const current = status[key as keyof LiveFields];
    const same =
      value === null ? current === undefined : JSON.stringify(current) === JSON.stringify(value);
    if (!same) patch[key] = value;
  }
  return patch;
}
