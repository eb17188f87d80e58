import assert from "node:assert/strict";
import { describe, it } from "node:test";

import fc from "fast-check";

import {
  GRANT_STATEMENT_IDS,
  grantKey,
  mergeGrants,
  NO_PRINCIPALS,
  type GrantContribution,
  type GrantPrincipals,
  type MergeInput,
  type MergeResult,
} from "../../src/policy/merge.ts";
import { statementList } from "../../src/policy/canonical.ts";
import type { PolicyDocument } from "../../src/policy/types.ts";
import { MAX_POLICY_BYTES } from "../../src/util/limits.ts";

const ARN = "arn:aws:logs:us-east-1:111122223333:destination:central-logs";
const OWNER: PolicyDocument = {
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "Platform",
      Effect: "Allow",
      Principal: { AWS: "999988887777" },
      Action: "logs:PutSubscriptionFilter",
      Resource: ARN,
    },
  ],
};

const principals = (p: Partial<GrantPrincipals>): GrantPrincipals => ({ ...NO_PRINCIPALS, ...p });
const grant = (
  name: string,
  createdAt: number,
  desired: Partial<GrantPrincipals>,
  applied?: Partial<GrantPrincipals>,
): GrantContribution => ({
  namespace: `team-${name}`,
  name,
  createdAt,
  desired: principals(desired),
  ...(applied ? { applied: principals(applied) } : {}),
});
const input = (grants: GrantContribution[], extra: Partial<MergeInput> = {}): MergeInput => ({
  resource: ARN,
  actions: ["logs:PutSubscriptionFilter"],
  owner: OWNER,
  grants,
  forceUpdate: false,
  ...extra,
});

/** The principals the merged statements hold, read back from the document. */
function granted(result: MergeResult): GrantPrincipals {
  const out = {
    accounts: [] as string[],
    organizationIds: [] as string[],
    organizationPaths: [] as string[],
  };
  for (const s of statementList(result.document)) {
    const principal = s.Principal;
    if (s.Sid === GRANT_STATEMENT_IDS.accounts && typeof principal === "object") {
      out.accounts.push(...[principal.AWS ?? []].flat());
    }
    if (s.Sid === GRANT_STATEMENT_IDS.organizationIds) {
      out.organizationIds.push(
        ...[s.Condition?.StringEquals?.["aws:PrincipalOrgID"] ?? []].flat().map(String),
      );
    }
    if (s.Sid === GRANT_STATEMENT_IDS.organizationPaths) {
      out.organizationPaths.push(
        ...[s.Condition?.["ForAnyValue:StringLike"]?.["aws:PrincipalOrgPaths"] ?? []]
          .flat()
          .map(String),
      );
    }
  }
  return out;
}

/** What each grant should have in AWS according to its verdict. */
function expected(result: MergeResult): GrantPrincipals {
  const sets = {
    accounts: new Set<string>(),
    organizationIds: new Set<string>(),
    organizationPaths: new Set<string>(),
  };
  for (const verdict of result.verdicts.values()) {
    const held = verdict.state === "Admitted" ? verdict.principals : verdict.kept;
    for (const field of ["accounts", "organizationIds", "organizationPaths"] as const) {
      for (const value of held[field]) sets[field].add(value);
    }
  }
  return {
    accounts: [...sets.accounts].sort(),
    organizationIds: [...sets.organizationIds].sort(),
    organizationPaths: [...sets.organizationPaths].sort(),
  };
}

/** The next round's inputs: what this result put in AWS becomes each grant's applied principals. */
function appliedAfter(grants: GrantContribution[], result: MergeResult): GrantContribution[] {
  return grants.map((g) => {
    const verdict = result.verdicts.get(grantKey(g));
    const held = verdict?.state === "Admitted" ? verdict.principals : verdict?.kept;
    return { ...g, applied: held };
  });
}

const account = (n: number) => String(100000000000 + n);

