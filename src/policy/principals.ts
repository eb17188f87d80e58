// Who each Allow statement lets in, as grants a tenancy binding can be checked
// against: the reading of grantees.ts (shared with the guardrail, status and
// `diff`), one statement at a time so that a refusal can name the statement.
//
// A grant is fixed when it names one account, one organization or one service.
// Anything else (a wildcard or a policy variable in a value, a principal that
// is not in an account) is "unfixed": it can stand for accounts nobody listed,
// so no list of accounts, organizations or services permits it.
import { readStatements, type Grantee } from "./grantees.ts";
import type { PolicyDocumentInput } from "./types.ts";

export type Grant =
  | { kind: "account"; value: string }
  | { kind: "organization"; value: string }
  | { kind: "service"; value: string }
  /** A principal or value that names no fixed account, organization or service. */
  | { kind: "unfixed"; value: string };

export interface StatementGrants {
  index: number;
  sid?: string;
  /** Callers the statement does not name may use it (the guardrail's definition). */
  public: boolean;
  /** Everyone the statement lets in; all of them must be permitted. */
  grants: Grant[];
}

const UNFIXED = /[*?]|\$\{/;
// An IAM or STS ARN names its account in the fifth field.
const ARN_ACCOUNT = /^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):[^*?$]+$/;
const ORG_PATH = /^(o-[a-z0-9]{10,32})\//;

function grantOf(grantee: Grantee): Grant {
  const { kind, id } = grantee;
  // A path names its organization in the first segment; a wildcard after it only picks within.
  if (kind === "organization-path") {
    const org = ORG_PATH.exec(id)?.[1];
    return org === undefined
      ? { kind: "unfixed", value: id }
      : { kind: "organization", value: org };
  }
  if (UNFIXED.test(id)) return { kind: "unfixed", value: id };
  switch (kind) {
    case "account":
      return { kind: "account", value: id };
    case "organization":
      return { kind: "organization", value: id };
    case "principal": {
      const account = ARN_ACCOUNT.exec(id)?.[1];
      return account === undefined
        ? { kind: "unfixed", value: id }
        : { kind: "account", value: account };
    }
    case "service":
      return { kind: "service", value: id };
    case "everyone":
      // Public statements are told apart before their grantees are looked at.
      return { kind: "unfixed", value: "*" };
  }
}

/** The grants of every Allow statement, in document order. Deny statements grant nothing. */
export function allowGrants(document: PolicyDocumentInput): StatementGrants[] {
  return readStatements(document).map((reading) => ({
    index: reading.index,
    ...(reading.sid === undefined ? {} : { sid: reading.sid }),
    public: reading.open !== undefined,
    grants: reading.open === undefined ? reading.grantees.map(grantOf) : [],
  }));
}
