// The tenancy decision per object, made once per object (uid) and generation, and the index of
// which objects each namespace holds, so that a change to a binding or to a
// namespace's labels decides again exactly the objects it may concern.
import type { LogDestinationPolicy } from "../api/v1alpha1.ts";
import { keyOf } from "../kube/keys.ts";
import { permissionRequest, type Permission } from "../tenancy/index.ts";
import type { Tenancy } from "./tenancy.ts";

const PERMITTED: Permission = { permitted: true, binding: "" };

export class Permissions {
  readonly #tenancy: Tenancy;
  readonly #defaultRegion: string | undefined;
  /**
   * The decision per key, for the object (uid) and generation it was made for:
   * a new object of the same name, even at the same generation, is decided afresh.
   */
  readonly #decided = new Map<
    string,
    { uid: string; generation: number; permission: Permission }
  >();
  /** Keys of the cached objects of each namespace. */
  readonly #byNamespace = new Map<string, Set<string>>();

  constructor(tenancy: Tenancy, defaultRegion: string | undefined) {
    this.#tenancy = tenancy;
    this.#defaultRegion = defaultRegion;
  }

  /** The decision for the object's current generation. */
  of(obj: LogDestinationPolicy): Permission {
    const key = keyOf(obj.metadata);
    const uid = obj.metadata.uid ?? key;
    const generation = obj.metadata.generation ?? 0;
    const known = this.#decided.get(key);
    if (known?.uid === uid && known.generation === generation) return known.permission;
    // Without bindings every object is permitted: reading its policy would be wasted work.
    if (!this.#tenancy.enabled) return PERMITTED;
    const request = permissionRequest(obj.metadata.namespace ?? "", obj.spec, this.#defaultRegion);
    // Without a destination or a region the object is invalid and makes no AWS call.
    const permission: Permission = request
      ? this.#tenancy.decide(request)
      : { permitted: true, binding: "" };
    this.#decided.set(key, { uid, generation, permission });
    return permission;
  }

  /** Counts the object among its namespace's. */
  track(obj: LogDestinationPolicy): void {
    const namespace = obj.metadata.namespace ?? "";
    let keys = this.#byNamespace.get(namespace);
    if (!keys) {
      keys = new Set();
      this.#byNamespace.set(namespace, keys);
    }
    keys.add(keyOf(obj.metadata));
  }

  forget(obj: LogDestinationPolicy): void {
    const key = keyOf(obj.metadata);
    this.#decided.delete(key);
    const namespace = obj.metadata.namespace ?? "";
    const keys = this.#byNamespace.get(namespace);
    keys?.delete(key);
    if (keys?.size === 0) this.#byNamespace.delete(namespace);
  }

  /** The keys of these namespaces' objects. */
  keysIn(namespaces: readonly string[]): string[] {
    return namespaces.flatMap((namespace) => [...(this.#byNamespace.get(namespace) ?? [])]);
  }

  /** Forgets the decision, so the next one is made with the bindings and labels as they are now. */
  undecide(key: string): void {
    this.#decided.delete(key);
  }
}
