// What the grant cache keeps of each LogDestinationGrant: the metadata that
// orders and finalizes it, its spec (bounded by its schema: 528 principals at
// most) and its status, so that an unchanged status is not written again.
// Labels and annotations are a tenant's and are never read.
import type { KubernetesObject, V1ObjectMeta } from "@kubernetes/client-node";
import type { LogDestinationGrant } from "../api/grant.ts";

export function trimGrant(obj: KubernetesObject): KubernetesObject & LogDestinationGrant {
  const m = obj.metadata ?? {};
  const metadata: V1ObjectMeta & LogDestinationGrant["metadata"] = {
    name: m.name ?? "",
    namespace: m.namespace,
    uid: m.uid,
    generation: m.generation,
    resourceVersion: m.resourceVersion,
    creationTimestamp: m.creationTimestamp,
    deletionTimestamp: m.deletionTimestamp,
    finalizers: m.finalizers,
  };
  const { spec, status } = obj as { spec?: unknown; status?: LogDestinationGrant["status"] };
  return {
    ...(obj.apiVersion === undefined ? {} : { apiVersion: obj.apiVersion }),
    ...(obj.kind === undefined ? {} : { kind: obj.kind }),
    metadata,
    ...(spec === undefined ? {} : { spec }),
    ...(status === undefined ? {} : { status }),
  };
}
