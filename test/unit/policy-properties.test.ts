import assert from "node:assert/strict";
import { describe, it } from "node:test";

import fc from "fast-check";

import {
  allowGrants,
  canonicalJson,
  findPublicStatements,
  grantees,
  parseLivePolicy,
  policiesEqual,
  policyHash,
  resolveAccessPolicy,
  type AccessPolicyInput,
  type AccessPolicyResult,
  type PolicyDocumentInput,
} from "../../src/policy/index.ts";
import { POLICY_FIELDS, STATEMENT_FIELDS } from "../../src/policy/grammar.ts";
import { MAX_POLICY_BYTES } from "../../src/util/limits.ts";

// Runs per property; together well over 10,000 generated inputs in a few seconds.
const RUNS = { json: 3000, strings: 3000, mutated: 3000, valid: 2500, readings: 2500 };

// The grammar's own keys, plus nested and hostile ones it must refuse or pass through.
const fieldNames = fc.constantFrom(
  ...POLICY_FIELDS,
  ...STATEMENT_FIELDS,
  "AWS",
  "StringEquals",
  "aws:PrincipalOrgID",
  "__proto__",
  "constructor",
);

const text = fc.string({ minLength: 1, maxLength: 12, unit: "binary" });
const stringOrList = fc.oneof(text, fc.array(text, { minLength: 1, maxLength: 3 }));
const principal = fc.oneof(
  fc.constant("*" as const),
  fc
    .record(
      {
        AWS: stringOrList,
        Service: stringOrList,
        Federated: stringOrList,
        CanonicalUser: stringOrList,
      },
      { requiredKeys: [] },
    )
    .filter((value) => Object.keys(value).length > 0),
);
const conditionScalar = fc.oneof(fc.string({ maxLength: 8 }), fc.boolean(), fc.integer());
const condition = fc.dictionary(
  fc.constantFrom(
    "StringEquals",
    "StringLike",
    "ForAnyValue:StringLike",
    "Bool",
    "NumericLessThan",
  ),
  fc.dictionary(
    fc.constantFrom(
      "aws:PrincipalOrgID",
      "aws:SourceAccount",
      "aws:PrincipalTag/Cost Center",
      "s3:prefix",
    ),
    fc.oneof(conditionScalar, fc.array(conditionScalar, { minLength: 1, maxLength: 3 })),
    { maxKeys: 2 },
  ),
  { maxKeys: 2 },
);
const statement = fc
  .record(
    {
      Sid: fc.string({ maxLength: 6 }),
      Effect: fc.constantFrom("Allow", "Deny"),
      principal: fc.option(fc.tuple(fc.constantFrom("Principal", "NotPrincipal"), principal)),
      action: fc.tuple(fc.constantFrom("Action", "NotAction"), stringOrList),
      resource: fc.option(fc.tuple(fc.constantFrom("Resource", "NotResource"), stringOrList)),
      Condition: condition,
    },
    { requiredKeys: ["Effect", "action"] },
  )
  .map(({ principal: p, action, resource, ...rest }) => {
    const fields = [p, action, resource].filter((field) => field !== null && field !== undefined);
    return { ...rest, ...Object.fromEntries(fields) } as Record<string, unknown>;
  });
const validPolicy = fc
  .record(
    {
      Version: fc.constantFrom("2012-10-17", "2008-10-17"),
      Id: fc.string({ maxLength: 8 }),
      Statement: fc.oneof(statement, fc.array(statement, { minLength: 1, maxLength: 4 })),
    },
    { requiredKeys: ["Version", "Statement"] },
  )
  .map((policy) => {
    // Sids must be unique; suffixing the index keeps generated ones distinct.
    if (Array.isArray(policy.Statement)) {
      policy.Statement = policy.Statement.map((s, i) =>
        typeof s.Sid === "string" && s.Sid !== "" ? { ...s, Sid: `${s.Sid}-${i}` } : s,
      );
    }
    return policy;
  });

const junk = fc.oneof(
  fc.constantFrom("2012-10-17", "Allow", "Deny", "*", "logs:PutSubscriptionFilter", "", {}, []),
  fc.jsonValue({ maxDepth: 2 }),
);
const mutation = fc.record({
  target: fc.nat(),
  kind: fc.constantFrom("set", "set", "delete"),
  key: fieldNames,
  value: junk,
});

