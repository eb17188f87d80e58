// The pure policy core: validation, canonical form, comparison, guardrails. No I/O here.

export type {
  ConditionBlock,
  ConditionScalar,
  ConditionValue,
  Effect,
  NormalizedPolicy,
  NormalizedPrincipal,
  NormalizedStatement,
  PolicyDocument,
  PolicyDocumentInput,
  PolicyIssue,
  PolicyStatement,
  PolicyVersion,
  Principal,
  PrincipalMap,
  PrincipalType,
  StringOrList,
} from "./types.ts";
export {
  POLICY_VERSIONS,
  parseLivePolicy,
  policyDocumentSchema,
  validatePolicyDocument,
  type PolicyValidationResult,
} from "./grammar.ts";
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
export {
  NARROWING_CONDITION_KEYS,
  NARROWING_OPERATORS,
  describePublicStatements,
  findPublicStatements,
  isFixedValue,
  isPublicStatement,
  principalValues,
  type PublicStatement,
} from "./public-access.ts";
export { MAX_DIFF_TEXT_CHARS, summarizePolicyDiff, type PolicyDiffSummary } from "./diff.ts";
export {
  GRANTEE_KINDS,
  accessChange,
  describeGrantee,
  grantees,
  switchesToOrganization,
  type AccessChange,
  type Grantee,
  type GranteeKind,
} from "./grantees.ts";
export { POLICY_SIZE_WARNING_BYTES, policySizeWarning } from "./size.ts";
export { allowGrants, type Grant, type StatementGrants } from "./principals.ts";
