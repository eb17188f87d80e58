// The tenancy decision at scale: random sets of bindings and random objects,
// decided by the controller's matcher and by a small reference model written
// here from the rule's text. They must agree on every pair.
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  compileBinding,
  compileGlob,
  decide,
  selecting,
  type PermissionRequest,
} from "../../src/tenancy/index.ts";
import type { PolicyDocumentInput, PolicyStatement } from "../../src/policy/index.ts";

const RUNS = 12_000;

const LABEL_KEYS = ["team", "env"] as const;
const LABEL_VALUES = ["a", "b"] as const;
const REGIONS = ["us-east-1", "eu-west-1", "ap-south-1"] as const;
const ROLES = [
  "arn:aws:iam::111111111111:role/ldp-a",
  "arn:aws:iam::222222222222:role/ldp-b",
  "arn:aws:iam::333333333333:role/ldp-c",
] as const;
const ACCOUNTS = ["111111111111", "222222222222", "333333333333", "444444444444"] as const;
const ORGS = ["o-aaaaaaaaaa", "o-bbbbbbbbbb"] as const;
const SERVICES = ["logs.amazonaws.com", "firehose.amazonaws.com"] as const;

// Exact role ARNs, matched exactly: the pattern matcher has tests of its own.
const exactRoles = (patterns: readonly string[]) => (arn: string) => patterns.includes(arn);

const labels = fc.dictionary(fc.constantFrom(...LABEL_KEYS), fc.constantFrom(...LABEL_VALUES), {
  maxKeys: 2,
});
const requirement = fc.oneof(
  fc.record({
    key: fc.constantFrom(...LABEL_KEYS),
    operator: fc.constantFrom("In" as const, "NotIn" as const),
    values: fc.uniqueArray(fc.constantFrom(...LABEL_VALUES), { minLength: 1, maxLength: 2 }),
  }),
  fc.record({
    key: fc.constantFrom(...LABEL_KEYS),
    operator: fc.constantFrom("Exists" as const, "DoesNotExist" as const),
  }),
);
const selector = fc.record(
  { matchLabels: labels, matchExpressions: fc.array(requirement, { maxLength: 1 }) },
  { requiredKeys: [] },
);
const glob = fc.stringMatching(/^[ab*]{1,5}$/);
const binding = fc.record(
  {
    namespaceSelector: selector,
    destinations: fc.array(fc.oneof(fc.constant("*"), glob, fc.stringMatching(/^[ab]{1,2}\*$/)), {
      minLength: 1,
      maxLength: 3,
    }),
    regions: fc.uniqueArray(fc.constantFrom(...REGIONS), { minLength: 1, maxLength: 2 }),
    roleArns: fc.uniqueArray(fc.constantFrom(...ROLES), { maxLength: 2 }),
    principals: fc.record(
      {
        accounts: fc.uniqueArray(fc.constantFrom(...ACCOUNTS), { maxLength: 3 }),
        organizationIds: fc.uniqueArray(fc.constantFrom(...ORGS), { maxLength: 2 }),
        services: fc.uniqueArray(fc.constantFrom(...SERVICES), { maxLength: 2 }),
      },
      { requiredKeys: [] },
    ),
    allowPublicAccess: fc.boolean(),
  },
  { requiredKeys: ["namespaceSelector", "destinations"] },
);
type BindingInput = typeof binding extends fc.Arbitrary<infer T> ? T : never;

/**
 * The principals of one Allow statement, in every shape the model knows: each
 * principal type, "*", no Principal and NotPrincipal. The "nobody" shapes carry
 * a narrowing condition on purpose: it must not make them readable.
 */
type StatementInput =
  | { kind: "accounts"; accounts: string[] }
  | { kind: "public" }
  | { kind: "org"; org: string }
  | { kind: "account-condition"; account: string }
  | { kind: "service"; service: string }
  | { kind: "nobody"; shape: NobodyShape; account: string };
