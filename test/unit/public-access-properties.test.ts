// Property: the guardrail calls a statement public exactly when an independent
// and deliberately simple model, written from the rule's wording, does. The
// model: an Allow statement names its callers when every principal is a fixed
// AWS value or a fixed Service; "*" and an AWS value with a wildcard count only
// with a fixed-valued account or organization condition; no Principal,
// NotPrincipal, a Service wildcard and every other principal type (Federated,
// CanonicalUser) name nobody.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { findPublicStatements, type PolicyDocument } from "../../src/policy/index.ts";

// The model: written from the rule's wording, sharing no code with src/policy.
const WILD = /[*?]|\$\{/;
const fixed = (v: unknown) =>
  (typeof v === "string" && v.length > 0 && !WILD.test(v)) ||
  (typeof v === "number" && Number.isInteger(v) && v >= 0);
const fixedText = (v: unknown) => typeof v === "string" && fixed(v);
const ACCOUNT_OR_ORG_KEYS = [
  "aws:principalorgid",
  "aws:principalorgpaths",
  "aws:principalaccount",
  "aws:sourceaccount",
  "aws:sourceorgid",
];
const EQUALITY = /^(foranyvalue:)?(stringequals|stringequalsignorecase|stringlike)$/;

function narrowed(statement: Record<string, unknown>): boolean {
  const condition = (statement.Condition ?? {}) as Record<string, Record<string, unknown>>;
  for (const [op, keys] of Object.entries(condition)) {
    if (!EQUALITY.test(op.toLowerCase())) continue;
    for (const [key, raw] of Object.entries(keys)) {
      const k = key.toLowerCase();
      if (!ACCOUNT_OR_ORG_KEYS.includes(k)) continue;
      const values = Array.isArray(raw) ? raw : [raw];
      // An organization path names its organization in its first segment.
      const orgPath = (v: unknown) =>
        typeof v === "string" && fixed(v.split("/")[0]) && v.includes("/");
      const ok =
        k === "aws:principalorgpaths" && op.toLowerCase().endsWith("stringlike") ? orgPath : fixed;
      if (values.length > 0 && values.every(ok)) return true;
    }
  }
  return false;
}

/** "named", "open" (needs a narrowing condition) or "nobody" (public whatever the conditions). */
function principalKind(principal: unknown): "named" | "open" | "nobody" {
  if (principal === "*") return "open";
  if (typeof principal !== "object" || principal === null) return "nobody";
  const entries = Object.entries(principal);
  if (entries.length === 0) return "nobody";
  let open = false;
  for (const [type, raw] of entries) {
    const values: unknown[] = Array.isArray(raw) ? raw : [raw];
    if (values.length === 0) return "nobody";
    if (type === "AWS") open ||= !values.every(fixedText);
    else if (type === "Service") {
      if (!values.every(fixedText)) return "nobody";
    } else return "nobody";
  }
  return open ? "open" : "named";
}

function modelSafe(statement: Record<string, unknown>): boolean {
  if (statement.Effect !== "Allow") return true;
  if ("NotPrincipal" in statement) return false;
  if (!("Principal" in statement)) return false;
  const kind = principalKind(statement.Principal);
  if (kind === "named") return true;
  if (kind === "nobody") return false;
  return narrowed(statement);
}

const value = fc.oneof(
  fc.constantFrom(
    "111111111111",
    "o-a1b2c3d4e5",
    "o-a1b2c3d4e5/r-ab12/*",
    "o-*/*",
    "o-*",
    "*",
    "1*",
    "11111111111?",
    "${aws:PrincipalOrgID}",
    "arn:aws:iam::111111111111:root",
    "arn:aws:iam::*:root",
    "logs.amazonaws.com",
    "logs.*.amazonaws.com",
    "cognito-identity.amazonaws.com",
    "",
  ),
  fc.string({ maxLength: 6 }),
  fc.nat(),
  fc.boolean(),
);
const values = fc.oneof(value, fc.array(value, { minLength: 0, maxLength: 4 }));
const operator = fc.constantFrom(
  "StringEquals",
  "stringequals",
  "StringEqualsIgnoreCase",
  "StringLike",
  "StringNotEquals",
  "StringNotLike",
  "StringEqualsIfExists",
  "ForAnyValue:StringLike",
  "ForAllValues:StringEquals",
  "Null",
  "Bool",
  "ArnLike",
);
const key = fc.constantFrom(
  "aws:PrincipalOrgID",
  "aws:PrincipalOrgPaths",
  "AWS:PrincipalAccount",
  "aws:SourceAccount",
  "aws:SourceOrgID",
  "aws:SecureTransport",
  "aws:userid",
);
const condition = fc.dictionary(operator, fc.dictionary(key, values, { maxKeys: 3 }), {
  maxKeys: 3,
});
// Every principal type, "*", and (through requiredKeys) no Principal at all.
const principal = fc.oneof(
  fc.constant("*"),
  fc.record({ AWS: values }),
  fc.record({ Service: values }),
  fc.record(
    { AWS: values, Service: values, Federated: values, CanonicalUser: values },
    { requiredKeys: [] },
  ),
);
const statement = fc.record(
  {
    Effect: fc.constantFrom("Allow", "Deny"),
    Principal: principal,
    NotPrincipal: principal,
    Condition: condition,
  },
  { requiredKeys: ["Effect"] },
);

void describe("public-access guardrail against an independent model", () => {
  void it("a statement is public exactly when the model says it does not name its callers", () => {
    fc.assert(
      fc.property(fc.array(statement, { minLength: 1, maxLength: 4 }), (statements) => {
        const document = { Version: "2012-10-17", Statement: statements } as PolicyDocument;
        const found = new Set(findPublicStatements(document).map((p) => p.index));
        statements.forEach((s, index) => {
          assert.equal(
            found.has(index),
            !modelSafe(s as Record<string, unknown>),
            JSON.stringify(s),
          );
        });
      }),
      { numRuns: 5000 },
    );
  });

  void it("the model is not vacuous: both verdicts occur", () => {
    let open = 0;
    let closed = 0;
    fc.assert(
      fc.property(statement, (s) => {
        const pub = findPublicStatements({
          Version: "2012-10-17",
          Statement: [s],
        } as PolicyDocument);
        if (pub.length > 0) open++;
        else closed++;
      }),
      { numRuns: 2000 },
    );
    assert.ok(open > 100 && closed > 100, `${open} public, ${closed} not`);
  });
});
