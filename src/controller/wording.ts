// How messages name things a tenant chose, and things it must not learn. Every
// status message and Event that names a destination, a region or another object
// goes through here, so the values are quoted and stripped of control
// characters (src/util/quote.ts) and another namespace's objects stay unnamed.
import { refOf } from "../kube/keys.ts";
import { quote } from "../util/quote.ts";

/** `destination "central" in "eu-west-1"`. */
export function whereText(target: { destinationName: string; region: string }): string {
  return `destination ${quote(target.destinationName)} in ${quote(target.region)}`;
}

/**
 * The object that owns a destination, as a reader in `namespace` may see it:
 * by name within its own namespace, and never by name or namespace outside it,
 * which would tell a tenant what another team manages.
 */
export function ownerText(ownerKey: string, namespace: string): string {
  const owner = refOf(ownerKey);
  return owner.namespace === namespace
    ? `the older LogDestinationPolicy ${quote(owner.name)} of this namespace`
    : "an older LogDestinationPolicy in another namespace";
}
