// Who each Allow statement lets in, as grants a tenancy binding can be checked
// against. Built on grantees.ts, the reading that status and `diff` use, one
// statement at a time so that a refusal can name the statement.
//
// A grant is fixed when it names one account or one organization. Anything
// else (a wildcard or a policy variable in a value, a service, a principal
// that is not in an account) is "unfixed": it can stand for accounts nobody
// listed, so no list of accounts or organizations permits it.
import { statementList } from "./canonical.ts";
import { grantees, type Grantee } from "./grantees.ts";
import { findPublicStatements } from "./public-access.ts";
import type { PolicyDocumentInput } from "./types.ts";

export type Grant =
  | { kind: "account"; value: string }
  | { kind: "organization"; value: string }
  /** A principal or value that names no fixed account or organization. */
  | { kind: "unfixed"; value: string };

export interface StatementGrants {
  index: number;
  sid?: string;
  /** Every AWS account may use the statement (the guardrail's definition). */
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
  // A path stays inside its organization whatever follows the fixed organization ID.
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
      return { kind: "unfixed", value: `Service:${id}` };
    case "everyone":
      // Not public (that is told apart above), yet open: narrowed by nothing grantees reads.
      return { kind: "unfixed", value: "*" };
  }
}

/** The grants of every Allow statement, in document order. Deny statements grant nothing. */
export function allowGrants(document: PolicyDocumentInput): StatementGrants[] {
  const publicIndexes = new Set(findPublicStatements(document).map((s) => s.index));
  const out: StatementGrants[] = [];
  statementList(document).forEach((statement, index) => {
    if (statement.Effect !== "Allow") return;
    const sid = statement.Sid === undefined || statement.Sid === "" ? {} : { sid: statement.Sid };
    if (publicIndexes.has(index)) {
      out.push({ index, ...sid, public: true, grants: [] });
      return;
    }
    const found = grantees({ Version: "2012-10-17", Statement: [statement] });
    out.push({ index, ...sid, public: false, grants: found.map(grantOf) });
  });
  return out;
}
