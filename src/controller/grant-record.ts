// What the policy's own record says AWS holds for each grant. The last-applied
// annotation of a policy that accepts grants keeps, next to the merged document,
// the principals each grant contributed and the grant's uid. It is read only
// from a record that record.ts has proven (this controller wrote it for this
// policy), so neither a grant's owner nor anyone who can edit the policy's
// annotations can make the controller believe a grant holds room it does not.
// A grant's own status is never read back: its namespace's users cannot write it
// either, but the policy's record is the one place a put and its grants agree.
import type { GrantPrincipals } from "../policy/merge.ts";
import { GRANT_STATEMENT_IDS } from "../policy/merge.ts";
import { NOBODY_SID } from "../policy/ownerless.ts";
import { statementList } from "../policy/canonical.ts";
import type { PolicyDocument } from "../policy/types.ts";
import { isRecord } from "../util/record.ts";

export interface RecordedGrant {
  uid: string;
  principals: GrantPrincipals;
}

/** How a grant is kept in the record: empty lists left out, to spare the annotation. */
export type RecordedGrantJson = Record<string, unknown>;

const FIELDS = ["accounts", "organizationIds", "organizationPaths"] as const;

/** Statement ids the merge writes; an owner may not use them, or its own statements could not be told apart. */
export const MERGED_SIDS: ReadonlySet<string> = new Set([
  ...Object.values(GRANT_STATEMENT_IDS),
  NOBODY_SID,
]);

function parse(annotation: string | undefined): Record<string, unknown> | undefined {
  if (annotation === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(annotation);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function strings(value: unknown): string[] | undefined {
  if (value === undefined) return [];
  return Array.isArray(value) && value.every((v) => typeof v === "string") ? value : undefined;
}

/** The grants a record holds, by grant key; malformed entries count as absent. */
export function recordedGrants(annotation: string | undefined): Map<string, RecordedGrant> {
  const out = new Map<string, RecordedGrant>();
  const grants = parse(annotation)?.grants;
  if (!isRecord(grants)) return out;
  for (const [key, entry] of Object.entries(grants)) {
    if (!isRecord(entry) || typeof entry.uid !== "string") continue;
    const accounts = strings(entry.accounts);
    const organizationIds = strings(entry.organizationIds);
    const organizationPaths = strings(entry.organizationPaths);
    if (!accounts || !organizationIds || !organizationPaths) continue;
    out.set(key, { uid: entry.uid, principals: { accounts, organizationIds, organizationPaths } });
  }
  return out;
}

export function recordedGrantJson(grant: RecordedGrant): RecordedGrantJson {
  const out: RecordedGrantJson = { uid: grant.uid };
  for (const field of FIELDS) {
    const values = [...new Set(grant.principals[field])].sort();
    if (values.length > 0) out[field] = values;
  }
  return out;
}

export function isEmpty(principals: GrantPrincipals): boolean {
  return FIELDS.every((field) => principals[field].length === 0);
}

/** The owner's statements in a record's merged policy: what the merge wrote is left out. */
export function recordedOwnerPolicy(annotation: string | undefined): PolicyDocument | undefined {
  const policy = parse(annotation)?.policy;
  if (!isRecord(policy)) return undefined;
  const document = policy as unknown as PolicyDocument;
  let statements;
  try {
    statements = statementList(document);
  } catch {
    return undefined;
  }
  const own = statements.filter((s) => s.Sid === undefined || !MERGED_SIDS.has(s.Sid));
  return { ...document, Statement: own };
}
