// The offline validator behind `log-destination-policy-controller validate`, without
// any I/O: text in, problems out. It runs the checks of the controller's validate
// phase (the zod spec schema, then the IAM grammar and the 5120-byte limit of
// resolveAccessPolicy) and the public-access guardrail, and points every problem at
// the line of the offending field in the manifest.
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  type Document,
} from "yaml";
import { API_VERSION, GROUP, KIND } from "../api/names.ts";
import { specSchema, type LogDestinationPolicySpec } from "../api/v1alpha1.ts";
import { formatPath } from "../api/field-path.ts";
import { checkSpec, publicAccessRemedy } from "../api/spec-check.ts";
import { decideOffline, type OfflineTenancy } from "./validate-bindings.ts";
import { OBJECT_NAME, OBJECT_NAME_MAX_LENGTH } from "../util/names.ts";
import { isRecord } from "../util/record.ts";
import {
  describePublicStatements,
  findPublicStatements,
  policySizeWarning,
  type ResolvedAccessPolicy,
  utf8ByteLength,
} from "../policy/index.ts";

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
  /** Documents that are not LogDestinationPolicy objects, and so were skipped. */
  ignored: number;
  /** The objects without problems other than the guardrail's, in document order. */
  policies: ManifestPolicy[];
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

type Segment = string | number;
type ValidSpec = Pick<ManifestPolicy, "spec" | "policy">;

const SPEC_FIELDS = new Set(Object.keys(specSchema.shape));

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
    ignored: 0,
    policies: [],
  };
  for (const document of documents) {
    new DocumentChecker(document, lineCounter, file, result, options).check();
  }
  // Stable: problems of one line keep the order in which they were found.
  result.problems.sort((a, b) => a.line - b.line);
  result.warnings.sort((a, b) => a.line - b.line);
  return result;
}

class DocumentChecker {
  private readonly document: Document.Parsed;
  private readonly lines: LineCounter;
  private readonly file: string;
  private readonly result: ValidationResult;
  private readonly options: ValidateOptions;

  constructor(
    document: Document.Parsed,
    lines: LineCounter,
    file: string,
    result: ValidationResult,
    options: ValidateOptions,
  ) {
    this.document = document;
    this.lines = lines;
    this.file = file;
    this.result = result;
    this.options = options;
  }

  check(): void {
    if (this.document.errors.length > 0) {
      for (const error of this.document.errors) {
        const offset = error.pos[0];
        this.result.problems.push({
          file: this.file,
          line: this.lines.linePos(offset).line,
          path: "yaml",
          message: firstLine(error.message),
        });
      }
      return;
    }
    if (this.document.contents === null) return; // an empty document, e.g. after a trailing ---
    let value: unknown;
    try {
      value = this.document.toJS({ maxAliasCount: 1000 });
    } catch (error) {
      this.report([], "yaml", error instanceof Error ? error.message : String(error));
      return;
    }
    if (value === null || value === undefined) return; // e.g. a document of comments only
    if (isRecord(value) && value.kind === "List" && Array.isArray(value.items)) {
      value.items.forEach((item, index) => {
        this.checkObject(item, ["items", index]);
      });
      return;
    }
    this.checkObject(value, []);
  }

  private checkObject(value: unknown, base: Segment[]): void {
    if (!isRecord(value) || !isLogDestinationPolicy(value)) {
      this.result.ignored++;
      return;
    }
    this.result.checked++;
    const before = this.result.problems.length;
    if (value.apiVersion !== API_VERSION) {
      this.report(
        [...base, "apiVersion"],
        "apiVersion",
        `${String(value.apiVersion)} is not served; use ${API_VERSION}`,
      );
    }
    this.checkName(value.metadata, base);
    // The CRD requires spec, so the API server refuses an object without one.
    const at = [...base, "spec"];
    let valid: ValidSpec | undefined;
    if (value.spec === undefined || value.spec === null) this.report(base, "spec", "required");
    else valid = this.checkSpec(value.spec, at);
    if (this.options.tenancy) this.checkPermission(this.options.tenancy, value, base);
    const found = this.result.problems.slice(before);
    if (!valid || found.some((problem) => problem.guardrail !== true)) return;
    // checkName found nothing wrong, so the name is a valid string.
    const metadata = value.metadata as { name: string; namespace?: unknown };
    this.result.policies.push({
      file: this.file,
      line: this.lineOf([...base, "metadata", "name"]),
      name: metadata.name,
      ...(typeof metadata.namespace === "string" ? { namespace: metadata.namespace } : {}),
      ...valid,
      guardrail: found,
      lineOf: (field) => this.lineOf([...at, field]),
    });
  }

