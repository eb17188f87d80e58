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

/** At least as many as fit in AWS's 5120 bytes for realistic statements. */
export const POLICY_MAX_STATEMENTS = 32;
/** Accounts, actions, resources or condition values in one list. */
export const POLICY_MAX_LIST_ITEMS = 128;
/** Any one string: an ARN, an account, a condition value. */
export const POLICY_MAX_STRING = 2048;
/** Condition operators in one statement, and keys under one operator. */
export const POLICY_MAX_CONDITION_KEYS = 16;
/** Fields of a statement or of the document: enough for the grammar to name a misspelt one. */
export const POLICY_MAX_FIELDS = 16;

type Schema = Record<string, unknown>;

/** The bounds of a node that holds a string or a list of strings. */
export const stringOrListBounds: Schema = {
  maxLength: POLICY_MAX_STRING,
  maxItems: POLICY_MAX_LIST_ITEMS,
  items: { "x-kubernetes-preserve-unknown-fields": true, maxLength: POLICY_MAX_STRING },
};
