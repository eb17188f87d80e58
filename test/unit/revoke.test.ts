// The revoke on deletion with fakes: it fails closed, and --revoke-timeout
// counts from the first failed attempt, not from the deletion.
import assert from "node:assert/strict";
import { test } from "node:test";
import { LAST_APPLIED_ANNOTATION, REVOKE_FINALIZER } from "../../src/api/names.ts";
import { specSchema, type LogDestinationPolicy } from "../../src/api/v1alpha1.ts";
import { AwsCallError } from "../../src/aws/errors.ts";
import { desiredState } from "../../src/controller/desired.ts";
import { ReconcileFailure } from "../../src/controller/outcomes.ts";
import { finalizeDeletion } from "../../src/controller/phases/deletion.ts";
import { recordHash } from "../../src/controller/record.ts";
import { contextFor, phaseWorld } from "./fakes/objects.ts";

const spec = {
  destinationName: "d",
  region: "us-east-1",
  deletionPolicy: "Revoke",
  accessPolicy: {
    Version: "2012-10-17",
    Statement: [
      { Effect: "Allow", Principal: { AWS: "111111111111" }, Action: "x", Resource: "*" },
    ],
  },
};

function setup(revokeTimeoutMs: number, forged = false) {
  const record = desiredState(specSchema.parse(spec), undefined, "uid-1").annotation;
  const object: LogDestinationPolicy = {
    metadata: {
      name: "a",
      namespace: "ns",
      uid: "uid-1",
      // Deleted long ago: a controller that was down must not give up at once.
      deletionTimestamp: "2020-01-01T00:00:00Z",
      finalizers: [REVOKE_FINALIZER],
      annotations: { [LAST_APPLIED_ANNOTATION]: record },
    },
    spec,
    status: { appliedRecordHash: forged ? "sha256:other" : recordHash(record) },
  };
  const denied = new AwsCallError(
    "PutDestinationPolicy",
    { kind: "access-denied", name: "AccessDeniedException", message: "denied" },
    1,
  );
  const world = phaseWorld({ put: [denied] }, { defaultRegion: undefined, revokeTimeoutMs });
  return {
    deps: world.deps,
    ctx: () => contextFor(object),
    get puts() {
      return world.aws.puts.map((input) => input.destinationName);
    },
    finalizers: world.writer.finalizers,
    advance: (ms: number) => (world.clock.current += ms),
    recover: () => (world.aws.script.put = [undefined]),
  };
}

test("a failing revoke keeps the finalizer however long ago the object was deleted", async () => {
  const s = setup(0);
  for (let i = 0; i < 3; i++) {
    await assert.rejects(
      Promise.resolve(finalizeDeletion(s.ctx(), s.deps)),
      (e: unknown) => e instanceof ReconcileFailure && e.reason === "RevokeFailed",
    );
    s.advance(3_600_000);
  }
  assert.deepEqual(s.finalizers, []);
  s.recover();
  const ctx = s.ctx();
  assert.equal(await finalizeDeletion(ctx, s.deps), "stop");
  assert.equal(ctx.notice?.reason, "Revoked");
  assert.deepEqual(s.finalizers, [[]]);
});

test("--revoke-timeout counts from the first failure, then gives up with a RevokeAbandoned notice", async () => {
  const s = setup(60_000);
  await assert.rejects(Promise.resolve(finalizeDeletion(s.ctx(), s.deps)), ReconcileFailure);
  s.advance(59_000);
  await assert.rejects(Promise.resolve(finalizeDeletion(s.ctx(), s.deps)), ReconcileFailure);
  s.advance(1_000);
  const ctx = s.ctx();
  assert.equal(await finalizeDeletion(ctx, s.deps), "stop");
  assert.equal(ctx.notice?.reason, "RevokeAbandoned");
  assert.equal(ctx.notice.warning, true);
  assert.deepEqual(s.finalizers, [[]]);
});

test("an unproven record revokes nothing: no AWS call, a RevokeSkipped notice, the finalizer goes", async () => {
  const s = setup(0, true);
  const ctx = s.ctx();
  assert.equal(await finalizeDeletion(ctx, s.deps), "stop");
  assert.deepEqual(s.puts, []);
  assert.equal(ctx.notice?.reason, "RevokeSkipped");
  assert.deepEqual(s.finalizers, [[]]);
});