type NobodyShape =
  | "no-principal"
  | "service-wildcard"
  | "federated-wildcard"
  | "federated"
  | "canonical-user"
  | "not-principal";
const NOBODY_SHAPES: readonly NobodyShape[] = [
  "no-principal",
  "service-wildcard",
  "federated-wildcard",
  "federated",
  "canonical-user",
  "not-principal",
];
const statement: fc.Arbitrary<StatementInput> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant("accounts" as const),
      accounts: fc.uniqueArray(fc.constantFrom(...ACCOUNTS), { minLength: 1, maxLength: 2 }),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ kind: fc.constant("public" as const) }), weight: 1 },
  {
    arbitrary: fc.record({ kind: fc.constant("org" as const), org: fc.constantFrom(...ORGS) }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("account-condition" as const),
      account: fc.constantFrom(...ACCOUNTS),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("service" as const),
      service: fc.constantFrom(...SERVICES),
    }),
    weight: 2,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant("nobody" as const),
      shape: fc.constantFrom(...NOBODY_SHAPES),
      account: fc.constantFrom(...ACCOUNTS),
    }),
    weight: 1,
  },
);
const object = fc.record({
  labels,
  destinationName: fc.stringMatching(/^[ab]{1,5}$/),
  region: fc.constantFrom(...REGIONS),
  roleArn: fc.option(fc.constantFrom(...ROLES, "arn:aws:iam::999999999999:role/other"), {
    nil: undefined,
    freq: 2,
  }),
  allowPublicAccess: fc.oneof(
    { arbitrary: fc.constant(false), weight: 3 },
    { arbitrary: fc.constant(true), weight: 1 },
  ),
  statements: fc.array(statement, { minLength: 1, maxLength: 2 }),
});
type ObjectInput = typeof object extends fc.Arbitrary<infer T> ? T : never;

function documentOf(statements: readonly StatementInput[]): PolicyDocumentInput {
  const base = { Effect: "Allow" as const, Action: "logs:PutSubscriptionFilter", Resource: "*" };
  return {
    Version: "2012-10-17" as const,
    Statement: statements.map((s): PolicyStatement => {
      switch (s.kind) {
        case "accounts":
          return { ...base, Principal: { AWS: s.accounts } };
        case "public":
          return { ...base, Principal: "*" as const };
        case "org":
          return {
            ...base,
            Principal: "*" as const,
            Condition: { StringEquals: { "aws:PrincipalOrgID": s.org } },
          };
        case "account-condition":
          return {
            ...base,
            Principal: "*" as const,
            Condition: { StringEquals: { "aws:PrincipalAccount": s.account } },
          };
        case "service":
          return { ...base, Principal: { Service: s.service } };
        case "nobody":
          return { ...base, ...nobody(s.shape), Condition: narrowTo(s.account) };
      }
    }),
  };
}

function narrowTo(account: string): PolicyStatement["Condition"] {
  return { StringEquals: { "aws:SourceAccount": account, "aws:PrincipalAccount": account } };
}

function nobody(shape: NobodyShape): Partial<PolicyStatement> {
  switch (shape) {
    case "no-principal":
      return {};
    case "service-wildcard":
      return { Principal: { Service: "*" } };
    case "federated-wildcard":
      return { Principal: { Federated: "*" } };
    case "federated":
      return { Principal: { Federated: "cognito-identity.amazonaws.com" } };
    case "canonical-user":
      return { Principal: { CanonicalUser: "79a59df900b949e55d96a1e698fbacedfd6e09d9" } };
    case "not-principal":
      return { NotPrincipal: { AWS: ACCOUNTS[0] } };
  }
}

// ---------------------------------------------------------------------------
// The reference model: the rule as the documentation states it, written plainly.

function modelGlob(pattern: string, name: string): boolean {
  if (pattern === "") return name === "";
  if (pattern.startsWith("*")) {
    for (let i = 0; i <= name.length; i++)
      if (modelGlob(pattern.slice(1), name.slice(i))) return true;
    return false;
  }
  return name.startsWith(pattern[0] ?? "") && modelGlob(pattern.slice(1), name.slice(1));
}

