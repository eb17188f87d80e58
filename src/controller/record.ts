// The last-applied record: the annotation in which the controller keeps what
// it last sent to AWS for an object. A tenant can write every annotation of its
// own objects, so the annotation alone proves nothing. It counts as proof only
// when this controller wrote it for this object:
//   - it names the object's uid (a copied or exported annotation names another);
//   - its hash is status.appliedRecordHash, which only the controller writes
//     (tenants cannot write the status subresource), so an edited or replayed
//     record does not match;
//   - or this process remembers writing it (the cache may lag our own writes).
// Both the skip-put decision and the revoke decision ask this module.
//
// The invariant: status may say Applied without an AWS call only while no
// difference between AWS and the record has been seen at its destination since
// the record was made. A record that is authentic still proves nothing when
//   - status.livePolicyHash, the policy the controller last read or wrote for
//     this object, is not the record's policy (Drifted, OutOfSync, and a read
//     in any mode leave it there; only the controller writes it, so it outlasts
//     a restart);
//   - this process has seen the destination hold another policy, or a write
//     there that may have landed (a put or revoke by another object, a failed
//     put, a Retain deletion of another writer), keyed by destination identity
//     so that every route to one destination counts (see evidence.ts);
//   - the object was suspended (nothing is seen meanwhile: livePolicyHash
//     becomes "unknown") or yielded to another owner (Conflict: the record is
//     forgotten, status.appliedRecordHash cleared).
// What the process saw is copied into status.livePolicyHash at the object's
// next reconcile, whatever its mode, so the doubt outlasts a restart; until
// then only the drift sweep can notice what a process that crashed had seen.
// An unproven record sends the reconcile to read the live policy or put before
// Applied. A record of the object's own that is only contradicted keeps
// driftPolicy's meaning: a read that differs is drift, which Report leaves alone.
import { createHash } from "node:crypto";
import { LAST_APPLIED_ANNOTATION } from "../api/names.ts";
import type { LogDestinationPolicy } from "../api/v1alpha1.ts";
import { isRecord } from "../util/record.ts";
import { policyHash, type PolicyDocumentInput } from "../policy/index.ts";
import { UNKNOWN } from "./evidence.ts";

/** What this process wrote, by object uid. */
export type RecordMemory = Map<string, { generation: number; annotation: string }>;

export interface RecordTarget {
  destinationName: string;
  region: string;
  roleArn?: string;
}

export function recordHash(annotation: string): string {
  return `sha256:${createHash("sha256").update(annotation).digest("hex")}`;
}

export function annotationOf(object: LogDestinationPolicy): string | undefined {
  return object.metadata.annotations?.[LAST_APPLIED_ANNOTATION];
}

function parse(annotation: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(annotation);
    return isRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The annotation when it proves what AWS was last given for this object;
 * undefined for a missing, copied, edited or hand-written one.
 */
export function provenRecord(
  object: LogDestinationPolicy,
  memory: RecordMemory,
): string | undefined {
  const annotation = annotationOf(object);
  const uid = object.metadata.uid;
  if (annotation === undefined || uid === undefined) return undefined;
  if (memory.get(uid)?.annotation === annotation) return annotation;
  if (parse(annotation)?.uid !== uid) return undefined;
  return object.status?.appliedRecordHash === recordHash(annotation) ? annotation : undefined;
}

/** Where a record says the policy went; undefined if it says nothing usable. */
export function recordTarget(annotation: string): RecordTarget | undefined {
  const parsed = parse(annotation);
  if (typeof parsed?.destinationName !== "string" || typeof parsed.region !== "string")
    return undefined;
  return {
    destinationName: parsed.destinationName,
    region: parsed.region,
    ...(typeof parsed.roleArn === "string" ? { roleArn: parsed.roleArn } : {}),
  };
}

export function sameTarget(a: RecordTarget, b: RecordTarget): boolean {
  return (
    a.destinationName === b.destinationName && a.region === b.region && a.roleArn === b.roleArn
  );
}

/** The semantic hash of the policy a record says was applied; undefined if it names none. */
export function recordPolicyHash(annotation: string): string | undefined {
  const policy = parse(annotation)?.policy;
  if (!isRecord(policy)) return undefined;
  try {
    return policyHash(policy as PolicyDocumentInput);
  } catch {
    return undefined;
  }
}

/** True when what was seen at the destination (`seen`, see evidence.ts) is not the record's policy. */
export function contradicted(annotation: string, seen: string | undefined): boolean {
  if (seen === undefined) return false;
  return seen === UNKNOWN || seen !== recordPolicyHash(annotation);
}

/**
 * The record when it proves that AWS holds what it says now: this process wrote
 * it, or it is proven (see provenRecord) and the last policy status shows was
 * read or written there is the record's; and nothing seen at the destination
 * since says otherwise. Undefined sends the reconcile to read or put.
 */
export function recordInForce(
  object: LogDestinationPolicy,
  memory: RecordMemory,
  seen: string | undefined,
): string | undefined {
  const uid = object.metadata.uid;
  const remembered = uid === undefined ? undefined : memory.get(uid)?.annotation;
  if (remembered !== undefined) return contradicted(remembered, seen) ? undefined : remembered;
  const proven = provenRecord(object, memory);
  if (proven === undefined || contradicted(proven, seen)) return undefined;
  const lastSeen = object.status?.livePolicyHash;
  return lastSeen === undefined || lastSeen === recordPolicyHash(proven) ? proven : undefined;
}

/** What this controller last applied for the object, by its own memory or a proven record. */
export function ownRecord(object: LogDestinationPolicy, memory: RecordMemory): string | undefined {
  const uid = object.metadata.uid;
  return (
    (uid === undefined ? undefined : memory.get(uid)?.annotation) ?? provenRecord(object, memory)
  );
}

/** True when the object has a record of its own and what was seen at its destination contradicts it. */
export function contradictedRecord(
  object: LogDestinationPolicy,
  memory: RecordMemory,
  seen: string | undefined,
): boolean {
  const record = ownRecord(object, memory);
  return record !== undefined && contradicted(record, seen);
}
