// What the cache keeps of each object, in the spirit of controller-runtime's
// cache transforms: the fields reconciling reads, and nothing else. At ten
// thousand objects the cache is most of the controller's heap, and the parts
// dropped here can be the larger half of an object: managedFields, labels and
// annotations of other tools (kubectl's client-side last-applied-configuration
// repeats the whole object as a string; Argo CD and Flux add their own).
//
// A tenant decides how large its objects are, so nothing it writes is kept at a
// size reconciling cannot use: a structured policy far beyond what AWS accepts
// is kept as a marker with its size (reconciling reports it as invalid), and so
// is a last-applied record far beyond what the controller writes.
//
// Anything the controller starts to read from metadata must be added here.
import type { KubernetesObject, V1ObjectMeta } from "@kubernetes/client-node";
import { LAST_APPLIED_ANNOTATION } from "../api/names.ts";
import {
  CACHED_POLICY_MAX_CHARS,
  OVERSIZED_POLICY_MARK,
  type LogDestinationPolicy,
} from "../api/v1alpha1.ts";
import type { LogDestinationPolicyBinding } from "../api/binding.ts";

/** A record of the largest policy AWS accepts, with its target, stays well below this. */
const CACHED_RECORD_MAX_CHARS = 16 * 1024;

/**
 * A LogDestinationPolicy as the cache keeps it, typed both ways: as what the
 * API server sends and as what reconciling reads.
 */
export function trimForCache(obj: KubernetesObject): KubernetesObject & LogDestinationPolicy {
  // The API server names every object it sends.
  const m = obj.metadata ?? {};
  // A fresh object of a fixed shape: V8 stores it more compactly than one
  // that had properties deleted.
  const metadata: V1ObjectMeta & LogDestinationPolicy["metadata"] = {
    name: m.name ?? "",
    namespace: m.namespace,
    uid: m.uid,
    generation: m.generation,
    resourceVersion: m.resourceVersion,
    creationTimestamp: m.creationTimestamp,
    deletionTimestamp: m.deletionTimestamp,
    finalizers: m.finalizers,
    annotations: ownAnnotations(m.annotations),
  };
  const spec = (obj as { spec?: unknown }).spec;
  return { ...obj, metadata, ...(spec === undefined ? {} : { spec: boundedSpec(spec) }) };
}

function ownAnnotations(
  annotations: Record<string, string> | undefined,
): Record<string, string> | undefined {
  const record = annotations?.[LAST_APPLIED_ANNOTATION];
  if (record === undefined || record.length > CACHED_RECORD_MAX_CHARS) return undefined;
  return { [LAST_APPLIED_ANNOTATION]: record };
}

function boundedSpec(spec: unknown): unknown {
  if (typeof spec !== "object" || spec === null) return spec;
  const policy = (spec as { accessPolicy?: unknown }).accessPolicy;
  if (typeof policy !== "object" || policy === null) return spec;
  const size = JSON.stringify(policy).length;
  if (size <= CACHED_POLICY_MAX_CHARS) return spec;
  return { ...spec, accessPolicy: { [OVERSIZED_POLICY_MARK]: size } };
}

/** A binding as the controller reads it: identity and spec. */
export function trimBinding(obj: KubernetesObject): KubernetesObject & LogDestinationPolicyBinding {
  const m = obj.metadata;
  return {
    metadata: {
      name: m?.name ?? "",
      uid: m?.uid,
      generation: m?.generation,
      resourceVersion: m?.resourceVersion,
    },
    spec: (obj as { spec?: unknown }).spec,
    status: (obj as LogDestinationPolicyBinding).status,
  };
}

/** A namespace as binding selectors see it: its name and labels. */
export function trimNamespace(obj: KubernetesObject): KubernetesObject {
  const m = obj.metadata;
  return {
    metadata: {
      name: m?.name,
      uid: m?.uid,
      resourceVersion: m?.resourceVersion,
      labels: m?.labels,
    },
  };
}
