// Renders validation issues as one line a user can act on: the field path, then
// what is wrong with it, e.g. "spec.destinationName: must not contain ':' or '*'".
import type { z } from "zod";
import { formatIssues } from "../util/issues.ts";

export function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const segment of path) {
    out += typeof segment === "number" ? `[${segment}]` : `.${String(segment)}`;
  }
  return out;
}

export function formatZodIssues(error: z.ZodError, prefix: string): string {
  return formatIssues(
    error.issues.map((issue) => ({ path: formatPath(prefix, issue.path), message: issue.message })),
  );
}
