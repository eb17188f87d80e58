// Messages are safe to print: tenant values quoted and free of control
// characters, AWS errors by name with our own sentence (never AWS's text), and
// no object of another namespace named. The last table runs every phase that
// writes a message with a hostile destination name and a hostile AWS answer.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { REVOKE_FINALIZER } from "../../src/api/names.ts";
import { awsErrorText } from "../../src/aws/error-text.ts";
import { AwsCallError, type AwsErrorKind } from "../../src/aws/errors.ts";
import { conditionsFor } from "../../src/controller/conditions.ts";
import type { Phase, ReconcileContext, ReconcileDeps } from "../../src/controller/context.ts";
import { ReconcileFailure } from "../../src/controller/outcomes.ts";
import { applyPolicy, recordApplied } from "../../src/controller/phases/apply.ts";
import { failureFromAws } from "../../src/controller/phases/aws-failure.ts";
import { finalizeDeletion } from "../../src/controller/phases/deletion.ts";
import { validateSpec, yieldToOwner } from "../../src/controller/phases/guards.ts";
import { detectDrift, observeLivePolicy } from "../../src/controller/phases/observe.ts";
import { ownerText, whereText } from "../../src/controller/wording.ts";
import { checkSpec } from "../../src/api/spec-check.ts";
import { printable, quote } from "../../src/util/quote.ts";
import type { AwsScript } from "./fakes/aws.ts";
import {
  contextFor,
  GOOD,
  live,
  OTHER,
  phaseWorld,
  policyObject,
  START,
  withProvenRecord,
} from "./fakes/objects.ts";

// Raw characters a terminal or viewer acts on: C0, DEL, C1, separators, bidi and invisible format.
const RAW_CONTROL =
  // eslint-disable-next-line no-control-regex -- the controls are what the test looks for
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff]/;
const CONTROLLER_ROLE = "arn:aws:iam::999999999999:role/ldpc-controller";
const AWS_TEXT = `User: ${CONTROLLER_ROLE}/session is not authorized\n\u001b[31mto perform`;

describe("quote", () => {
  const cases: [string, string, string][] = [
    ["a plain name is quoted as is", "central", '"central"'],
    ["a newline is escaped", "a\nb", '"a\\nb"'],
    ["an ANSI escape is escaped", "\u001b[31mred", '"\\u001b[31mred"'],
    ["DEL and C1 controls are escaped", "a\u007fb\u0085c", '"a\\u007fb\\u0085c"'],
    ["line and paragraph separators are escaped", "a\u2028b\u2029c", '"a\\u2028b\\u2029c"'],
    ["a bidi override is escaped", "abc\u202eevil", '"abc\\u202eevil"'],
    ["a zero-width space is escaped", "a\u200bb", '"a\\u200bb"'],
    ["quotes and backslashes are escaped", 'a"b\\c', '"a\\"b\\\\c"'],
  ];
  for (const [name, input, expected] of cases) {
    test(name, () => {
      assert.equal(quote(input), expected);
      assert.doesNotMatch(quote(input), RAW_CONTROL);
    });
  }

  test("a long value is cut to the limit with an ellipsis", () => {
    assert.equal(quote("x".repeat(300)), JSON.stringify(`${"x".repeat(127)}…`));
    assert.equal(quote("abcdef", 4), '"abc…"');
  });

  test("printable escapes raw controls left in a finished message, and nothing else", () => {
    assert.equal(printable("ok: plain text"), "ok: plain text");
    assert.equal(printable("a\nb\u001bc\u202e"), "a\\u000ab\\u001bc\\u202e");
  });
});

describe("awsErrorText", () => {
  const known: [string, RegExp][] = [
    ["InvalidParameterException", /only a change of the spec can fix it/],
    ["ResourceNotFoundException", /no destination of that name exists/],
    ["AccessDeniedException", /may not make this call; an operator must grant it in IAM/],
    ["ExpiredTokenException", /credentials have expired/],
    ["OperationAbortedException", /another update of the same destination/],
    ["ServiceUnavailableException", /AWS was unavailable/],
    ["ThrottlingException", /throttled/],
    ["NetworkError", /network failed/],
  ];
  for (const [name, sentence] of known) {
    test(`${name} is named, with our own sentence`, () => {
      const text = awsErrorText(name);
      assert.ok(text.startsWith(`${name}: `), text);
      assert.match(text, sentence);
    });
  }

  test("an unknown name is named with a generic sentence that points at the log", () => {
    assert.equal(
      awsErrorText("BrandNewException"),
      "BrandNewException: an AWS error the controller has no explanation for; the controller's log has AWS's message",
    );
  });

  test("a name that is not an AWS error name is not repeated at all", () => {
    const text = awsErrorText("Evil\n\u001b[2JName");
    assert.doesNotMatch(text, /Evil/);
    assert.doesNotMatch(text, RAW_CONTROL);
  });

  test("names inherited from Object's prototype are unknown names, not sentences", () => {
    assert.match(
      awsErrorText("constructor"),
      /^constructor: an AWS error the controller has no explanation/,
    );
  });
});