describe("merging grants into one destination policy", () => {
  it("puts the owner's statements first, then one statement per principal kind", () => {
    const result = mergeGrants(
      input(
        [
          grant("a", 1, { accounts: [account(2), account(1)] }),
          grant("b", 2, {
            organizationIds: ["o-a1b2c3d4e5"],
            organizationPaths: ["o-a1b2c3d4e5/r-ab12/*"],
          }),
        ],
        { forceUpdate: true },
      ),
    );
    const sids = statementList(result.document).map((s) => s.Sid);
    assert.deepEqual(sids, [
      "Platform",
      "GrantedAccounts",
      "GrantedOrganizations",
      "GrantedOrganizationPaths",
    ]);
    assert.deepEqual(granted(result).accounts, [account(1), account(2)]);
    for (const s of statementList(result.document).slice(1)) assert.equal(s.Resource, ARN);
  });

  it("lists an account named by two grants once, and keeps it while either grant remains", () => {
    const both = mergeGrants(
      input([grant("a", 1, { accounts: [account(1)] }), grant("b", 2, { accounts: [account(1)] })]),
    );
    assert.deepEqual(granted(both).accounts, [account(1)]);
    const onlyB = mergeGrants(
      input(appliedAfter([grant("b", 2, { accounts: [account(1)] })], both)),
    );
    assert.deepEqual(granted(onlyB).accounts, [account(1)]);
    const none = mergeGrants(input([]));
    assert.deepEqual(granted(none).accounts, []);
    assert.deepEqual(
      statementList(none.document).map((s) => s.Sid),
      ["Platform"],
    );
  });

  it("makes a grant that does not fit wait, naming the bytes it needs and the bytes left", () => {
    const many = Array.from({ length: 400 }, (_, i) => account(i));
    const result = mergeGrants(
      input([
        grant("big", 1, { accounts: many.slice(0, 300) }),
        grant("late", 2, { accounts: many.slice(300) }),
      ]),
    );
    assert.equal(result.verdicts.get("team-big/big")?.state, "Admitted");
    const late = result.verdicts.get("team-late/late");
    assert.ok(late?.state === "Waiting" && late.reason === "PolicySizeExceeded");
    assert.ok(late.neededBytes > late.leftBytes);
    assert.equal(late.leftBytes, MAX_POLICY_BYTES - result.bytes);
    assert.ok(result.bytes <= MAX_POLICY_BYTES);
  });

  it("admits a waiting grant once another grant's deletion frees room", () => {
    const many = Array.from({ length: 400 }, (_, i) => account(i));
    const grants = [
      grant("big", 1, { accounts: many.slice(0, 300) }),
      grant("late", 2, { accounts: many.slice(300) }),
    ];
    const first = mergeGrants(input(grants));
    const after = mergeGrants(input(appliedAfter(grants, first).slice(1)));
    assert.equal(after.verdicts.get("team-late/late")?.state, "Admitted");
  });

  it("keeps a grown grant's applied principals when its new generation does not fit", () => {
    const many = Array.from({ length: 400 }, (_, i) => account(i));
    const grants = [
      grant("a", 1, { accounts: many.slice(0, 10) }),
      grant("b", 2, { accounts: many.slice(10, 300) }),
    ];
    const first = mergeGrants(input(grants));
    const grown = appliedAfter(grants, first).map((g) =>
      g.name === "a"
        ? { ...g, desired: principals({ accounts: [...many.slice(0, 10), ...many.slice(300)] }) }
        : g,
    );
    const result = mergeGrants(input(grown));
    const a = result.verdicts.get("team-a/a");
    assert.ok(a?.state === "Waiting" && a.reason === "PolicySizeExceeded");
    assert.deepEqual(a.kept.accounts, many.slice(0, 10));
    assert.deepEqual(granted(result).accounts, many.slice(0, 300).sort());
  });

  it("refuses an owner change that would leave no room for applied grants, keeping the owner's old statements", () => {
    const many = Array.from({ length: 300 }, (_, i) => account(i));
    const grants = [grant("a", 1, { accounts: many })];
    const first = mergeGrants(input(grants));
    const bigOwner: PolicyDocument = {
      Version: "2012-10-17",
      Statement: Array.from({ length: 30 }, (_, i) => ({
        Sid: `Owner${String(i)}`,
        Effect: "Allow" as const,
        Principal: { AWS: account(1000 + i) },
        Action: "logs:PutSubscriptionFilter",
        Resource: ARN,
      })),
    };
    const result = mergeGrants(
      input(appliedAfter(grants, first), { owner: bigOwner, ownerApplied: OWNER }),
    );
    assert.ok(result.ownerRefused);
    assert.ok(result.ownerRefused.neededBytes > result.ownerRefused.leftBytes);
    assert.equal(statementList(result.document)[0]?.Sid, "Platform");
    assert.deepEqual(granted(result).accounts, [...many].sort());
  });

  it("asks for forceUpdate before a grant moves an accounts-only destination to an organization", () => {
    const grants = [grant("a", 1, { accounts: [account(1)] })];
    const first = mergeGrants(input(grants));
    const next = [
      ...appliedAfter(grants, first),
      grant("b", 2, { organizationIds: ["o-a1b2c3d4e5"] }),
    ];
    const refused = mergeGrants(input(next));
    assert.deepEqual(refused.verdicts.get("team-b/b"), {
      state: "Waiting",
      reason: "ForceUpdateRequired",
      kept: NO_PRINCIPALS,
      bytes: 0,
    });
    assert.deepEqual(granted(refused).organizationIds, []);
    const forced = mergeGrants(input(next, { forceUpdate: true }));
    assert.equal(forced.verdicts.get("team-b/b")?.state, "Admitted");
  });

  it("the owner's own account statements in AWS count as granting by account", () => {
    const org = [grant("b", 2, { organizationIds: ["o-a1b2c3d4e5"] })];
    const byAccount = mergeGrants(input(org, { ownerApplied: OWNER }));
    assert.equal(byAccount.verdicts.get("team-b/b")?.state, "Waiting");
    const orgOwner: PolicyDocument = {
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "Platform",
          Effect: "Allow",
          Principal: "*",
          Action: "logs:PutSubscriptionFilter",
          Resource: ARN,
          Condition: { StringEquals: { "aws:PrincipalOrgID": "o-zzzzzzzzzz" } },
        },
      ],
    };
    const byOrganization = mergeGrants(input(org, { owner: orgOwner, ownerApplied: orgOwner }));
    assert.equal(byOrganization.verdicts.get("team-b/b")?.state, "Admitted");
    // A destination nothing was applied to yet has nothing to switch from.
    assert.equal(mergeGrants(input(org)).verdicts.get("team-b/b")?.state, "Admitted");
  });
});

