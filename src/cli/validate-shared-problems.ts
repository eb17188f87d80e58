// What `validate` reports as problems about a shared destination: a grant its
// policy refuses, at the field that is refused, and owner statements that use
// the ids the merge writes.
import { statementList } from "../policy/canonical.ts";
import { GRANT_STATEMENT_IDS } from "../policy/merge.ts";
import { principalsOf } from "../tenancy/grant-verdicts.ts";
import {
  grantPermissionRequest,
  type GrantTarget,
  type Permission,
  type PermissionRequest,
} from "../tenancy/index.ts";
import { isRecord } from "../util/record.ts";
import { parsePath } from "./manifest-lines.ts";
import type { ManifestPolicy, Problem } from "./validate-core.ts";
import type { ManifestGrant } from "./validate-grant.ts";
import type { GrantReason } from "./validate-shared.ts";

const RESERVED_SIDS = new Set<string>(Object.values(GRANT_STATEMENT_IDS));

/**
 * Refusals fail the run; InvalidSpec was already reported field by field.
 * Returns the message to show: a NotPermitted one without the controller's note
 * on AWS calls, which is about the cluster, not the manifest.
 */
export function refusalProblem(
  grant: ManifestGrant,
  refused: { reason: GrantReason; message: string },
  target: GrantTarget,
  decideFor: (request: PermissionRequest) => Permission,
  problems: Problem[],
): string {
  const { reason, message } = refused;
  if (reason === "NotAccepted") {
    const line = grant.lineOf(["policyRef"]);
    problems.push({ file: grant.file, line, path: "spec.policyRef", message });
    return message;
  }
  if (reason !== "NotPermitted" || grant.spec === undefined) return message;
  // Asked again for the refusal's field, so that the problem points at the principal refused.
  const permission = decideFor(
    grantPermissionRequest(grant.namespace, principalsOf(grant.spec.principals), target),
  );
  if (permission.permitted) return message;
  const [first] = permission.refusals;
  const field = first?.field ?? "spec.principals";
  const segments = parsePath(field).slice(1);
  const values: unknown = segments.reduce<unknown>(
    (node, segment) => (isRecord(node) ? node[segment] : undefined),
    grant.spec,
  );
  const index =
    Array.isArray(values) && first
      ? values.findIndex((v) => {
          // The refusal quotes the value, after its kind: account "444455556666".
          const quoted = JSON.stringify(v);
          return first.value === quoted || first.value.endsWith(` ${quoted}`);
        })
      : -1;
  const line = grant.lineOf(index >= 0 ? [...segments, index] : segments);
  const text =
    first && permission.reason.startsWith(`${first.field}: `)
      ? permission.reason.slice(first.field.length + 2)
      : permission.reason;
  problems.push({ file: grant.file, line, path: field, message: text });
  return permission.reason;
}

/** The merge names its own statements; an owner statement by one of those ids could not be told apart. */
export function reservedSids(policy: ManifestPolicy): Problem[] {
  const field = policy.spec.accessPolicy === undefined ? "accessPolicyJson" : "accessPolicy";
  return statementList(policy.policy.document).flatMap((statement, index) =>
    statement.Sid === undefined || !RESERVED_SIDS.has(statement.Sid)
      ? []
      : [
          {
            file: policy.file,
            line: policy.lineOf(field),
            path: `spec.${field}.Statement[${String(index)}].Sid`,
            message: `${JSON.stringify(statement.Sid)} is reserved for the statements merged from grants while spec.grants is set`,
          },
        ],
  );
}
