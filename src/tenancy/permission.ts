// The tenancy rule, pure: an object is permitted when at least one binding that
// selects its namespace permits all of its destination name, its effective
// region, its role (or no role), every principal of every Allow statement, and
// spec.allowPublicAccess when the object sets it. Principals are read once, by
// src/policy/grantees.ts (through allowGrants), as the guardrail reads them: a
// statement that lets in callers it does not name is public, and only a
// binding with allowPublicAccess permits it. Otherwise the refusal names,
// per selecting binding, the first thing that binding does not permit, in that
// order. Nothing here reads AWS, so a refusal can never reveal live state.
import { bindingSpecSchema, type BindingSpec } from "../api/binding.ts";
import { formatZodIssues } from "../api/field-path.ts";
import { allowGrants, type Grant, type StatementGrants } from "../policy/principals.ts";
import { quote } from "../policy/issues.ts";
import type { PolicyDocumentInput } from "../policy/types.ts";
import { compileGlob, type Glob } from "../util/glob.ts";
import { compileSelector, type Labels, type SelectorMatcher } from "./selector.ts";

/**
 * Turns role ARNs or patterns into a predicate. The controller passes the
 * --allowed-role-arns matcher (src/aws/roles.ts), so a binding's patterns mean
 * exactly what the operator's allow-list patterns mean.
 */
export type RoleMatcherFactory = (patterns: readonly string[]) => (roleArn: string) => boolean;

export interface CompiledBinding {
  readonly name: string;
  /** Set when the spec is invalid: such a binding selects nothing and permits nothing. */
  readonly problem?: string;
  readonly selects: SelectorMatcher;
  readonly destinations: readonly Glob[];
  readonly regions?: ReadonlySet<string>;
  /** Absent: objects may not name a role. */
  readonly roleAllows?: (roleArn: string) => boolean;
  readonly principals?: {
    accounts: ReadonlySet<string>;
    organizations: ReadonlySet<string>;
    services: ReadonlySet<string>;
  };
  readonly allowPublicAccess: boolean;
}

export function compileBinding(
  name: string,
  spec: unknown,
  roles: RoleMatcherFactory,
): CompiledBinding {
  const parsed = bindingSpecSchema.safeParse(spec ?? {});
  if (!parsed.success) {
    return {
      name,
      problem: formatZodIssues(parsed.error, "spec"),
      selects: () => false,
      destinations: [],
      allowPublicAccess: false,
    };
  }
  let roleAllows: ((roleArn: string) => boolean) | undefined;
  try {
    roleAllows = parsed.data.roleArns ? roles(parsed.data.roleArns) : undefined;
  } catch (error) {
    return {
      name,
      problem: `spec.roleArns: ${error instanceof Error ? error.message : String(error)}`,
      selects: () => false,
      destinations: [],
      allowPublicAccess: false,
    };
  }
  return compileValid(name, parsed.data, roleAllows);
}

function compileValid(
  name: string,
  spec: BindingSpec,
  roleAllows: ((roleArn: string) => boolean) | undefined,
): CompiledBinding {
  const p = spec.principals;
  return {
    name,
    selects: compileSelector(spec.namespaceSelector),
    destinations: spec.destinations.map(compileGlob),
    ...(spec.regions ? { regions: new Set(spec.regions) } : {}),
    ...(roleAllows ? { roleAllows } : {}),
    ...(p
      ? {
          principals: {
            accounts: new Set(p.accounts ?? []),
            organizations: new Set(p.organizationIds ?? []),
            services: new Set(p.services ?? []),
          },
        }
      : {}),
    allowPublicAccess: spec.allowPublicAccess,
  };
}

/** What an object asks for, from its spec. */
export interface PermissionRequest {
  namespace: string;
  destinationName: string;
  /** The effective region: spec.region or the controller's default. */
  region: string;
  roleArn?: string;
  allowPublicAccess: boolean;
  /** The resolved policy; absent when it does not resolve (the object is refused as invalid anyway). */
  document?: PolicyDocumentInput;
  /** The field the policy came from, for messages: spec.accessPolicy or spec.accessPolicyJson. */
  policyField?: string;
  /** Names a statement's field in messages, for kinds whose statements are built from other fields. */
  statementField?: (statement: { index: number; sid?: string }) => string | undefined;
}

/** The first thing one binding does not permit. */
export interface Refusal {
  binding: string;
  field: string;
  /** What the object asked for, quoted: the object's own input, nothing else. */
  value: string;
}

export type Permission =
  | { permitted: true; binding: string }
  | {
      permitted: false;
      bindings: string[];
      refusals: Refusal[];
      /** What is not permitted and by which bindings, for offline checks. */
      reason: string;
      /** The reason, and that nothing was done in AWS: the controller's condition message. */
      message: string;
    };

