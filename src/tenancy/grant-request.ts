// The two consents a LogDestinationGrant needs before its principals may reach
// AWS. The owner's: the policy's spec.grants.from selects the grant's namespace.
// The platform team's: a binding that selects the grant's namespace permits the
// policy's destination, region and role and every principal of the grant. The
// second is the same matcher objects of the policy kind go through, given the
// statements the grant would add, so a grant can reach exactly what a policy in
// its namespace could.
import type { LabelSelector } from "../api/binding.ts";
import { GRANT_STATEMENT_IDS, grantDocument, type GrantPrincipals } from "../policy/merge.ts";
import type { PermissionRequest } from "./permission.ts";
import { compileSelector, type Labels } from "./selector.ts";

export interface GrantTarget {
  destinationName: string;
  region: string;
  roleArn?: string | undefined;
  /** The destination's ARN, the Resource of the grant's statements. */
  resource: string;
  actions: readonly string[];
}

const FIELD_OF_STATEMENT = new Map<string, string>([
  [GRANT_STATEMENT_IDS.accounts, "spec.principals.accounts"],
  [GRANT_STATEMENT_IDS.organizationIds, "spec.principals.organizationIds"],
  [GRANT_STATEMENT_IDS.organizationPaths, "spec.principals.organizationPaths"],
]);

/** Whether the policy's owner accepts grants from a namespace with these labels. */
export function ownerAccepts(from: LabelSelector | undefined, labels: Labels): boolean {
  return from !== undefined && compileSelector(from)(labels);
}

/** What a grant asks of the bindings that select its own namespace. */
export function grantPermissionRequest(
  namespace: string,
  principals: GrantPrincipals,
  target: GrantTarget,
): PermissionRequest {
  return {
    namespace,
    destinationName: target.destinationName,
    region: target.region,
    ...(target.roleArn === undefined ? {} : { roleArn: target.roleArn }),
    allowPublicAccess: false,
    document: grantDocument(principals, target.resource, target.actions),
    policyField: "spec.principals",
    statementField: ({ sid }) => FIELD_OF_STATEMENT.get(sid ?? ""),
  };
}