  /** The controller's tenancy rule against the --bindings files. */
  private checkPermission(
    tenancy: OfflineTenancy,
    value: Record<string, unknown>,
    base: Segment[],
  ): void {
    const metadata = isRecord(value.metadata) ? value.metadata : {};
    const namespace =
      typeof metadata.namespace === "string" && metadata.namespace !== ""
        ? metadata.namespace
        : (this.options.namespace ?? "default");
    const decision = decideOffline(tenancy, namespace, value.spec, this.options.region);
    if (decision === undefined || (decision !== "no-region" && decision.permitted)) return;
    if (decision === "no-region") {
      this.report(
        [...base, "spec"],
        "spec.region",
        "not set, and no --aws-region given: the bindings' regions cannot be checked",
      );
      return;
    }
    const [first] = decision.refusals;
    if (!first) {
      this.report([...base, "metadata", "namespace"], "metadata.namespace", decision.reason);
      return;
    }
    const field = first.field.replace(/ \(Sid .*\)$/, "");
    const message = decision.reason.startsWith(`${first.field}: `)
      ? decision.reason.slice(first.field.length + 2)
      : decision.reason;
    this.report([...base, ...parsePath(field)], field, message);
  }

  private checkName(metadata: unknown, base: Segment[]): void {
    const name = isRecord(metadata) ? metadata.name : undefined;
    if (typeof name !== "string" || name === "") {
      this.report([...base, "metadata", "name"], "metadata.name", "required");
    } else if (name.length > OBJECT_NAME_MAX_LENGTH || !OBJECT_NAME.test(name)) {
      this.report(
        [...base, "metadata", "name"],
        "metadata.name",
        `${JSON.stringify(name)} is not a valid name: lower-case letters, digits, '-' and '.', at most ${OBJECT_NAME_MAX_LENGTH} characters`,
      );
    }
  }

  /** The parsed spec and its policy when both are valid. */
  private checkSpec(spec: unknown, at: Segment[]): ValidSpec | undefined {
    const checked = checkSpec(spec);
    if (!checked.ok && checked.stage === "schema") {
      for (const issue of checked.issues) {
        this.report([...at, ...(issue.segments ?? [])], issue.path, issue.message);
      }
    }
    if (isRecord(spec)) {
      // The API server refuses unknown fields under strict field validation, the
      // default of kubectl apply; a misspelt optional field would otherwise be lost.
      for (const key of Object.keys(spec)) {
        if (!SPEC_FIELDS.has(key)) {
          this.report([...at, key], formatPath("spec", [key]), `unknown field${suggest(key)}`);
        }
      }
    }
    const resolved = checked.ok
      ? checked.policy
      : checked.stage === "policy"
        ? { ok: false as const, issues: checked.issues }
        : checked.policy;
    if (resolved === undefined || !isRecord(spec)) return undefined;
    if (!resolved.ok) {
      for (const issue of resolved.issues) {
        this.report([...at.slice(0, -1), ...parsePath(issue.path)], issue.path, issue.message);
      }
      return undefined;
    }
    const valid = checked.ok ? { spec: checked.spec, policy: resolved } : undefined;

    const field = spec.accessPolicy === undefined ? "accessPolicyJson" : "accessPolicy";
    const size = policySizeWarning(utf8ByteLength(resolved.canonical));
    if (size !== undefined) {
      this.result.warnings.push({
        file: this.file,
        line: this.lineOf([...at, field]),
        path: `spec.${field}`,
        message: size,
      });
    }

    const allowPublic = checked.ok ? checked.spec.allowPublicAccess : spec.allowPublicAccess;
    const denied = this.options.denyPublicAccessOverride === true;
    const remedy = publicAccessRemedy(allowPublic === true, denied);
    if (remedy === undefined) return valid;
    for (const statement of findPublicStatements(resolved.document)) {
      const path = `spec.${field}.Statement[${statement.index}]`;
      this.report(
        [...at, field, "Statement", statement.index],
        path,
        `${describePublicStatements([statement])}, so the policy is public; ${remedy}`,
        true,
      );
    }
    return valid;
  }