// Small pools, so that grants share principals and documents reach the size limit.
const accountPool = Array.from({ length: 420 }, (_, i) => account(i));
const orgPool = Array.from({ length: 30 }, (_, i) => `o-${String(i).padStart(10, "a")}`);
const pathPool = orgPool.map((o, i) => `${o}/r-ab${String(i).padStart(2, "0")}/*`);
const subset = (pool: string[], max: number) =>
  fc.uniqueArray(fc.constantFrom(...pool), { maxLength: max });
const desiredArb = fc.record({
  accounts: subset(accountPool, 160),
  organizationIds: subset(orgPool, 4),
  organizationPaths: subset(pathPool, 3),
});
const grantsArb = fc
  .uniqueArray(
    fc.record({
      name: fc.stringMatching(/^[a-z]{1,6}$/),
      createdAt: fc.integer({ min: 0, max: 5 }),
      desired: desiredArb,
    }),
    { selector: (g) => g.name, minLength: 0, maxLength: 12 },
  )
  .map((list) => list.map((g) => ({ namespace: `ns-${g.name.slice(0, 1)}`, ...g })));

describe("merging grants: properties", () => {
  it("gives the same bytes for any order of the same grants", () => {
    fc.assert(
      fc.property(grantsArb, fc.boolean(), (grants, forceUpdate) => {
        const a = mergeGrants(input(grants, { forceUpdate }));
        const b = mergeGrants(input([...grants].reverse(), { forceUpdate }));
        const c = mergeGrants(
          input(
            [...grants].sort((x, y) => (x.name < y.name ? 1 : -1)),
            { forceUpdate },
          ),
        );
        assert.equal(a.canonical, b.canonical);
        assert.equal(a.canonical, c.canonical);
      }),
      { numRuns: 200 },
    );
  });

  it("never exceeds the limit and holds every admitted or kept principal and no other", () => {
    fc.assert(
      fc.property(grantsArb, fc.boolean(), (grants, forceUpdate) => {
        const first = mergeGrants(input(grants, { forceUpdate }));
        const second = mergeGrants(input(appliedAfter(grants, first), { forceUpdate }));
        for (const result of [first, second]) {
          assert.ok(result.bytes <= MAX_POLICY_BYTES, `${String(result.bytes)} bytes`);
          assert.deepEqual(granted(result), expected(result));
        }
      }),
      { numRuns: 200 },
    );
  });

  it("never drops what AWS holds for a grant because another grant changed", () => {
    fc.assert(
      fc.property(grantsArb, fc.nat(), desiredArb, (grants, pick, changed) => {
        fc.pre(grants.length > 1);
        const first = mergeGrants(input(grants, { forceUpdate: true }));
        const applied = appliedAfter(grants, first);
        const index = pick % applied.length;
        const next = applied.map((g, i) => (i === index ? { ...g, desired: changed } : g));
        const result = mergeGrants(input(next, { forceUpdate: true }));
        const holds = granted(result);
        applied.forEach((g, i) => {
          if (i === index || !g.applied) return;
          for (const a of g.applied.accounts) assert.ok(holds.accounts.includes(a), `lost ${a}`);
          for (const o of g.applied.organizationIds) assert.ok(holds.organizationIds.includes(o));
          for (const p of g.applied.organizationPaths)
            assert.ok(holds.organizationPaths.includes(p));
        });
      }),
      { numRuns: 200 },
    );
  });
});
