// One LogDestinationGrant manifest through `validate`: its apiVersion, its name,
// its spec against the same zod schema its CRD is generated from (so each
// problem names the field and the limit), and unknown spec fields. Whether its
// policy accepts it, the bindings permit it and it fits is a question about
// several documents at once, answered in validate-shared.ts.
import { grantSpecSchema, type GrantSpec } from "../api/grant.ts";
import { formatPath } from "../api/field-path.ts";
import { API_VERSION, GRANT_KIND } from "../api/names.ts";
import { isRecord } from "../util/record.ts";
import { nearest } from "../util/nearest.ts";
import type { Segment } from "./manifest-lines.ts";

const GRANT_FIELDS = new Set(Object.keys(grantSpecSchema.shape));
const PRINCIPAL_FIELDS = new Set(Object.keys(grantSpecSchema.shape.principals.shape));

/** A grant as `validate` read it, for the checks that need its policy too. */
export interface ManifestGrant {
  file: string;
  /** Line of metadata.name. */
  line: number;
  name: string;
  /** metadata.namespace, or the namespace objects without one are applied to. */
  namespace: string;
  /** The spec as written: a grant with an invalid one is reported as InvalidSpec. */
  rawSpec: unknown;
  /** The parsed spec when it is valid. */
  spec?: GrantSpec;
  /** Line of a field under spec, or of the nearest enclosing node when the field is absent. */
  lineOf(segments: readonly Segment[]): number;
}

export type Report = (segments: readonly Segment[], path: string, message: string) => void;

export function isGrantKind(kind: unknown): boolean {
  return kind === GRANT_KIND;
}

/** Checks the spec of a grant; the parsed spec, or undefined when anything is wrong. */
export function checkGrantSpec(
  value: Record<string, unknown>,
  base: readonly Segment[],
  report: Report,
): GrantSpec | undefined {
  if (value.apiVersion !== API_VERSION) {
    report(
      [...base, "apiVersion"],
      "apiVersion",
      `${String(value.apiVersion)} is not served; use ${API_VERSION}`,
    );
  }
  const at = [...base, "spec"];
  if (value.spec === undefined || value.spec === null) {
    report(base, "spec", "required");
    return undefined;
  }
  const unknownFields = (object: unknown, fields: Set<string>, where: Segment[]): number => {
    if (!isRecord(object)) return 0;
    const unknown = Object.keys(object).filter((key) => !fields.has(key));
    for (const key of unknown) {
      const best = nearest(key, fields);
      const hint = best === undefined ? "" : ` (did you mean ${JSON.stringify(best)}?)`;
      report(
        [...where, key],
        formatPath("spec", [...where.slice(at.length), key]),
        `unknown field${hint}`,
      );
    }
    return unknown.length;
  };
  let unknown = unknownFields(value.spec, GRANT_FIELDS, at);
  if (isRecord(value.spec)) {
    unknown += unknownFields(value.spec.principals, PRINCIPAL_FIELDS, [...at, "principals"]);
  }
  const parsed = grantSpecSchema.safeParse(value.spec);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const segments = issue.path.filter(
        (s): s is string | number => typeof s === "string" || typeof s === "number",
      );
      report([...at, ...segments], formatPath("spec", issue.path), issue.message);
    }
    return undefined;
  }
  return unknown > 0 ? undefined : parsed.data;
}