const MAX_NAMED = 10;
const NO_CALL =
  "No AWS call was made for this object; a policy applied earlier stays in AWS as it is.";

/** Every binding (valid or not) that selects a namespace with these labels, by name. */
export function selecting(bindings: Iterable<CompiledBinding>, labels: Labels): CompiledBinding[] {
  const out: CompiledBinding[] = [];
  for (const binding of bindings) if (binding.selects(labels)) out.push(binding);
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** `selected` must be the bindings that select the request's namespace, sorted by name. */
export function decide(
  selected: readonly CompiledBinding[],
  request: PermissionRequest,
): Permission {
  const refusals: Refusal[] = [];
  let grants: StatementGrants[] | undefined;
  for (const binding of selected) {
    grants ??= request.document ? allowGrants(request.document) : [];
    const refusal = refusalOf(binding, request, grants);
    if (!refusal) return { permitted: true, binding: binding.name };
    refusals.push(refusal);
  }
  const reason = refusalReason(request, refusals);
  return {
    permitted: false,
    bindings: selected.map((b) => b.name),
    refusals,
    reason,
    message: `${reason} ${NO_CALL}`,
  };
}

function refusalReason(request: PermissionRequest, refusals: readonly Refusal[]): string {
  if (refusals.length === 0) {
    return `No LogDestinationPolicyBinding selects namespace ${request.namespace}, so objects in it may not manage any destination.`;
  }
  const [first, ...others] = refusals.slice(0, MAX_NAMED);
  const parts = [
    `${first?.field ?? ""}: ${first?.value ?? ""} is not permitted by binding ${first?.binding ?? ""}`,
  ];
  for (const r of others) parts.push(`binding ${r.binding} does not permit ${r.field} ${r.value}`);
  const more = refusals.length > MAX_NAMED ? ` and ${refusals.length - MAX_NAMED} more` : "";
  const names = refusals.map((r) => r.binding);
  const listed =
    names.length > MAX_NAMED ? `${names.slice(0, MAX_NAMED).join(", ")}, …` : names.join(", ");
  return `${parts.join("; ")}${more} (the bindings that select namespace ${request.namespace}: ${listed}).`;
}

/** The first thing `binding` does not permit, or undefined when it permits everything. */
export function refusalOf(
  binding: CompiledBinding,
  request: PermissionRequest,
  grants: readonly StatementGrants[],
): Refusal | undefined {
  const refuse = (field: string, value: string): Refusal => ({
    binding: binding.name,
    field,
    value,
  });
  if (binding.problem !== undefined) return refuse("anything", "(the binding is invalid)");
  if (!binding.destinations.some((glob) => glob.matches(request.destinationName))) {
    return refuse("spec.destinationName", quote(request.destinationName));
  }
  if (binding.regions && !binding.regions.has(request.region)) {
    return refuse("spec.region", quote(request.region));
  }
  if (request.roleArn !== undefined && !binding.roleAllows?.(request.roleArn)) {
    return refuse("spec.roleArn", quote(request.roleArn));
  }
  const field = request.policyField ?? "spec.accessPolicy";
  for (const statement of grants) {
    const denied = deniedGrant(binding, statement);
    if (denied !== undefined) {
      const label =
        request.statementField?.(statement) ??
        (statement.sid === undefined
          ? `${field}.Statement[${statement.index}]`
          : `${field}.Statement[${statement.index}] (Sid ${quote(statement.sid)})`);
      return refuse(label, denied);
    }
  }
  if (request.allowPublicAccess && !binding.allowPublicAccess) {
    return refuse("spec.allowPublicAccess", "true");
  }
  return undefined;
}

function grantPermitted(binding: CompiledBinding, grant: Grant): boolean {
  const p = binding.principals;
  if (!p) return true;
  if (grant.kind === "account") return p.accounts.has(grant.value);
  if (grant.kind === "organization") return p.organizations.has(grant.value);
  if (grant.kind === "service") return p.services.has(grant.value);
  return false;
}

/** What of the statement the binding does not permit, described; undefined when all of it is. */
function deniedGrant(binding: CompiledBinding, statement: StatementGrants): string | undefined {
  if (statement.public) {
    return binding.allowPublicAccess ? undefined : "access for every AWS account";
  }
  // Without a principals list, anything that is not public is permitted.
  if (!binding.principals) return undefined;
  const first = statement.grants.find((g) => !grantPermitted(binding, g));
  return first ? describeGrant(first) : undefined;
}

function describeGrant(grant: Grant): string {
  switch (grant.kind) {
    case "account":
      return `account ${quote(grant.value)}`;
    case "organization":
      return `organization ${quote(grant.value)}`;
    case "service":
      return `service ${quote(grant.value)} (list it in principals.services)`;
    case "unfixed":
      return `principal ${quote(grant.value)}, which names no fixed account, organization or service`;
  }
}