describe("failureFromAws", () => {
  const kinds: [AwsErrorKind, string][] = [
    ["invalid", "AWSRejected"],
    ["not-found", "DestinationNotFound"],
    ["access-denied", "AccessDenied"],
    ["transient", "AWSUnavailable"],
    ["unknown", "ReconcileError"],
  ];
  for (const [kind, reason] of kinds) {
    test(`a ${kind} error is ${reason}, with the error's name in status and AWS's text in the log only`, () => {
      const error = new AwsCallError(
        "PutDestinationPolicy",
        { kind, name: "AccessDeniedException", message: AWS_TEXT },
        3,
      );
      const failure = failureFromAws(
        error,
        { destinationName: "d", region: "us-east-1" },
        new AbortController().signal,
      );
      assert.equal(failure.reason, reason);
      assert.match(failure.message, /AccessDeniedException: /);
      assert.ok(!failure.message.includes(CONTROLLER_ROLE), failure.message);
      assert.ok(!failure.message.includes("not authorized"), failure.message);
      assert.ok(failure.logDetail?.includes(CONTROLLER_ROLE));
    });
  }

  test("an error that is not an AWS call's names only its class", () => {
    const failure = failureFromAws(
      new TypeError(`boom ${CONTROLLER_ROLE}`),
      { destinationName: "d", region: "us-east-1" },
      new AbortController().signal,
    );
    assert.equal(failure.reason, "ReconcileError");
    assert.ok(!failure.message.includes(CONTROLLER_ROLE), failure.message);
    assert.match(failure.message, /TypeError/);
  });
});

describe("ownerText", () => {
  test("an owner in the same namespace is named", () => {
    assert.equal(
      ownerText("team/older", "team"),
      'the older LogDestinationPolicy "older" of this namespace',
    );
  });
  test("an owner in another namespace is neither named nor placed", () => {
    const text = ownerText("secret-team/secret-owner", "team");
    assert.equal(text, "an older LogDestinationPolicy in another namespace");
  });
});

describe("destination names with control characters", () => {
  test("the spec refuses them, naming the field and the limit", () => {
    for (const name of ["a\nb", "a\u001b[31m", "a\u0085", "a\u007f"]) {
      const checked = checkSpec({ destinationName: name, region: "us-east-1", accessPolicy: GOOD });
      if (checked.ok) assert.fail(`${JSON.stringify(name)} was accepted`);
      const { issues } = checked;
      assert.match(issues[0]?.path ?? "", /^spec\.destinationName$/);
      assert.match(
        issues[0]?.message ?? "",
        /control characters \(U\+0000–U\+001F, U\+007F–U\+009F\)/,
      );
      assert.ok(issues.every((i) => !i.message.includes(name)));
    }
  });
});

// ---------------------------------------------------------------------------
// Every message-producing phase, with a hostile name and hostile AWS answers.

/** Passes the schema (no C0 or C1), yet a viewer would act on it. */
const SCHEMA_HOSTILE = "d\u2028Ready=True\u202eevil\u200b";
/** Only reachable through a stored object older than the schema; injected after validation. */
const RAW_HOSTILE = "d\n\u001b[31mReady=True\u001b[0m\r";
const OTHER_OWNER = "secret-team/secret-owner";

function hostileAws(kind: AwsErrorKind): AwsCallError {
  return new AwsCallError(
    "PutDestinationPolicy",
    { kind, name: "AccessDeniedException", message: AWS_TEXT },
    2,
  );
}

interface Scenario {
  name: string;
  phase: Phase | Phase[];
  spec?: Record<string, unknown>;
  deleted?: boolean;
  aws?: (destination: string) => AwsScript;
  deps?: Partial<ReconcileDeps>;
  given?: (ctx: ReconcileContext) => void;
}

