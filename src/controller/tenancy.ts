// The controller's view of tenancy: the bindings and the namespaces' labels, as
// the watch caches report them, and the decision for each object. Each change
// returns the namespaces whose objects must be decided again, so the
// controller re-evaluates exactly those and nothing else.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { LogDestinationPolicyBinding } from "../api/binding.ts";
import {
  compileBinding,
  decide,
  selecting,
  type CompiledBinding,
  type Labels,
  type Permission,
  type PermissionRequest,
  type RoleMatcherFactory,
} from "../tenancy/index.ts";

const PERMITTED_WITHOUT_BINDINGS: Permission = { permitted: true, binding: "" };

export class Tenancy {
  /** False: every object is permitted, as before bindings existed (--require-binding=false). */
  readonly enabled: boolean;
  readonly #roles: RoleMatcherFactory;
  readonly #bindings = new Map<string, CompiledBinding>();
  /** The generation each binding was compiled from: metadata and status changes decide nothing. */
  readonly #generations = new Map<string, number | undefined>();
  readonly #namespaces = new Map<string, Labels>();
  /** The bindings that select each namespace, computed when first asked for. */
  readonly #selected = new Map<string, CompiledBinding[]>();

  constructor(enabled: boolean, roles: RoleMatcherFactory) {
    this.enabled = enabled;
    this.#roles = roles;
  }

  get bindingCount(): number {
    return this.#bindings.size;
  }

  binding(name: string): CompiledBinding | undefined {
    return this.#bindings.get(name);
  }

  upsertBinding(obj: LogDestinationPolicyBinding): string[] {
    const name = obj.metadata.name;
    const before = this.#bindings.get(name);
    const generation = obj.metadata.generation;
    if (before && generation !== undefined && this.#generations.get(name) === generation) return [];
    const after = compileBinding(name, obj.spec, this.#roles);
    this.#bindings.set(name, after);
    this.#generations.set(name, generation);
    return this.#touched(before, after);
  }

  removeBinding(obj: LogDestinationPolicyBinding): string[] {
    const name = obj.metadata.name;
    const before = this.#bindings.get(name);
    if (!before) return [];
    this.#bindings.delete(name);
    this.#generations.delete(name);
    return this.#touched(before, undefined);
  }

  /** Namespaces whose labels changed; none when only other fields did. */
  upsertNamespace(obj: KubernetesObject): string[] {
    const name = obj.metadata?.name;
    if (!name) return [];
    const labels = obj.metadata?.labels ?? {};
    const before = this.#namespaces.get(name);
    if (before && sameLabels(before, labels)) return [];
    this.#namespaces.set(name, labels);
    this.#selected.delete(name);
    return [name];
  }

  removeNamespace(obj: KubernetesObject): string[] {
    const name = obj.metadata?.name;
    if (!name || !this.#namespaces.delete(name)) return [];
    this.#selected.delete(name);
    return [name];
  }

  /** The namespaces a binding selected before or selects now. */
  #touched(before: CompiledBinding | undefined, after: CompiledBinding | undefined): string[] {
    const out: string[] = [];
    for (const [namespace, labels] of this.#namespaces) {
      if (before?.selects(labels) || after?.selects(labels)) {
        out.push(namespace);
        this.#selected.delete(namespace);
      }
    }
    return out;
  }

  /** A namespace's labels; undefined until the namespace cache has it. */
  labels(namespace: string): Labels | undefined {
    return this.#namespaces.get(namespace);
  }

  /** The bindings that select a namespace, sorted by name. */
  selecting(namespace: string): readonly CompiledBinding[] {
    let found = this.#selected.get(namespace);
    if (!found) {
      const labels = this.#namespaces.get(namespace);
      found = labels ? selecting(this.#bindings.values(), labels) : [];
      this.#selected.set(namespace, found);
    }
    return found;
  }

  decide(request: PermissionRequest): Permission {
    if (!this.enabled) return PERMITTED_WITHOUT_BINDINGS;
    return decide(this.selecting(request.namespace), request);
  }
}

function sameLabels(a: Labels, b: Labels): boolean {
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}
