// Turns the two spec fields that can carry a policy into the exact text to send to AWS, or
// into issues that point at the offending field. Total: any input yields a result.

import { canonicalJson, policyHash } from "./canonical.ts";
import { validatePolicyDocument } from "./grammar.ts";
import { appendPath, describeValue, truncate } from "./issues.ts";
import { MAX_POLICY_BYTES } from "../util/limits.ts";
import { isRecord } from "../util/record.ts";
import type { PolicyDocument, PolicyIssue } from "./types.ts";

/** More issues than this are summarised: the list ends up in a condition message. */
export const MAX_REPORTED_ISSUES = 20;

const MAX_PARSER_MESSAGE_CHARS = 200;

export interface AccessPolicyInput {
  accessPolicy?: unknown;
  accessPolicyJson?: string;
}

export interface ResolvedAccessPolicy {
  ok: true;
  document: PolicyDocument;
  /** The exact string to send as accessPolicy. */
  canonical: string;
  hash: string;
  /** UTF-8 length of `canonical`. */
  bytes: number;
}

export type AccessPolicyResult = ResolvedAccessPolicy | { ok: false; issues: PolicyIssue[] };

const utf8 = new TextEncoder();

export function utf8ByteLength(text: string): number {
  return utf8.encode(text).byteLength;
}

function fail(issues: PolicyIssue[]): AccessPolicyResult {
  if (issues.length <= MAX_REPORTED_ISSUES) return { ok: false, issues };
  const shown = issues.slice(0, MAX_REPORTED_ISSUES - 1);
  const rest = issues.length - shown.length;
  const last = issues[shown.length];
  const path = last === undefined ? "" : last.path;
  return { ok: false, issues: [...shown, { path, message: `and ${rest} more issues` }] };
}

// Kubernetes drops null fields of structural schemas, but a client may still send them.
function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function parseJsonField(
  raw: unknown,
  path: string,
): { ok: true; value: unknown } | { ok: false; issue: PolicyIssue } {
  if (typeof raw !== "string") {
    return {
      ok: false,
      issue: { path, message: `accessPolicyJson must be a string, got ${describeValue(raw)}` },
    };
  }
  try {
    return { ok: true, value: JSON.parse(raw) };
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      ok: false,
      issue: {
        path,
        message: `accessPolicyJson is not valid JSON: ${truncate(reason, MAX_PARSER_MESSAGE_CHARS)}`,
      },
    };
  }
}

function resolve(input: unknown, prefix: string): AccessPolicyResult {
  const objectPath = appendPath(prefix, "accessPolicy");
  const jsonPath = appendPath(prefix, "accessPolicyJson");
  const fields = isRecord(input) ? input : {};
  const hasObject = isSet(fields.accessPolicy);
  const hasJson = isSet(fields.accessPolicyJson);
  if (hasObject === hasJson) {
    const state = hasObject ? "both are" : "neither is";
    return fail([
      {
        path: prefix === "" ? objectPath : prefix,
        message: `exactly one of ${objectPath} or ${jsonPath} must be set; ${state}`,
      },
    ]);
  }

  let value: unknown = fields.accessPolicy;
  const path = hasObject ? objectPath : jsonPath;
  if (typeof value === "string") {
    // A JSON policy pasted as a YAML string is the likeliest cause; say where it belongs.
    const message = `accessPolicy must be the policy as a YAML object; put a JSON string in ${jsonPath} instead`;
    return fail([{ path, message }]);
  }
  if (hasJson) {
    const parsed = parseJsonField(fields.accessPolicyJson, jsonPath);
    if (!parsed.ok) return fail([parsed.issue]);
    value = parsed.value;
  }

  const validated = validatePolicyDocument(value, path);
  if (!validated.ok) return fail(validated.issues);

  const canonical = canonicalJson(validated.document);
  const bytes = utf8ByteLength(canonical);
  if (bytes > MAX_POLICY_BYTES) {
    return fail([
      {
        path,
        message: `the canonical policy is ${bytes} bytes; PutDestinationPolicy accepts at most ${MAX_POLICY_BYTES}`,
      },
    ]);
  }
  return {
    ok: true,
    document: validated.document,
    canonical,
    hash: policyHash(validated.document),
    bytes,
  };
}

/**
 * Resolves `spec.accessPolicy` (already-parsed YAML) or `spec.accessPolicyJson` (a JSON
 * string) into the policy to apply. Exactly one must be set. Never throws; every issue's path
 * starts with `pathPrefix`.
 */
export function resolveAccessPolicy(
  input: AccessPolicyInput,
  pathPrefix = "spec",
): AccessPolicyResult {
  try {
    return resolve(input, pathPrefix);
  } catch (error) {
    // Reached only through exotic values such as proxies or throwing getters.
    const reason = error instanceof Error ? error.message : String(error);
    return fail([{ path: pathPrefix, message: `the policy could not be read: ${reason}` }]);
  }
}
