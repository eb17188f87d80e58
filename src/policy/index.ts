// The pure policy core: validation, canonical form, comparison, guardrails. No I/O here.

export type {
  ConditionBlock,
  Effect,
  PolicyDocument,
  PolicyDocumentInput,
  PolicyIssue,
  PolicyStatement,
  Principal,
} from "./types.ts";
export { parseLivePolicy, validatePolicyDocument } from "./grammar.ts";
export {
  DEFAULT_POLICY_VERSION,
  canonicalJson,
  normalizePolicy,
  policiesEqual,
  policyHash,
} from "./canonical.ts";
export {
  MAX_REPORTED_ISSUES,
  resolveAccessPolicy,
  utf8ByteLength,
  type AccessPolicyInput,
  type AccessPolicyResult,
  type ResolvedAccessPolicy,
} from "./access-policy.ts";
export { describePublicStatements, findPublicStatements } from "./public-access.ts";
export { MAX_DIFF_TEXT_CHARS, summarizePolicyDiff, type PolicyDiffSummary } from "./diff.ts";
export {
  GRANTEE_KINDS,
  accessChange,
  describeGrantee,
  grantees,
  readStatements,
  switchesToOrganization,
  type Grantee,
  type OpenReason,
  type StatementReading,
} from "./grantees.ts";
export { POLICY_SIZE_WARNING_BYTES, policySizeWarning } from "./size.ts";
export { allowGrants, type Grant, type StatementGrants } from "./principals.ts";
