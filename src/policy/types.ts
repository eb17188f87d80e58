// Shapes of IAM policy documents as this controller accepts, sends and compares them.

export type PolicyVersion = "2012-10-17" | "2008-10-17";

export type Effect = "Allow" | "Deny";

export type StringOrList = string | string[];

export type PrincipalType = "AWS" | "Service" | "Federated" | "CanonicalUser";

export type PrincipalMap = Partial<Record<PrincipalType, StringOrList>>;

export type Principal = "*" | PrincipalMap;

export type ConditionScalar = string | boolean | number;

export type ConditionValue = ConditionScalar | ConditionScalar[];

/** operator (e.g. "StringEquals") -> condition key (e.g. "aws:PrincipalOrgID") -> value(s) */
export type ConditionBlock = Record<string, Record<string, ConditionValue>>;

export interface PolicyStatement {
  Sid?: string;
  Effect: Effect;
  Principal?: Principal;
  NotPrincipal?: Principal;
  Action?: StringOrList;
  NotAction?: StringOrList;
  Resource?: StringOrList;
  NotResource?: StringOrList;
  Condition?: ConditionBlock;
}

/**
 * A validated policy in the form the user wrote it. `Statement` keeps the single-object form
 * when the user wrote one, because the document is sent as written (modulo key order).
 */
export interface PolicyDocument {
  Version: PolicyVersion;
  Id?: string;
  Statement: PolicyStatement | PolicyStatement[];
}

/** A policy read back from AWS, which may omit `Version` (IAM then assumes "2008-10-17"). */
export type PolicyDocumentInput = Omit<PolicyDocument, "Version"> & { Version?: PolicyVersion };

export type NormalizedPrincipal = "*" | Partial<Record<PrincipalType, string[]>>;

export interface NormalizedStatement {
  Sid?: string;
  Effect: Effect;
  Principal?: NormalizedPrincipal;
  NotPrincipal?: NormalizedPrincipal;
  Action?: string[];
  NotAction?: string[];
  Resource?: string[];
  NotResource?: string[];
  Condition?: Record<string, Record<string, string[]>>;
}

/** The semantic form: equal normalized policies grant exactly the same access. */
export interface NormalizedPolicy {
  Version: PolicyVersion;
  Id?: string;
  Statement: NormalizedStatement[];
}

/**
 * One problem with a policy. `path` starts with the caller's prefix and continues with dotted
 * field names and `[index]` / `["key"]` segments, e.g. `spec.accessPolicy.Statement[0].Effect`.
 */
export interface PolicyIssue {
  path: string;
  message: string;
}
