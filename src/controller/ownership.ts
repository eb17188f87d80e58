// Which object owns a destination when several target the same one (same
// account, region and name, see destinationId). The oldest object wins, so ownership is stable:
// a newer object can never take a destination away and AWS writes never
// alternate. Kept as an index so a reconcile never scans every object.
import type { LogDestinationPolicy } from "../api/v1alpha1.ts";
import { accountOfArn } from "../util/arn.ts";

export interface Claim {
  key: string;
  createdAt: number;
  uid: string;
}

/** Stands for the controller's own account until GetCallerIdentity has answered. */
export const UNRESOLVED_ACCOUNT = "?";

/**
 * One name per destination, whatever the route to it: the account it lives in
 * (the role's, or the controller's own when there is no role), region and name.
 * A role-less object and an object whose role is in the controller's own account
 * name the same destination, so they are one target: one owner, one record.
 */
export function destinationId(
  region: string,
  destinationName: string,
  roleArn: string | undefined,
  ownAccount: string | undefined,
): string {
  const account =
    roleArn === undefined
      ? (ownAccount ?? UNRESOLVED_ACCOUNT)
      : (accountOfArn(roleArn)?.accountId ?? roleArn);
  return `${account}/${region}/${destinationName}`;
}

/** True while the id's account waits for the controller's own identity. */
export function unresolved(id: string): boolean {
  return id.startsWith(`${UNRESOLVED_ACCOUNT}/`);
}

/** The destination an object points at, in any mode, from its raw spec; undefined if it names none. */
export function destinationOf(
  obj: LogDestinationPolicy,
  defaultRegion: string | undefined,
  ownAccount: string | undefined,
): string | undefined {
  const spec = obj.spec as Record<string, unknown> | undefined;
  if (typeof spec?.destinationName !== "string") return undefined;
  const region = typeof spec.region === "string" ? spec.region : (defaultRegion ?? "");
  const role = typeof spec.roleArn === "string" ? spec.roleArn : undefined;
  return destinationId(region, spec.destinationName, role, ownAccount);
}

/** The destination an object claims to write; undefined if it claims none. */
export function targetOf(
  obj: LogDestinationPolicy,
  defaultRegion: string | undefined,
  ownAccount: string | undefined,
): string | undefined {
  // Observe mode never writes, so it neither owns a destination nor blocks one.
  if ((obj.spec as Record<string, unknown> | undefined)?.mode === "Observe") return undefined;
  return destinationOf(obj, defaultRegion, ownAccount);
}

const older = (a: Claim, b: Claim) =>
  a.createdAt !== b.createdAt
    ? a.createdAt < b.createdAt
    : a.uid !== b.uid
      ? a.uid < b.uid
      : a.key < b.key;

export class OwnershipIndex {
  readonly #claims = new Map<string, Map<string, Claim>>();
  readonly #targetOfKey = new Map<string, string>();

  /**
   * Records where an object points. Returns the keys of every object whose
   * ownership may have changed as a result, so they can be reconciled again.
   */
  set(key: string, target: string | undefined, claim: Omit<Claim, "key">): string[] {
    const before = this.#targetOfKey.get(key);
    if (before === target) return [];
    const affected = before ? this.#drop(key, before) : [];
    if (target === undefined) return affected;
    this.#targetOfKey.set(key, target);
    let members = this.#claims.get(target);
    if (!members) {
      members = new Map<string, Claim>();
      this.#claims.set(target, members);
    }
    members.set(key, { key, ...claim });
    return [...affected, ...[...members.keys()].filter((k) => k !== key)];
  }

  /** Forgets an object; returns the keys that may now own its destination. */
  delete(key: string): string[] {
    const target = this.#targetOfKey.get(key);
    return target ? this.#drop(key, target) : [];
  }

  #drop(key: string, target: string): string[] {
    this.#targetOfKey.delete(key);
    const members = this.#claims.get(target);
    if (!members) return [];
    members.delete(key);
    if (members.size === 0) this.#claims.delete(target);
    return [...members.keys()];
  }

  /** The destination the key claims, if any. */
  targetOfKey(key: string): string | undefined {
    return this.#targetOfKey.get(key);
  }

  /** The owner's key when it is another object; undefined when `key` owns its destination or claims none. */
  ownerOtherThan(key: string): string | undefined {
    const target = this.#targetOfKey.get(key);
    const members = target ? this.#claims.get(target) : undefined;
    if (!members || members.size < 2) return undefined;
    let owner: Claim | undefined;
    for (const claim of members.values()) if (!owner || older(claim, owner)) owner = claim;
    return owner && owner.key !== key ? owner.key : undefined;
  }
}
