// Bounds on the structured spec.accessPolicy, which access-policy-schema.ts
// adds to the structure the CRD publishes: the API server refuses an object
// beyond them, before it reaches etcd, the watch cache or the controller. The
// IAM grammar itself stays in src/policy; these bounds only keep a tenant from
// storing a policy AWS would never accept.
//
// A structural schema cannot type a field that is "a string or a list" nor run
// CEL on it, so the bounds are per node: how many statements, keys and list
// items, how long each string. They cannot bound the total (see
// docs/operations.md); the watch cache and its list pages bound what the
// controller holds (src/kube/trim.ts, src/kube/watch.ts).
import { MAX_POLICY_BYTES } from "../util/limits.ts";

// Each bound is what the whole of AWS's 5120 bytes could hold at that node, so
// every policy AWS accepts is admitted ("nothing the grammar accepts is
// refused"), and no node can be larger than a whole valid policy.
const LIMIT = MAX_POLICY_BYTES;

/** The shortest statement, {"Action":"x","Effect":"Deny"}, is 29 bytes, plus a comma. */
export const POLICY_MAX_STATEMENTS = Math.floor(LIMIT / 30);
/** The shortest list item, "x", is 3 bytes, plus a comma. */
export const POLICY_MAX_LIST_ITEMS = Math.floor(LIMIT / 4);
/** Any one string: an ARN, an account, a condition value. */
export const POLICY_MAX_STRING = LIMIT;
/** The shortest operator or key entry, "B":{"k":"v"}, is about 16 bytes. */
export const POLICY_MAX_CONDITION_KEYS = Math.floor(LIMIT / 16);
/** Fields of a statement or of the document: enough for the grammar to name a misspelt one. */
export const POLICY_MAX_FIELDS = 16;

type Schema = Record<string, unknown>;

/** The bounds of a node that holds a string or a list of strings. */
export const stringOrListBounds: Schema = {
  maxLength: POLICY_MAX_STRING,
  maxItems: POLICY_MAX_LIST_ITEMS,
  items: { "x-kubernetes-preserve-unknown-fields": true, maxLength: POLICY_MAX_STRING },
};
