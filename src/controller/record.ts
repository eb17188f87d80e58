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
import { createHash } from "node:crypto";
import { LAST_APPLIED_ANNOTATION } from "../api/names.ts";
import type { LogDestinationPolicy } from "../api/v1alpha1.ts";
import { isRecord } from "../util/record.ts";

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
