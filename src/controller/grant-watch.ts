// What the controller does with the grant cache's events: each grant's change
// becomes a rebuild of the policies it names (before and after a move), and a
// burst of changes for one policy becomes one rebuild. Only what a rebuild
// reads counts as a change (spec, deletion, a new object under the name), so the
// controller's own status and finalizer writes queue nothing.
import type { LogDestinationGrant } from "../api/grant.ts";
import { keyOf, refOf } from "../kube/keys.ts";
import type { Clock } from "../util/clock.ts";
import { Debouncer } from "../util/debounce.ts";
import { GrantIndex } from "./grant-index.ts";
import type { GrantMemory, GrantMetrics } from "./grant-pass.ts";
import { grantSignature } from "./grant-wiring.ts";
import { GRANT_MAX_WAIT_MS, GRANT_QUIET_MS, type GrantCache } from "./options.ts";

export class GrantWatch {
  readonly #index = new GrantIndex();
  /** What of each grant was last seen that a rebuild depends on, by grant key. */
  readonly #seen = new Map<string, string>();
  readonly #bursts: Debouncer;
  readonly #cache: GrantCache | undefined;
  readonly #metrics: GrantMetrics;
  readonly #memory: GrantMemory;

  constructor(
    cache: GrantCache | undefined,
    clock: Clock,
    kept: { grantMetrics: GrantMetrics; grantMemory: GrantMemory },
    rebuild: (policyKey: string) => void,
  ) {
    this.#cache = cache;
    this.#metrics = kept.grantMetrics;
    this.#memory = kept.grantMemory;
    this.#bursts = new Debouncer(clock, GRANT_QUIET_MS, GRANT_MAX_WAIT_MS, rebuild);
  }

  upsert(grant: LogDestinationGrant): void {
    const key = keyOf(grant.metadata);
    const policies = this.#index.set(grant);
    const seen = grantSignature(grant, policies);
    if (this.#seen.get(key) === seen) return;
    this.#seen.set(key, seen);
    for (const policy of policies) this.#bursts.poke(policy);
  }

  remove(grant: LogDestinationGrant): void {
    const key = keyOf(grant.metadata);
    this.#seen.delete(key);
    this.#metrics.reason(key, undefined);
    if (grant.metadata.uid !== undefined) this.#memory.delete(grant.metadata.uid);
    for (const policy of this.#index.delete(grant)) this.#bursts.poke(policy);
  }

  /** The grants that name a policy, as the cache holds them now. */
  of(policyKey: string): LogDestinationGrant[] {
    const cache = this.#cache;
    if (!cache) return [];
    return this.#index.grantsOf(policyKey).flatMap((key) => {
      const ref = refOf(key);
      const grant = cache.get(ref.namespace, ref.name);
      return grant ? [grant] : [];
    });
  }

  named(policyKey: string): boolean {
    return this.#index.grantsOf(policyKey).length > 0;
  }

  /** The policies named by grants in these namespaces: both consents hang on a namespace's labels and bindings. */
  policiesIn(namespaces: readonly string[]): string[] {
    return this.#index.policiesOfNamespaces(namespaces);
  }

  stop(): void {
    this.#bursts.stop();
  }
}
