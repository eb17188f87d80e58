// One destination policy built from many contributions: the owner's own
// statements, then the principals of every grant the owner accepted. The whole
// document is rebuilt from its inputs every time (as ClusterRole aggregation
// rebuilds a role), never patched, so the same inputs give the same bytes
// whatever order events arrived in.
//
// Room is the scarce thing: PutDestinationPolicy takes at most 5,120 bytes. The
// rule that keeps one tenant from hurting another is that nothing AWS already
// holds for a grant is ever pushed out by a change to something else. So every
// grant's applied principals are reserved first; only then are the changes
// admitted, one grant at a time in a fixed order (oldest first), each only if the
// document still fits with it. A grant that does not fit keeps what it had.
import { canonicalJson, statementList } from "./canonical.ts";
import { utf8ByteLength } from "./access-policy.ts";
import type { PolicyDocument, PolicyStatement } from "./types.ts";
import { MAX_POLICY_BYTES } from "../util/limits.ts";

export interface GrantPrincipals {
  accounts: readonly string[];
  organizationIds: readonly string[];
  organizationPaths: readonly string[];
}

export interface GrantContribution {
  namespace: string;
  name: string;
  /** creationTimestamp in ms: with namespace and name, the order grants are admitted in. */
  createdAt: number;
  desired: GrantPrincipals;
  /** What AWS holds for this grant, as last proven; undefined when it was never applied. */
  applied?: GrantPrincipals | undefined;
}

export interface MergeInput {
  /** The destination's ARN: the Resource of every merged statement. */
  resource: string;
  /** What a grant's principals may do (logs:PutSubscriptionFilter by default). */
  actions: readonly string[];
  /** The owner's own document; undefined when the owner writes no statements of its own. */
  owner?: PolicyDocument | undefined;
  /** The owner's statements as AWS holds them, kept when the owner's new ones would evict a grant. */
  ownerApplied?: PolicyDocument | undefined;
  grants: readonly GrantContribution[];
  /** The owner's forceUpdate: needed to switch a destination from accounts to organizations. */
  forceUpdate: boolean;
  limitBytes?: number;
}

export type GrantVerdict =
  | { state: "Admitted"; principals: GrantPrincipals; bytes: number }
  | {
      state: "Waiting";
      reason: "PolicySizeExceeded";
      /** Bytes the grant's new principals would add, and bytes the document has left. */
      neededBytes: number;
      leftBytes: number;
      /** The principals AWS keeps holding for it meanwhile (none for a new grant). */
      kept: GrantPrincipals;
      bytes: number;
    }
  | { state: "Waiting"; reason: "ForceUpdateRequired"; kept: GrantPrincipals; bytes: number };

export interface MergeResult {
  document: PolicyDocument;
  /** The exact text to send. */
  canonical: string;
  bytes: number;
  limitBytes: number;
  /** Set when the owner's new statements would leave no room for what grants hold: the old ones are kept. */
  ownerRefused?: { neededBytes: number; leftBytes: number };
  /** By grant, as `namespace/name`. */
  verdicts: Map<string, GrantVerdict>;
}

export const NO_PRINCIPALS: GrantPrincipals = {
  accounts: [],
  organizationIds: [],
  organizationPaths: [],
};

export const GRANT_STATEMENT_IDS = {
  accounts: "GrantedAccounts",
  organizationIds: "GrantedOrganizations",
  organizationPaths: "GrantedOrganizationPaths",
} as const;

export const grantKey = (grant: { namespace: string; name: string }): string =>
  `${grant.namespace}/${grant.name}`;

