// What the cache keeps of each object, in the spirit of controller-runtime's
// cache transforms: the fields reconciling reads, and nothing else. At ten
// thousand objects the cache is most of the controller's heap, and the parts
// dropped here can be the larger half of an object: managedFields, labels and
// annotations of other tools (kubectl's client-side last-applied-configuration
// repeats the whole object as a string; Argo CD and Flux add their own).
//
// Anything the controller starts to read from metadata must be added here.
import type { KubernetesObject, V1ObjectMeta } from "@kubernetes/client-node";
import { GROUP } from "../api/names.ts";

const OWN_ANNOTATION_PREFIX = `${GROUP}/`;

export function trimForCache<T extends KubernetesObject>(obj: T): T {
  const m = obj.metadata;
  if (!m) return obj;
  // A fresh object of a fixed shape: V8 stores it more compactly than one
  // that had properties deleted.
  const metadata: V1ObjectMeta = {
    name: m.name,
    namespace: m.namespace,
    uid: m.uid,
    generation: m.generation,
    resourceVersion: m.resourceVersion,
    creationTimestamp: m.creationTimestamp,
    deletionTimestamp: m.deletionTimestamp,
    finalizers: m.finalizers,
    annotations: ownAnnotations(m.annotations),
  };
  return { ...obj, metadata };
}

function ownAnnotations(
  annotations: Record<string, string> | undefined,
): Record<string, string> | undefined {
  if (!annotations) return undefined;
  let own: Record<string, string> | undefined;
  for (const [key, value] of Object.entries(annotations)) {
    if (!key.startsWith(OWN_ANNOTATION_PREFIX)) continue;
    own ??= {};
    own[key] = value;
  }
  return own;
}
