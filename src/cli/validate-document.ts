// One YAML document of a manifest through the checks `validate` makes: the
// object's kind and name, checkSpec, unknown spec fields, the size warning, the
// public-access guardrail and, with bindings, the tenancy rule.
import type { Document, LineCounter } from "yaml";
import { formatPath } from "../api/field-path.ts";
import { API_VERSION, GROUP, KIND } from "../api/names.ts";
import { checkSpec, publicAccessRemedy } from "../api/spec-check.ts";
import {
  describePublicStatements,
  findPublicStatements,
  policySizeWarning,
  utf8ByteLength,
} from "../policy/index.ts";
import { OBJECT_NAME, OBJECT_NAME_MAX_LENGTH } from "../util/names.ts";
import { isRecord } from "../util/record.ts";
import { firstLine, lineOf, parsePath, type Segment } from "./manifest-lines.ts";
import { SPEC_FIELDS, suggest } from "./spec-field-suggest.ts";
import { decideOffline, type OfflineTenancy } from "./validate-bindings.ts";
import { checkGrantSpec, isGrantKind } from "./validate-grant.ts";
import type { ManifestPolicy, ValidateOptions, ValidationResult } from "./validate-core.ts";

type ValidSpec = Pick<ManifestPolicy, "spec" | "policy">;

export class DocumentChecker {
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
    if (isRecord(value) && isOurs(value) && isGrantKind(value.kind)) {
      this.checkGrant(value, base);
      return;
    }
    if (!isRecord(value) || !isLogDestinationPolicy(value)) {
      if (isRecord(value)) this.noteNamespace(value);
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
      line: lineOf(this.document, this.lines, [...base, "metadata", "name"]),
      name: metadata.name,
      ...(typeof metadata.namespace === "string" ? { namespace: metadata.namespace } : {}),
      ...valid,
      guardrail: found,
      lineOf: (field) => lineOf(this.document, this.lines, [...at, field]),
    });
  }

  private checkGrant(value: Record<string, unknown>, base: Segment[]): void {
    this.result.grantsChecked++;
    const before = this.result.problems.length;
    this.checkName(value.metadata, base);
    const namespace = isRecord(value.metadata) ? value.metadata.namespace : undefined;
    if (namespace !== undefined && (typeof namespace !== "string" || !NAMESPACE.test(namespace))) {
      // The API server would refuse it; offline it would otherwise reach every message unchecked.
      this.report(
        [...base, "metadata", "namespace"],
        "metadata.namespace",
        "must be a namespace name: lower-case letters, digits and '-', at most 63 characters",
      );
    }
    const named = this.result.problems.length === before;
    const spec = checkGrantSpec(value, base, (segments, path, message) => {
      this.report(segments, path, message);
    });
    if (!named) return;
    const metadata = value.metadata as { name: string; namespace?: unknown };
    const at = [...base, "spec"];
    this.result.grants.push({
      file: this.file,
      line: lineOf(this.document, this.lines, [...base, "metadata", "name"]),
      name: metadata.name,
      namespace:
        typeof metadata.namespace === "string" && metadata.namespace !== ""
          ? metadata.namespace
          : (this.options.namespace ?? "default"),
      rawSpec: value.spec,
      ...(spec === undefined ? {} : { spec }),
      lineOf: (segments) => lineOf(this.document, this.lines, [...at, ...segments]),
    });
  }

  /** A Namespace's labels: what spec.grants.from and the bindings select grants by. */
  private noteNamespace(value: Record<string, unknown>): void {
    if (value.kind !== "Namespace" || value.apiVersion !== "v1") return;
    const metadata = isRecord(value.metadata) ? value.metadata : {};
    if (typeof metadata.name !== "string" || metadata.name === "") return;
    const labels: Record<string, string> = {};
    if (isRecord(metadata.labels)) {
      for (const [key, label] of Object.entries(metadata.labels)) {
        if (typeof label === "string") labels[key] = label;
      }
    }
    this.result.namespaces.set(metadata.name, labels);
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
        line: lineOf(this.document, this.lines, [...at, field]),
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
      line: lineOf(this.document, this.lines, segments),
      path,
      message,
      ...(guardrail ? { guardrail: true } : {}),
    });
  }
}

const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function isOurs(value: Record<string, unknown>): boolean {
  return typeof value.apiVersion === "string" && value.apiVersion.startsWith(`${GROUP}/`);
}

function isLogDestinationPolicy(value: Record<string, unknown>): boolean {
  return value.kind === KIND && isOurs(value);
}