/** Oldest first; namespace and name break ties, so the order never depends on arrival. */
export function admissionOrder(a: GrantContribution, b: GrantContribution): number {
  if (a.createdAt !== b.createdAt) return a.createdAt - b.createdAt;
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

type Field = keyof GrantPrincipals;
const FIELDS: readonly Field[] = ["accounts", "organizationIds", "organizationPaths"];

/** A multiset of principals, so that one grant can leave while another still names the same account. */
class Tally {
  readonly #counts: Record<Field, Map<string, number>> = {
    accounts: new Map(),
    organizationIds: new Map(),
    organizationPaths: new Map(),
  };

  add(principals: GrantPrincipals, by = 1): void {
    for (const field of FIELDS) {
      const counts = this.#counts[field];
      for (const value of new Set(principals[field])) {
        const next = (counts.get(value) ?? 0) + by;
        if (next <= 0) counts.delete(value);
        else counts.set(value, next);
      }
    }
  }

  values(field: Field): string[] {
    return [...this.#counts[field].keys()].sort();
  }

  has(field: Field, value: string): boolean {
    return this.#counts[field].has(value);
  }
}

function grantStatements(tally: Tally, input: MergeInput): PolicyStatement[] {
  const actions = [...new Set(input.actions)].sort();
  const base = {
    Effect: "Allow" as const,
    Action: actions.length === 1 ? (actions[0] ?? "") : actions,
    Resource: input.resource,
  };
  const out: PolicyStatement[] = [];
  const accounts = tally.values("accounts");
  if (accounts.length > 0) {
    out.push({ Sid: GRANT_STATEMENT_IDS.accounts, ...base, Principal: { AWS: accounts } });
  }
  const orgs = tally.values("organizationIds");
  if (orgs.length > 0) {
    out.push({
      Sid: GRANT_STATEMENT_IDS.organizationIds,
      ...base,
      Principal: "*",
      Condition: { StringEquals: { "aws:PrincipalOrgID": orgs } },
    });
  }
  const paths = tally.values("organizationPaths");
  if (paths.length > 0) {
    out.push({
      Sid: GRANT_STATEMENT_IDS.organizationPaths,
      ...base,
      Principal: "*",
      Condition: { "ForAnyValue:StringLike": { "aws:PrincipalOrgPaths": paths } },
    });
  }
  return out;
}

/**
 * The statements of one grant alone, as they appear in a merged policy: what a
 * binding is checked against, so a grant is judged on exactly what it adds.
 */
export function grantDocument(
  principals: GrantPrincipals,
  resource: string,
  actions: readonly string[],
): PolicyDocument {
  const tally = new Tally();
  tally.add(principals);
  return {
    Version: "2012-10-17",
    Statement: grantStatements(tally, { resource, actions, grants: [], forceUpdate: false }),
  };
}

function documentOf(owner: PolicyDocument | undefined, tally: Tally, input: MergeInput) {
  const document: PolicyDocument = {
    Version: owner?.Version ?? "2012-10-17",
    ...(owner?.Id === undefined ? {} : { Id: owner.Id }),
    Statement: [...(owner ? statementList(owner) : []), ...grantStatements(tally, input)],
  };
  const canonical = canonicalJson(document);
  return { document, canonical, bytes: utf8ByteLength(canonical) };
}

const hasOrganizations = (p: GrantPrincipals) =>
  p.organizationIds.length > 0 || p.organizationPaths.length > 0;

/**
 * Whether admitting `desired` switches the destination from account IDs to an
 * organization: the case PutDestinationPolicy wants forceUpdate for.
 */
function needsForceUpdate(reserved: Tally, desired: GrantPrincipals, owner: OwnerGrants): boolean {
  const accountsOnly =
    (reserved.values("accounts").length > 0 || owner.accounts) &&
    !owner.organizations &&
    reserved.values("organizationIds").length === 0 &&
    reserved.values("organizationPaths").length === 0;
  if (!accountsOnly || !hasOrganizations(desired)) return false;
  return (
    desired.organizationIds.some((id) => !reserved.has("organizationIds", id)) ||
    desired.organizationPaths.some((path) => !reserved.has("organizationPaths", path))
  );
}

interface OwnerGrants {
  accounts: boolean;
  organizations: boolean;
}

const ORGANIZATION_KEYS = /aws:PrincipalOrg(ID|Paths)/i;

/** Whether the owner's statements AWS holds allow accounts by ID, or organizations by condition. */
function ownerGrants(owner: PolicyDocument | undefined): OwnerGrants {
  const out = { accounts: false, organizations: false };
  for (const statement of owner ? statementList(owner) : []) {
    if (statement.Effect !== "Allow") continue;
    if (ORGANIZATION_KEYS.test(JSON.stringify(statement.Condition ?? {}))) out.organizations = true;
    else if (typeof statement.Principal === "object" && statement.Principal.AWS !== undefined)
      out.accounts = true;
  }
  return out;
}

export function mergeGrants(input: MergeInput): MergeResult {
  const limitBytes = input.limitBytes ?? MAX_POLICY_BYTES;
  const grants = [...input.grants].sort(admissionOrder);
  // What AWS holds for grants is reserved before anything changes.
  const tally = new Tally();
  for (const grant of grants) if (grant.applied) tally.add(grant.applied);

  let owner = input.owner;
  let ownerRefused: MergeResult["ownerRefused"];
  const withNewOwner = documentOf(owner, tally, input);
  if (withNewOwner.bytes > limitBytes) {
    // The owner's change would push out what grants hold: it waits, like a grant that does not fit.
    const kept = documentOf(input.ownerApplied, tally, input);
    ownerRefused = {
      neededBytes: withNewOwner.bytes - kept.bytes,
      leftBytes: Math.max(0, limitBytes - kept.bytes),
    };
    owner = input.ownerApplied;
  }

  // Whether the destination grants by account only is judged on what AWS holds, so
  // the verdict does not depend on which other grants happen to be admitted first.
  const reserved = new Tally();
  for (const grant of grants) if (grant.applied) reserved.add(grant.applied);
  const held = ownerGrants(input.ownerApplied);

  const verdicts = new Map<string, GrantVerdict>();
  let current = documentOf(owner, tally, input);
  for (const grant of grants) {
    const applied = grant.applied ?? NO_PRINCIPALS;
    if (!input.forceUpdate && needsForceUpdate(reserved, grant.desired, held)) {
      verdicts.set(grantKey(grant), {
        state: "Waiting",
        reason: "ForceUpdateRequired",
        kept: applied,
        bytes: principalBytes(applied),
      });
      continue;
    }
    tally.add(applied, -1);
    tally.add(grant.desired);
    const next = documentOf(owner, tally, input);
    if (next.bytes <= limitBytes) {
      current = next;
      verdicts.set(grantKey(grant), {
        state: "Admitted",
        principals: grant.desired,
        bytes: principalBytes(grant.desired),
      });
      continue;
    }
    tally.add(grant.desired, -1);
    tally.add(applied);
    verdicts.set(grantKey(grant), {
      state: "Waiting",
      reason: "PolicySizeExceeded",
      neededBytes: next.bytes - current.bytes,
      leftBytes: Math.max(0, limitBytes - current.bytes),
      kept: applied,
      bytes: principalBytes(applied),
    });
  }
  return { ...current, limitBytes, verdicts, ...(ownerRefused ? { ownerRefused } : {}) };
}

/**
 * The bytes a grant's principals take in the merged lists: each value as JSON and
 * its separator. A value two grants share counts for both, so the figure does not
 * depend on which other grants are there.
 */
export function principalBytes(principals: GrantPrincipals): number {
  let bytes = 0;
  for (const field of FIELDS) {
    for (const value of new Set(principals[field]))
      bytes += utf8ByteLength(JSON.stringify(value)) + 1;
  }
  return bytes;
}