  private report(
    segments: readonly Segment[],
    path: string,
    message: string,
    guardrail = false,
  ): void {
    this.result.problems.push({
      file: this.file,
      line: this.lineOf(segments),
      path,
      message,
      ...(guardrail ? { guardrail: true } : {}),
    });
  }

  /**
   * The line of the deepest node on the path that exists: the key's line for a
   * map entry, the item's for a list element, the document's when nothing matches.
   * A JSON string (accessPolicyJson) has no nodes inside, so its key's line is used.
   */
  private lineOf(segments: readonly Segment[]): number {
    let node: unknown = this.document.contents;
    let offset = rangeStart(node) ?? this.document.range[0];
    for (const segment of segments) {
      if (isAlias(node)) node = node.resolve(this.document);
      if (isMap(node)) {
        const pair = node.items.find(
          (item) => isScalar(item.key) && String(item.key.value) === String(segment),
        );
        if (!pair) break;
        offset = rangeStart(pair.key) ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === "number") {
        const item: unknown = node.items[segment];
        const start = rangeStart(item);
        if (start === undefined) break;
        offset = start;
        node = item;
      } else {
        break;
      }
    }
    return this.lines.linePos(offset).line;
  }
}

function isLogDestinationPolicy(value: Record<string, unknown>): boolean {
  return (
    value.kind === KIND &&
    typeof value.apiVersion === "string" &&
    value.apiVersion.startsWith(`${GROUP}/`)
  );
}

function rangeStart(node: unknown): number | undefined {
  if (!isRecord(node)) return undefined;
  const range = node.range;
  return Array.isArray(range) && typeof range[0] === "number" ? range[0] : undefined;
}

function firstLine(message: string): string {
  const line = message.split("\n", 1)[0] ?? message;
  // The line is in the prefix already; the parser's "at line L, column C" repeats it.
  return line.replace(/ at line \d+, column \d+:?$/, "");
}

function suggest(key: string): string {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3; // more than two edits away is no longer a typo
  for (const field of SPEC_FIELDS) {
    const distance = editDistance(lower, field.toLowerCase());
    if (distance < bestDistance) {
      best = field;
      bestDistance = distance;
    }
  }
  return best === undefined ? "" : ` (did you mean ${JSON.stringify(best)}?)`;
}

/** Levenshtein distance, with a swap of two neighbours counted as one edit. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number) => rows[i]?.[j] ?? Infinity;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] ?? [];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      row[j] = best;
    }
  }
  return at(a.length, b.length);
}

/**
 * Splits a path as the policy core writes it (spec.accessPolicy.Statement[0],
 * Condition["aws:PrincipalOrgID"]) back into segments. Parsing stops at anything
 * unexpected, which only makes the reported line less precise.
 */
export function parsePath(path: string): Segment[] {
  const segments: Segment[] = [];
  const token = /\.?([A-Za-z_$][\w$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  let match: RegExpExecArray | null;
  while (token.lastIndex < path.length && (match = token.exec(path)) !== null) {
    if (match[1] !== undefined) segments.push(match[1]);
    else if (match[2] !== undefined) segments.push(Number(match[2]));
    else if (match[3] !== undefined) segments.push(String(JSON.parse(match[3])));
  }
  return segments;
}