// Valid policies with a few fields added, replaced or removed anywhere in the tree, so that
// every level of the grammar sees near-miss input. Keys are defined rather than assigned so a
// "__proto__" key is an own key, as when a JSON parser produced it.
const mutatedPolicy: fc.Arbitrary<unknown> = fc
  .tuple(validPolicy, fc.array(mutation, { minLength: 1, maxLength: 3 }))
  .map(([policy, mutations]) => {
    const root = JSON.parse(JSON.stringify(policy)) as unknown;
    for (const { target, kind, key, value: shared } of mutations) {
      // A fresh copy: inserting a shared object twice could make the tree cyclic.
      const value = structuredClone(shared);
      const containers = collectContainers(root);
      const container = containers[target % containers.length];
      if (Array.isArray(container)) {
        if (kind === "delete") container.splice(target % (container.length + 1), 1);
        else container[target % (container.length + 1)] = value;
      } else if (container !== undefined) {
        const keys = Object.keys(container);
        if (kind === "delete" && keys.length > 0) {
          Reflect.deleteProperty(container, keys[target % keys.length] ?? key);
        } else {
          Object.defineProperty(container, key, {
            value,
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
      }
    }
    return JSON.parse(JSON.stringify(root)) as unknown;
  });

function collectContainers(
  node: unknown,
  into: (object | unknown[])[] = [],
): (object | unknown[])[] {
  if (typeof node !== "object" || node === null) return into;
  into.push(node);
  for (const child of Object.values(node)) collectContainers(child, into);
  return into;
}

/** A deep copy whose object keys are permuted by a seeded generator. */
function shuffleKeys(value: unknown, seed: number): unknown {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit);
    if (typeof node !== "object" || node === null) return node;
    const entries = Object.entries(node);
    for (let i = entries.length - 1; i > 0; i -= 1) {
      const j = Math.floor(next() * (i + 1));
      [entries[i], entries[j]] = [entries[j] as [string, unknown], entries[i] as [string, unknown]];
    }
    return Object.fromEntries(entries.map(([key, item]) => [key, visit(item)]));
  };
  return visit(value);
}

function assertWellFormedRejection(result: AccessPolicyResult, prefix = "spec"): void {
  if (result.ok) return;
  assert.ok(result.issues.length > 0, "a rejection carries at least one issue");
  for (const issue of result.issues) {
    assert.ok(issue.path.startsWith(prefix), `path ${issue.path} does not start with ${prefix}`);
    assert.ok(issue.message.length > 0);
  }
}

function resolveSafely(input: AccessPolicyInput): AccessPolicyResult {
  try {
    return resolveAccessPolicy(input);
  } catch (error) {
    assert.fail(`resolveAccessPolicy threw: ${String(error)}`);
  }
}

void describe("resolveAccessPolicy properties", () => {
  void it("never throws for arbitrary JSON values, and every rejection names a path under spec", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        assertWellFormedRejection(resolveSafely({ accessPolicy: value }));
      }),
      { numRuns: RUNS.json },
    );
  });

  void it("never throws for arbitrary strings given as accessPolicyJson", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary" }), fc.json()), (json) => {
        assertWellFormedRejection(resolveSafely({ accessPolicyJson: json }));
      }),
      { numRuns: RUNS.strings },
    );
  });

  void it("never throws for near-valid policies with misplaced fields and __proto__ keys", () => {
    fc.assert(
      fc.property(mutatedPolicy, (value) => {
        const result = resolveSafely({ accessPolicy: value });
        assertWellFormedRejection(result);
        if (result.ok) assert.ok(policiesEqual(JSON.parse(result.canonical), result.document));
      }),
      { numRuns: RUNS.mutated },
    );
  });

  void it("accepts generated valid policies, which round-trip and hash the same under key shuffling", () => {
    fc.assert(
      fc.property(validPolicy, fc.integer(), (policy, seed) => {
        const result = resolveSafely({ accessPolicy: policy });
        if (!result.ok) {
          // The only reason left to reject a grammatical policy is its size.
          assert.equal(result.issues.length, 1);
          assert.match(
            result.issues[0]?.message ?? "",
            /PutDestinationPolicy accepts at most 5120/,
          );
          return;
        }
        assert.ok(result.bytes <= MAX_POLICY_BYTES);
        assert.ok(policiesEqual(JSON.parse(result.canonical), result.document));
        assert.equal(canonicalJson(JSON.parse(result.canonical)), result.canonical);

        const shuffled = shuffleKeys(policy, seed);
        const again = resolveSafely({ accessPolicyJson: JSON.stringify(shuffled, null, 1) });
        assert.ok(again.ok);
        assert.equal(again.hash, result.hash);
        assert.equal(again.canonical, result.canonical);
        assert.equal(policyHash(again.document), result.hash);
      }),
      { numRuns: RUNS.valid },
    );
  });

  void it("the guardrail, the binding's grants and grantees read every principal type alike, also after a round trip through AWS", () => {
    const verdicts = (document: PolicyDocumentInput) => {
      const publicIndexes = findPublicStatements(document).map((p) => p.index);
      const grants = allowGrants(document);
      // The binding matcher sees a statement as public exactly when the guardrail does.
      assert.deepEqual(
        grants.filter((g) => g.public).map((g) => g.index),
        publicIndexes,
      );
      // A statement that is not public grants only what it names, never "everyone".
      for (const g of grants) if (!g.public) assert.ok(g.grants.length > 0, JSON.stringify(g));
      const everyone = grantees(document).some((g) => g.kind === "everyone");
      assert.equal(everyone, publicIndexes.length > 0);
      return publicIndexes;
    };
    fc.assert(
      fc.property(validPolicy, (policy) => {
        const result = resolveSafely({ accessPolicy: policy });
        if (!result.ok) return;
        const before = verdicts(result.document);
        // What AWS hands back (the canonical text) reads the same as what was sent.
        const live = parseLivePolicy(JSON.parse(result.canonical));
        assert.ok(live !== undefined);
        assert.deepEqual(verdicts(live), before);
      }),
      { numRuns: RUNS.readings },
    );
  });
});
