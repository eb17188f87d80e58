// How a field of a Kubernetes object is named in conditions, events and
// `validate`'s output: "spec.driftDetection.interval", "items[2]". The policy
// core names fields inside a policy document itself (src/policy/issues.ts), and
// its paths start with one of these.
import type { z } from "zod";
import { formatIssues } from "../util/issues.ts";

export function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const segment of path) {
    out += typeof segment === "number" ? `[${segment}]` : `.${String(segment)}`;
  }
  return out;
}

/** One line a user can act on, e.g. "spec.destinationName: must not contain ':' or '*'". */
export function formatZodIssues(error: z.ZodError, prefix: string): string {
  return formatIssues(
    error.issues.map((issue) => ({ path: formatPath(prefix, issue.path), message: issue.message })),
  );
}
