// The last-applied record proves what AWS holds only when this controller wrote
// it for this object: uid inside, hash in status (which tenants cannot write).
import assert from "node:assert/strict";
import { test } from "node:test";
import { LAST_APPLIED_ANNOTATION } from "../../src/api/names.ts";
import type { LogDestinationPolicy } from "../../src/api/v1alpha1.ts";
import { provenRecord, recordHash, type RecordMemory } from "../../src/controller/record.ts";

const record = (uid: string) =>
  JSON.stringify({
    destinationName: "d",
    forceUpdate: false,
    policy: {},
    region: "us-east-1",
    uid,
  });

function object(annotation: string | undefined, hash?: string): LogDestinationPolicy {
  return {
    metadata: {
      name: "a",
      namespace: "ns",
      uid: "uid-a",
      ...(annotation === undefined
        ? {}
        : { annotations: { [LAST_APPLIED_ANNOTATION]: annotation } }),
    },
    ...(hash === undefined ? {} : { status: { appliedRecordHash: hash } }),
  };
}

test("a record with the object's uid and the hash in status is proof", () => {
  const own = record("uid-a");
  assert.equal(provenRecord(object(own, recordHash(own)), new Map()), own);
});

test("a copied record (another uid) is no proof, even with a matching hash", () => {
  const copied = record("uid-b");
  assert.equal(provenRecord(object(copied, recordHash(copied)), new Map()), undefined);
});

test("a hand-written or replayed record whose hash status does not hold is no proof", () => {
  const own = record("uid-a");
  assert.equal(provenRecord(object(own), new Map()), undefined);
  assert.equal(provenRecord(object(own, recordHash(record("uid-a") + " ")), new Map()), undefined);
  assert.equal(provenRecord(object("not json", recordHash("not json")), new Map()), undefined);
});

test("what this process wrote is proof before the status write shows up", () => {
  const own = record("uid-a");
  const memory: RecordMemory = new Map([["uid-a", { generation: 1, annotation: own }]]);
  assert.equal(provenRecord(object(own), memory), own);
  assert.equal(provenRecord(object(record("uid-x")), memory), undefined);
});
