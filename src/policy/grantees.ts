// The one reading of who a policy lets in. The public-access guardrail, the
// tenancy binding matcher, status, `validate` and `diff` all take it from
// here, so none of them can see a principal another one misses.
//
// Read from the Allow statements only: a Deny can take access away under
// conditions no static reading can settle, so Deny statements show up as
// statement changes instead. Actions are not looked at: any Allow counts as
// access, which errs on the side of showing too much.
//
// A statement names its callers when every principal is a fixed AWS account,
// role or user, or a fixed service name; an open AWS principal ("*", or a
// wildcard or policy variable in an AWS value) counts only when a condition
// narrows it to fixed accounts or organizations (narrowing.ts). Whatever is not
// read as named callers lets everyone in, and so is public: no Principal,
// NotPrincipal, a wildcard in a Service value, and every principal type no
// binding can name (Federated web identities, CanonicalUser, anything else).
// Pure, and free of the binding's terms, so other kinds can reuse it.
import { statementList } from "./canonical.ts";
import { isFixedValue, narrowedCallers } from "./narrowing.ts";
import type { PolicyDocumentInput, PolicyStatement } from "./types.ts";
import { isRecord } from "../util/record.ts";

export const GRANTEE_KINDS = [
  "everyone",
  "organization",
  "organization-path",
  "account",
  "principal",
  "service",
] as const;

export type GranteeKind = (typeof GRANTEE_KINDS)[number];

export interface Grantee {
  kind: GranteeKind;
  /** The account ID, organization ID, path, ARN or service name; "*" for everyone. */
  id: string;
}

/** Why a statement lets in callers it does not name. */
export type OpenReason =
  | { because: "no-principal" }
  | { because: "not-principal" }
  /** "*" or an AWS value with a wildcard or policy variable, and no narrowing condition. */
  | { because: "open" }
  /** A wildcard or policy variable in a value of a type no condition narrows (Service). */
  | { because: "wildcard"; type: string }
  /** A principal type that no binding can name and no condition narrows. */
  | { because: "unnamed-type"; type: string };

/** What one Allow statement lets in. */
export interface StatementReading {
  /** Position in the document's Statement list (0 for a single-statement object). */
  index: number;
  sid?: string;
  /** Set when the statement lets in callers it does not name: it is public. */
  open?: OpenReason;
  /** Everyone the statement lets in; [everyone] when it is open. */
  grantees: Grantee[];
}

export interface AccessChange {
  gained: Grantee[];
  lost: Grantee[];
}

const EVERYONE: Grantee = { kind: "everyone", id: "*" };
const ACCOUNT_ID = /^\d{12}$/;
// IAM documents "123456789012" and "arn:aws:iam::123456789012:root" as the same principal.
const ACCOUNT_ROOT_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):root$/;

function awsGrantee(value: string): Grantee {
  if (ACCOUNT_ID.test(value)) return { kind: "account", id: value };
  const root = ACCOUNT_ROOT_ARN.exec(value)?.[1];
  return root === undefined ? { kind: "principal", id: value } : { kind: "account", id: root };
}

function valuesOf(raw: unknown): unknown[] {
  return Array.isArray(raw) ? raw : [raw];
}

/** Reads one Allow statement; raw values, as a live policy may hold odd shapes. */
function readAllow(statement: PolicyStatement): { open?: OpenReason; grantees: Grantee[] } {
  if (statement.NotPrincipal !== undefined)
    return { open: { because: "not-principal" }, grantees: [] };
  const principal: unknown = statement.Principal;
  let wide = principal === "*";
  const named: Grantee[] = [];
  if (!wide) {
    if (!isRecord(principal) || Object.keys(principal).length === 0) {
      return { open: { because: "no-principal" }, grantees: [] };
    }
    for (const [type, raw] of Object.entries(principal)) {
      const values = valuesOf(raw);
      if (values.length === 0) return { open: { because: "no-principal" }, grantees: [] };
      for (const value of values) {
        const fixed = typeof value === "string" && isFixedValue(value);
        if (type === "AWS") {
          if (fixed) named.push(awsGrantee(value));
          else wide = true; // narrowed by a condition, or public
        } else if (type === "Service") {
          if (!fixed) return { open: { because: "wildcard", type }, grantees: [] };
          named.push({ kind: "service", id: value });
        } else {
          return { open: { because: "unnamed-type", type }, grantees: [] };
        }
      }
    }
  }
  if (!wide) return { grantees: named };
  const narrowed = narrowedCallers(statement.Condition);
  if (narrowed.length === 0) return { open: { because: "open" }, grantees: [] };
  return { grantees: [...named, ...narrowed] };
}

/** What each Allow statement lets in, in document order. Deny statements grant nothing. */
export function readStatements(document: PolicyDocumentInput): StatementReading[] {
  const out: StatementReading[] = [];
  statementList(document).forEach((statement, index) => {
    if (statement.Effect !== "Allow") return;
    const sid = statement.Sid === undefined || statement.Sid === "" ? {} : { sid: statement.Sid };
    const { open, grantees: found } = readAllow(statement);
    out.push(
      open === undefined
        ? { index, ...sid, grantees: unique(found) }
        : { index, ...sid, open, grantees: [EVERYONE] },
    );
  });
  return out;
}

function keyOf(grantee: Grantee): string {
  return `${grantee.kind}\u0000${grantee.id}`;
}

function unique(list: Iterable<Grantee>): Grantee[] {
  return sorted(new Map([...list].map((g) => [keyOf(g), g])).values());
}

function sorted(list: Iterable<Grantee>): Grantee[] {
  const rank = (kind: GranteeKind) => GRANTEE_KINDS.indexOf(kind);
  return [...list].sort((a, b) =>
    a.kind === b.kind ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : rank(a.kind) - rank(b.kind),
  );
}

/** Everyone the Allow statements let in, without duplicates, everyone first, then by ID. */
export function grantees(document: PolicyDocumentInput): Grantee[] {
  return unique(readStatements(document).flatMap((s) => s.grantees));
}

/** Who gains and who loses access when `live` (undefined: no policy) becomes `desired`. */
export function accessChange(
  live: PolicyDocumentInput | undefined,
  desired: PolicyDocumentInput,
): AccessChange {
  const before = new Map((live === undefined ? [] : grantees(live)).map((g) => [keyOf(g), g]));
  const after = new Map(grantees(desired).map((g) => [keyOf(g), g]));
  return {
    gained: sorted([...after].filter(([key]) => !before.has(key)).map(([, g]) => g)),
    lost: sorted([...before].filter(([key]) => !after.has(key)).map(([, g]) => g)),
  };
}

/**
 * Whether the change switches from account IDs to an organization, the case for
 * which PutDestinationPolicy wants forceUpdate: the senders' subscription filters
 * must be updated first, or they may stop working.
 */
export function switchesToOrganization(
  live: PolicyDocumentInput | undefined,
  desired: PolicyDocumentInput,
): boolean {
  if (live === undefined) return false;
  const before = grantees(live);
  const after = grantees(desired);
  return (
    before.some((g) => g.kind === "account") &&
    !before.some((g) => g.kind === "organization") &&
    after.some((g) => g.kind === "organization")
  );
}

/** "account 111122223333", "organization o-a1b2c3d4e5", "everyone (any AWS account)". */
export function describeGrantee(grantee: Grantee): string {
  switch (grantee.kind) {
    case "everyone":
      return "everyone (any AWS account)";
    case "organization-path":
      return `organization path ${grantee.id}`;
    default:
      return `${grantee.kind} ${grantee.id}`;
  }
}