const scenarios: Scenario[] = [
  { name: "Applied", phase: [applyPolicy, recordApplied] },
  ...(["invalid", "not-found", "access-denied", "transient", "unknown"] as const).map(
    (kind): Scenario => ({
      name: `a ${kind} put`,
      phase: applyPolicy,
      aws: () => ({ put: [hostileAws(kind)] }),
    }),
  ),
  {
    name: "a put that throws something other than an AWS error",
    phase: applyPolicy,
    aws: () => ({ put: [new Error(`socket ${AWS_TEXT}`)] }),
  },
  {
    name: "Conflict with an owner in another namespace",
    phase: yieldToOwner,
    deps: { ownerOf: () => OTHER_OWNER },
  },
  {
    name: "Observe, in sync",
    phase: observeLivePolicy,
    spec: { mode: "Observe" },
    aws: (d) => ({ describe: [live(GOOD, d)] }),
  },
  {
    name: "Observe, out of sync",
    phase: observeLivePolicy,
    spec: { mode: "Observe" },
    aws: (d) => ({ describe: [live(OTHER, d)] }),
  },
  {
    name: "Observe, not found",
    phase: observeLivePolicy,
    spec: { mode: "Observe" },
    aws: () => ({ describe: [undefined] }),
  },
  {
    name: "Drifted under Report",
    phase: detectDrift,
    spec: { driftPolicy: "Report" },
    given: (ctx) =>
      Object.assign(ctx, { inSync: "already", swept: { live: live(OTHER), at: START - 1000 } }),
  },
  { name: "Revoked", phase: finalizeDeletion, spec: { deletionPolicy: "Revoke" }, deleted: true },
  {
    name: "RevokeSkipped for an owner in another namespace",
    phase: finalizeDeletion,
    spec: { deletionPolicy: "Revoke" },
    deleted: true,
    deps: { ownerOf: () => OTHER_OWNER },
  },
  {
    name: "a failing revoke",
    phase: finalizeDeletion,
    spec: { deletionPolicy: "Revoke" },
    deleted: true,
    aws: () => ({ put: [hostileAws("access-denied")] }),
  },
];

async function messagesOf(scenario: Scenario, destination: string, inject: boolean) {
  const base = policyObject("p", { destinationName: inject ? "d" : destination, ...scenario.spec });
  const object = scenario.deleted
    ? withProvenRecord({
        ...base,
        metadata: {
          ...base.metadata,
          deletionTimestamp: "2025-06-01T00:00:00Z",
          finalizers: [REVOKE_FINALIZER],
        },
      })
    : base;
  const world = phaseWorld(scenario.aws?.(destination), scenario.deps);
  const ctx = contextFor(object);
  validateSpec(ctx, world.deps);
  // An object stored before the schema refused control characters.
  if (inject && ctx.desired) ctx.desired = { ...ctx.desired, destinationName: destination };
  scenario.given?.(ctx);
  const found: string[] = [];
  try {
    for (const phase of [scenario.phase].flat()) {
      const r = await phase(ctx, world.deps);
      if (r === "stop") break;
      if (r !== undefined) {
        found.push(r.message);
        break;
      }
    }
  } catch (error) {
    if (!(error instanceof ReconcileFailure)) throw error;
    found.push(error.message);
  }
  if (ctx.notice) found.push(ctx.notice.message);
  if (ctx.drift) found.push(ctx.drift);
  return found;
}

describe("every message-producing phase, with a hostile destination name", () => {
  for (const scenario of scenarios) {
    for (const [label, destination, inject] of [
      ["a name the schema admits", SCHEMA_HOSTILE, false],
      ["a name injected past the schema", RAW_HOSTILE, true],
    ] as const) {
      // A deleted object's target comes from its spec, which a raw name never passes.
      if (inject && scenario.deleted) continue;
      test(`${scenario.name}, with ${label}: quoted, no control character, no AWS text, no other namespace`, async () => {
        const found = await messagesOf(scenario, destination, inject);
        assert.ok(found.length > 0, "the scenario produces a message");
        for (const message of found) {
          assert.doesNotMatch(message, RAW_CONTROL, JSON.stringify(message));
          assert.ok(!message.includes(CONTROLLER_ROLE), message);
          assert.ok(!message.includes("not authorized"), message);
          assert.ok(!/secret-team|secret-owner/.test(message), message);
          if (message.includes("d\\u2028") || message.includes("d\\n")) {
            assert.ok(message.includes(quote(destination)), message);
          }
        }
      });
    }
  }

  test("conditions escape any raw control character a message still holds", () => {
    const [ready] = conditionsFor(
      [],
      { reason: "Applied", message: "a\nb\u001b" },
      1,
      new Date(START),
    );
    assert.equal(ready?.message, "a\\u000ab\\u001b");
  });

  test("the destination as messages name it", () => {
    assert.equal(
      whereText({ destinationName: "a\nb", region: "us-east-1" }),
      'destination "a\\nb" in "us-east-1"',
    );
  });
});
