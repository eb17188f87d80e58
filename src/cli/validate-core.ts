// The offline validator behind `log-destination-policy-controller validate`, without
// any I/O: text in, problems out. Each LogDestinationPolicy goes through checkSpec,
// the same check as the controller's validate phase, and the public-access
// guardrail (validate-document.ts); every problem points at the line of the
// offending field in the manifest (manifest-lines.ts).
import { LineCounter, parseAllDocuments } from "yaml";
import type { LogDestinationPolicySpec } from "../api/v1alpha1.ts";
import type { ResolvedAccessPolicy } from "../policy/index.ts";
import type { Labels } from "../tenancy/index.ts";
import type { OfflineTenancy } from "./validate-bindings.ts";
import type { ManifestGrant } from "./validate-grant.ts";
import { DocumentChecker } from "./validate-document.ts";

export interface Problem {
  /** The file as the user named it, or "<stdin>". */
  file: string;
  /** 1-based line of the offending field, or of the document when the field is absent. */
  line: number;
  /** The field, as the controller names it in its conditions: spec.accessPolicy.Statement[0]. */
  path: string;
  message: string;
  /** Set on the public-access guardrail's findings: the policy is valid, but would be refused. */
  guardrail?: true;
}

/** A LogDestinationPolicy that passed every check but the guardrail: what `diff` compares. */
export interface ManifestPolicy {
  file: string;
  /** Line of metadata.name. */
  line: number;
  name: string;
  namespace?: string;
  spec: LogDestinationPolicySpec;
  policy: ResolvedAccessPolicy;
  /** The guardrail's findings for this object; empty when it would be applied. */
  guardrail: Problem[];
  /** Line of a spec field, or of the nearest enclosing node when the field is absent. */
  lineOf(field: string): number;
}

export interface ValidationResult {
  problems: Problem[];
  /** Worth knowing, but the controller applies the object anyway: no effect on the exit code. */
  warnings: Problem[];
  /** LogDestinationPolicy objects checked. */
  checked: number;
  /** LogDestinationGrant objects checked. */
  grantsChecked: number;
  /** Documents that are not LogDestinationPolicy objects, and so were skipped. */
  ignored: number;
  /** The objects without problems other than the guardrail's, in document order. */
  policies: ManifestPolicy[];
  /** Every grant with a valid name, valid or not: an invalid one is refused as InvalidSpec. */
  grants: ManifestGrant[];
  /** Labels of the Namespace manifests among the documents, for spec.grants.from and bindings. */
  namespaces: Map<string, Labels>;
}

export const STDIN_NAME = "<stdin>";

export interface ValidateOptions {
  /** As the controller's --deny-public-access-override: spec.allowPublicAccess lifts nothing. */
  denyPublicAccessOverride?: boolean;
  /** With bindings (`--bindings`), each object must be permitted as the controller would require. */
  tenancy?: OfflineTenancy;
  /** The namespace of objects that name none; "default", as kubectl applies them. */
  namespace?: string;
  /** The region of objects that name none, as the controller's --aws-region. */
  region?: string;
}

/** `file:line: path: message`, the format editors and CI logs link to. */
export function formatProblem(problem: Problem): string {
  return `${problem.file}:${problem.line}: ${problem.path}: ${problem.message}`;
}

/** A warning as editors' problem matchers read it: `file:line: warning: path: message`. */
export function formatWarning(warning: Problem): string {
  return `${warning.file}:${warning.line}: warning: ${warning.path}: ${warning.message}`;
}

/** Validates every LogDestinationPolicy in a stream of YAML (or JSON) documents. */
export function validateManifests(
  text: string,
  file: string,
  options: ValidateOptions = {},
): ValidationResult {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const result: ValidationResult = {
    problems: [],
    warnings: [],
    checked: 0,
    grantsChecked: 0,
    ignored: 0,
    policies: [],
    grants: [],
    namespaces: new Map(),
  };
  for (const document of documents) {
    new DocumentChecker(document, lineCounter, file, result, options).check();
  }
  // Stable: problems of one line keep the order in which they were found.
  result.problems.sort((a, b) => a.line - b.line);
  result.warnings.sort((a, b) => a.line - b.line);
  return result;
}