function modelSelects(b: BindingInput, l: Record<string, string>): boolean {
  const s = b.namespaceSelector;
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const r of s.matchExpressions ?? []) {
    const has = k(l, r.key);
    const value = l[r.key];
    if (r.operator === "In" && !(has && r.values.includes(value as never))) return false;
    if (r.operator === "NotIn" && has && r.values.includes(value as never)) return false;
    if (r.operator === "Exists" && !has) return false;
    if (r.operator === "DoesNotExist" && has) return false;
  }
  return true;
}
const k = (l: Record<string, string>, key: string) => Object.hasOwn(l, key);

function modelStatementOk(b: BindingInput, s: StatementInput): boolean {
  // What names nobody is public, whatever its condition: only allowPublicAccess lets it in.
  if (s.kind === "public" || s.kind === "nobody") return b.allowPublicAccess === true;
  const p = b.principals;
  if (p === undefined) return true;
  switch (s.kind) {
    case "accounts":
      return s.accounts.every((a) => (p.accounts ?? []).includes(a as never));
    case "org":
      return (p.organizationIds ?? []).includes(s.org as never);
    case "account-condition":
      return (p.accounts ?? []).includes(s.account as never);
    case "service":
      return (p.services ?? []).includes(s.service as never);
  }
}

function modelPermits(b: BindingInput, o: ObjectInput): boolean {
  if (!b.destinations.some((g) => modelGlob(g, o.destinationName))) return false;
  if (b.regions !== undefined && !b.regions.includes(o.region)) return false;
  if (o.roleArn !== undefined && !(b.roleArns ?? []).includes(o.roleArn as never)) return false;
  if (!o.statements.every((s) => modelStatementOk(b, s))) return false;
  if (o.allowPublicAccess && b.allowPublicAccess !== true) return false;
  return true;
}

function model(bindings: readonly BindingInput[], o: ObjectInput): boolean {
  return bindings.some((b) => modelSelects(b, o.labels) && modelPermits(b, o));
}

// ---------------------------------------------------------------------------

test(`the matcher agrees with the reference model on ${RUNS} random (binding set, object) pairs`, (t) => {
  let permitted = 0;
  fc.assert(
    fc.property(fc.array(binding, { maxLength: 6 }), object, (bindings, o) => {
      const compiled = bindings.map((b, i) => compileBinding(`b${i}`, b, exactRoles));
      for (const c of compiled) assert.equal(c.problem, undefined, c.problem);
      const request: PermissionRequest = {
        namespace: "ns",
        destinationName: o.destinationName,
        region: o.region,
        allowPublicAccess: o.allowPublicAccess,
        document: documentOf(o.statements),
        ...(o.roleArn === undefined ? {} : { roleArn: o.roleArn }),
      };
      const decision = decide(selecting(compiled, o.labels), request);
      const expected = model(bindings, o);
      assert.equal(decision.permitted, expected);
      if (decision.permitted) permitted++;
      else {
        assert.ok(decision.message.length > 0);
        assert.match(decision.message, /No AWS call was made/);
      }
    }),
    { numRuns: RUNS },
  );
  t.diagnostic(`${permitted} permitted, ${RUNS - permitted} refused`);
  // Both outcomes occur often enough for the agreement to mean something.
  assert.ok(permitted > RUNS / 20, `${permitted} permitted`);
  assert.ok(permitted < RUNS - RUNS / 20, `${RUNS - permitted} refused`);
});

test("globs agree with the reference model, including many stars", () => {
  fc.assert(
    fc.property(
      fc.stringMatching(/^[ab*]{0,12}$/),
      fc.stringMatching(/^[ab]{0,14}$/),
      (g, name) => {
        assert.equal(compileGlob(g).matches(name), modelGlob(g, name));
      },
    ),
    { numRuns: 10_000 },
  );
});
