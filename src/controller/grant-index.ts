// Which grants name which policy. A grant's events reconcile the policy it
// names, so the queue only ever holds policy keys: one destination's writes
// stay serialized with its policy, and fairness is the policy namespace's. A
// grant whose policyRef changes names two policies, the one it left and the one
// it joined, and both are reconciled.
import type { LogDestinationGrant } from "../api/grant.ts";
import { keyOf } from "../kube/keys.ts";
import { isRecord } from "../util/record.ts";

/** The key of the policy a grant names, read from its raw spec; undefined when it names none. */
export function policyKeyOfGrant(grant: LogDestinationGrant): string | undefined {
  const ref = isRecord(grant.spec) ? grant.spec.policyRef : undefined;
  if (!isRecord(ref) || typeof ref.name !== "string" || ref.name === "") return undefined;
  const namespace =
    typeof ref.namespace === "string" && ref.namespace !== ""
      ? ref.namespace
      : (grant.metadata.namespace ?? "");
  return `${namespace}/${ref.name}`;
}

export class GrantIndex {
  /** Grant key to the policy key it names. */
  readonly #policyOf = new Map<string, string>();
  /** Policy key to the keys of the grants naming it. */
  readonly #grantsOf = new Map<string, Set<string>>();

  /** Records the grant; returns the policy keys to reconcile (the old one, if it changed, and the new). */
  set(grant: LogDestinationGrant): string[] {
    const key = keyOf(grant.metadata);
    const before = this.#policyOf.get(key);
    const after = policyKeyOfGrant(grant);
    if (before !== after) {
      if (before !== undefined) this.#unlink(key, before);
      if (after !== undefined) {
        this.#policyOf.set(key, after);
        let grants = this.#grantsOf.get(after);
        if (!grants) this.#grantsOf.set(after, (grants = new Set()));
        grants.add(key);
      }
    }
    return [...new Set([before, after])].filter((k): k is string => k !== undefined);
  }

  /** Forgets the grant; returns the policy key it named, to reconcile. */
  delete(grant: LogDestinationGrant): string[] {
    const key = keyOf(grant.metadata);
    const before = this.#policyOf.get(key);
    if (before === undefined) return [];
    this.#unlink(key, before);
    return [before];
  }

  /** The keys of the grants naming a policy, sorted so that every pass sees them in one order. */
  grantsOf(policyKey: string): string[] {
    return [...(this.#grantsOf.get(policyKey) ?? [])].sort();
  }

  /** The policies named by grants in these namespaces. */
  policiesOfNamespaces(namespaces: readonly string[]): string[] {
    if (namespaces.length === 0) return [];
    const wanted = new Set(namespaces);
    const out = new Set<string>();
    for (const [grant, policy] of this.#policyOf) {
      if (wanted.has(grant.slice(0, grant.indexOf("/")))) out.add(policy);
    }
    return [...out];
  }

  get size(): number {
    return this.#policyOf.size;
  }

  #unlink(grantKey: string, policyKey: string): void {
    this.#policyOf.delete(grantKey);
    const grants = this.#grantsOf.get(policyKey);
    grants?.delete(grantKey);
    if (grants?.size === 0) this.#grantsOf.delete(policyKey);
  }
}
