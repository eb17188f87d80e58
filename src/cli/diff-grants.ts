// Who each grant lets in or out, for `diff` on a policy that accepts grants:
// every account, organization and organization path the merged document gains
// over the live one is attributed to the admitted grants (and the owner's own
// statements) that name it; every one it loses, to the grants that name it but
// would not be admitted, or to nobody ("no grant or owner statement names it").
// Pure: the merged document and the verdicts come from validate-shared.ts.
import { z } from "zod";
import { statementList } from "../policy/canonical.ts";
import { GRANTEE_KINDS, grantees, type Grantee } from "../policy/index.ts";
import { principalsOf } from "../tenancy/grant-verdicts.ts";
import { grantOutcomeJson, grantOutcomeSchema } from "./validate-shared-render.ts";
import type { GrantOutcome, SharedPolicy } from "./validate-shared.ts";

/** Who stands for the owner's own statements in `by`. */
export const OWNER = "owner";

const attributed = z.object({
  kind: z.enum(GRANTEE_KINDS),
  id: z.string(),
  by: z
    .array(z.string())
    .describe(
      `Gained: the admitted grants ("namespace/name") and "${OWNER}" (the policy's own statements) that name it. Lost: the grants that name it but would not be admitted; empty when no grant or owner statement names it.`,
    ),
});

export const diffGrantsSchema = z
  .object({
    bytes: z.int().min(0).describe("Bytes of the merged policy: owner's statements and grants."),
    gained: z.array(attributed),
    lost: z.array(attributed),
    grants: z.array(grantOutcomeSchema).describe("Each grant among the inputs, and its verdict."),
  })
  .describe(
    "Set for a policy that accepts grants: the live policy is compared with the merged one, and each change is attributed.",
  );

export type DiffGrants = z.output<typeof diffGrantsSchema>;
type Attributed = z.output<typeof attributed>;

/** Whether the grant's spec names this account, organization or path. */
function names(outcome: GrantOutcome, grantee: Grantee): boolean {
  const spec = outcome.grant.spec;
  if (spec === undefined) return false;
  const principals = principalsOf(spec.principals);
  switch (grantee.kind) {
    case "account":
      return principals.accounts.includes(grantee.id);
    case "organization":
      return principals.organizationIds.includes(grantee.id);
    case "organization-path":
      return principals.organizationPaths.includes(grantee.id);
    default:
      return false;
  }
}

const keyOf = (outcome: GrantOutcome) => `${outcome.grant.namespace}/${outcome.grant.name}`;
const same = (a: Grantee) => (b: Grantee) => a.kind === b.kind && a.id === b.id;

export function attributeGrants(
  shared: SharedPolicy,
  access: { gained: readonly Grantee[]; lost: readonly Grantee[] },
): DiffGrants {
  const owner = shared.policy.policy.document;
  const ownerGrantees = statementList(owner).length === 0 ? [] : grantees(owner);
  const admitted = shared.grants.filter((g) => g.verdict === "admitted");
  const others = shared.grants.filter((g) => g.verdict !== "admitted");
  const gained = access.gained.map((grantee): Attributed => ({
    ...grantee,
    by: [
      ...admitted.filter((g) => names(g, grantee)).map(keyOf),
      ...(ownerGrantees.some(same(grantee)) ? [OWNER] : []),
    ],
  }));
  const lost = access.lost.map((grantee): Attributed => ({
    ...grantee,
    by: others.filter((g) => names(g, grantee)).map(keyOf),
  }));
  return { bytes: shared.bytes, gained, lost, grants: shared.grants.map(grantOutcomeJson) };
}
