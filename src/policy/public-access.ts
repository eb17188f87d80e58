// Guardrail against policies that let any AWS account subscribe to a destination.
//
// The rule is the one S3 uses to decide whether a bucket policy is public: an
// Allow statement is not public only when it names its callers by fixed values.
// Either every principal is a fixed AWS account, role or user, or a fixed
// service name (no `*`, no `?`, no `${…}` policy variable), or a condition
// narrows an open AWS principal to fixed accounts or organizations
// (narrowing.ts). Everything else counts as public: no Principal, NotPrincipal,
// a wildcard in a Service value, a principal type no binding can name
// (Federated, CanonicalUser), and shapes that look narrow and are not.
// The reading itself is grantees.ts, shared with the binding matcher, status,
// `validate` and `diff`; docs/public-access.md lists the shapes and verdicts.

import { readStatements, type OpenReason } from "./grantees.ts";
import { quote } from "./issues.ts";
import { NARROWING_CONDITION_KEYS, NARROWING_OPERATORS } from "./narrowing.ts";
import type { PolicyDocumentInput } from "./types.ts";

export interface PublicStatement {
  /** Position in the document's Statement list (0 for a single-statement object). */
  index: number;
  sid?: string;
  /** Why it is public; absent only in hand-made values. */
  open?: OpenReason;
}

/** The Allow statements that callers not named by fixed values can use, in document order. */
export function findPublicStatements(document: PolicyDocumentInput): PublicStatement[] {
  const found: PublicStatement[] = [];
  for (const reading of readStatements(document)) {
    if (reading.open === undefined) continue;
    const { index, sid, open } = reading;
    found.push(sid === undefined ? { index, open } : { index, sid, open });
  }
  return found;
}

function statementLabel(index: number, sid: string | undefined): string {
  return sid === undefined || sid === ""
    ? `Statement[${index}]`
    : `Statement[${index}] (Sid ${quote(sid)})`;
}

/** What lets everyone in, as the end of "Statement[0] …". */
function reasonText(open: OpenReason | undefined): string {
  switch (open?.because) {
    case "no-principal":
      return "names no Principal, so it applies to every caller";
    case "not-principal":
      return "uses NotPrincipal, which lets in everyone it does not list";
    case "wildcard":
      return `has a wildcard or policy variable in a ${open.type} principal, which no condition narrows`;
    case "unnamed-type":
      return `names a ${quote(open.type)} principal, a type that names no AWS account`;
    case "open":
    case undefined:
      return 'allows "*" or an AWS principal with a wildcard or policy variable, and no condition narrows it';
  }
}

/** A sentence naming every public statement, why, and the rule, for a condition or event message. */
export function describePublicStatements(statements: readonly PublicStatement[]): string {
  if (statements.length === 0) return "no statement allows access to every AWS principal";
  const parts = statements.map(
    (statement) =>
      `${statementLabel(statement.index, statement.sid)} ${reasonText(statement.open)}`,
  );
  return (
    `${parts.join("; ")} (a statement is not public when it names fixed AWS accounts, roles or ` +
    `services, with no *, ? or \${…}, or when a ${NARROWING_OPERATORS.join(", ")} condition with ` +
    `fixed values on ${NARROWING_CONDITION_KEYS.join(", ")} narrows "*" or an AWS wildcard)`
  );
}
