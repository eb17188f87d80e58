// The session name and tags of an assumed role, which tie AWS's audit trail
// (and a target account's trust policy) to a LogDestinationPolicy.
import { createHash } from "node:crypto";

const SESSION_MAX = 64;

/**
 * `ldp-<namespace>@<name>`, as STS allows it ([\w+=,.@-], at most 64
 * characters). Neither a namespace nor an object name can hold an `@`, so two
 * objects never share a session name (`team-a`/`x` and `team`/`a-x` differ).
 * A longer one keeps its start and ends in a hash of the whole, so two objects
 * never share a session name by truncation either.
 */
export function roleSessionName(namespace: string, name: string): string {
  return boundedSessionName(`ldp-${namespace}@${name}`, `${namespace}/${name}`);
}

/**
 * `ldp-<namespace>+drift-sweep`: the session of a drift sweep, which reads the
 * destinations of one namespace's objects. No object name holds a `+`, so it
 * is never an object's session name.
 */
export function sweepSessionName(namespace: string): string {
  return boundedSessionName(`ldp-${namespace}+drift-sweep`, `${namespace}+`);
}

function boundedSessionName(wanted: string, identity: string): string {
  const full = wanted.replace(/[^\w+=,.@-]/g, "-");
  if (full.length <= SESSION_MAX) return full;
  const hash = createHash("sha256").update(identity).digest("hex").slice(0, 16);
  return `${full.slice(0, SESSION_MAX - hash.length - 1)}-${hash}`;
}

/**
 * Session tags naming the object, so a target account's trust policy can tie
 * a role to a namespace (`aws:RequestTag/ldpc-namespace`). STS allows tag
 * values of up to 256 characters; an object name has at most 253.
 */
const SESSION_TAG_NAMESPACE = "ldpc-namespace";
const SESSION_TAG_NAME = "ldpc-name";

export function roleSessionTags(namespace: string, name: string): Record<string, string> {
  return { [SESSION_TAG_NAMESPACE]: namespace, [SESSION_TAG_NAME]: name };
}

/** A sweep acts for one namespace's objects, not for one object: it carries no name tag. */
export function sweepSessionTags(namespace: string): Record<string, string> {
  return { [SESSION_TAG_NAMESPACE]: namespace };
}

/** The session name used when a caller names none. */
export const DEFAULT_SESSION_NAME = "log-destination-policy-controller";
