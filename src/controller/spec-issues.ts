// Renders validation issues as one line a user can act on: the field path, then
// what is wrong with it, e.g. "spec.destinationName: must not contain ':' or '*'".
import type { z } from "zod";

export function formatPath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const segment of path) {
    out += typeof segment === "number" ? `[${segment}]` : `.${String(segment)}`;
  }
  return out;
}

export function formatZodIssues(error: z.ZodError, prefix: string): string {
  return error.issues
    .map((issue) => `${formatPath(prefix, issue.path)}: ${issue.message}`)
    .join("; ");
}
