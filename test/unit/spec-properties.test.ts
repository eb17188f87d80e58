// Bad input at scale: whole specs, as the controller's validate phase sees
// them, generated at random. Validation must never throw, every rejection must
// name a field under spec, and an accepted spec must keep its meaning.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { checkSpec } from "../../src/api/spec-check.ts";
import { policiesEqual } from "../../src/policy/index.ts";
import { formatIssues } from "../../src/util/issues.ts";

const RUNS = 6_000;

/** The check the controller's validate phase and `validate` both make, with the message the controller writes. */
function validate(
  spec: unknown,
): { ok: true; canonical: string; document: unknown } | { ok: false; message: string } {
  const checked = checkSpec(spec);
  if (!checked.ok) return { ok: false, message: formatIssues(checked.issues) };
  return { ok: true, canonical: checked.policy.canonical, document: checked.policy.document };
}

const anyValue = fc.jsonValue({ maxDepth: 4 });
const statement = fc.record(
  {
    Sid: fc.oneof(fc.string({ maxLength: 8 }), anyValue),
    Effect: fc.oneof(fc.constantFrom("Allow", "Deny", "Permit", ""), anyValue),
    Principal: fc.oneof(
      fc.constant("*"),
      fc.record({
        AWS: fc.oneof(fc.constant("*"), fc.array(fc.stringMatching(/^\d{12}$/), { maxLength: 3 })),
      }),
      anyValue,
    ),
    Action: fc.oneof(
      fc.constant("logs:PutSubscriptionFilter"),
      fc.array(fc.string(), { maxLength: 3 }),
      anyValue,
    ),
    Resource: fc.oneof(fc.constant("*"), fc.string({ maxLength: 6000 }), anyValue),
    Condition: fc.oneof(fc.constant({ StringEquals: { "aws:PrincipalOrgID": "o-abc" } }), anyValue),
  },
  { requiredKeys: [] },
);
const policy = fc.record(
  {
    Version: fc.oneof(fc.constantFrom("2012-10-17", "2008-10-17", "2020-01-01"), anyValue),
    Statement: fc.oneof(fc.array(statement, { maxLength: 3 }), statement, anyValue),
    Id: anyValue,
  },
  { requiredKeys: [] },
);
const spec = fc.record(
  {
    destinationName: fc.oneof(
      fc.string({ maxLength: 600 }),
      fc.constantFrom("central-logs", "a:b", "*"),
      anyValue,
    ),
    region: fc.oneof(fc.constantFrom("eu-west-1", "EU", ""), anyValue),
    accessPolicy: fc.oneof(policy, anyValue),
    accessPolicyJson: fc.oneof(
      policy.map((p) => JSON.stringify(p)),
      fc.string({ maxLength: 200 }),
      anyValue,
    ),
    forceUpdate: fc.oneof(fc.boolean(), anyValue),
    suspend: fc.oneof(fc.boolean(), anyValue),
    mode: fc.oneof(fc.constantFrom("Enforce", "Observe", "enforce"), anyValue),
    roleArn: fc.oneof(fc.constant("arn:aws:iam::123456789012:role/x"), anyValue),
    driftDetection: fc.oneof(
      fc.record({ interval: fc.constantFrom("10m", "0", "soon") }),
      anyValue,
    ),
    deletionPolicy: fc.oneof(fc.constantFrom("Retain", "Revoke", "Delete"), anyValue),
  },
  { requiredKeys: [] },
);

// Specs that are mostly valid, so the meaning-preservation property is exercised often.
const accountList = fc.uniqueArray(fc.stringMatching(/^\d{12}$/), { minLength: 1, maxLength: 4 });
const validStatement = fc.record({
  Sid: fc.stringMatching(/^[A-Za-z0-9]{1,8}$/),
  Effect: fc.constantFrom("Allow", "Deny"),
  Principal: accountList.map((AWS) => ({ AWS })),
  Action: fc.constantFrom("logs:PutSubscriptionFilter", ["logs:PutSubscriptionFilter"]),
  Resource: fc.constantFrom("*", "arn:aws:logs:eu-west-1:123456789012:destination:d"),
});
const validPolicy = fc.record({
  Version: fc.constantFrom("2012-10-17", "2008-10-17"),
  Statement: fc.uniqueArray(validStatement, { minLength: 1, maxLength: 3, selector: (s) => s.Sid }),
});
const validSpec = fc
  .record({
    destinationName: fc.stringMatching(/^[a-z0-9-]{1,20}$/),
    policy: validPolicy,
    asJson: fc.boolean(),
    forceUpdate: fc.boolean(),
  })
  .map(({ destinationName, policy, asJson, forceUpdate }) => ({
    destinationName,
    forceUpdate,
    ...(asJson ? { accessPolicyJson: JSON.stringify(policy) } : { accessPolicy: policy }),
  }));

describe("random specs through the controller's validation", () => {
  test("validation never throws and every rejection names a field under spec", () => {
    fc.assert(
      fc.property(
        fc.oneof({ weight: 4, arbitrary: spec }, { weight: 1, arbitrary: anyValue }),
        (input) => {
          const result = validate(input);
          if (!result.ok) {
            assert.match(result.message, /^spec[^\s]*: \S/, result.message);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  test("an accepted spec keeps its meaning through the canonical form it sends to AWS", () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(spec, validSpec), (input) => {
        const result = validate(input);
        if (!result.ok) return;
        accepted++;
        assert.ok(Buffer.byteLength(result.canonical, "utf8") <= 5120);
        assert.ok(policiesEqual(JSON.parse(result.canonical), result.document));
      }),
      { numRuns: RUNS },
    );
    assert.ok(accepted > 0, "some generated specs are valid");
  });
});
