// What `validate -o json` prints: the schema (the single source of
// docs/validate-output.schema.json, written by `npm run generate`) and the report
// built from what the checks found.
import { z } from "zod";
import { reportVersionSchema } from "./diff-report.ts";
import type { Problem } from "./validate-core.ts";
import { sharedDestinationSchema, sharedJson } from "./validate-shared-render.ts";
import type { SharedPolicy } from "./validate-shared.ts";

const problemSchema = z
  .object({
    file: z.string().describe('The file as it was named on the command line, or "<stdin>".'),
    line: z
      .int()
      .min(1)
      .describe("1-based line of the offending field, or of its document when it is absent."),
    path: z
      .string()
      .describe("The field, as the controller names it in conditions: spec.accessPolicy…"),
    message: z.string(),
    guardrail: z
      .literal(true)
      .optional()
      .describe(
        "Set on the public-access guardrail's findings: the policy is valid, but would be refused.",
      ),
  })
  .describe("One finding, at a line of a manifest.");

const unreadableSchema = z
  .object({
    path: z.string().describe("The path as it was named on the command line."),
    message: z.string(),
  })
  .describe("A path that could not be read; the others were still checked.");

export const validateReportSchema = z
  .object({
    version: reportVersionSchema,
    summary: z.object({
      inputs: z.int().min(0).describe("Files and standard input read."),
      checked: z.int().min(0).describe("LogDestinationPolicy objects checked."),
      grants: z.int().min(0).describe("LogDestinationGrant objects checked."),
      ignored: z.int().min(0).describe("Documents of other kinds, skipped."),
      problems: z.int().min(0),
      warnings: z.int().min(0),
      unreadable: z.int().min(0),
    }),
    problems: z
      .array(problemSchema)
      .describe("What the controller would refuse; any makes the exit code 1."),
    warnings: z
      .array(problemSchema)
      .describe("Worth knowing, but applied anyway; no effect on the exit code."),
    unreadable: z.array(unreadableSchema).describe("Any makes the exit code 2."),
    sharedDestinations: z
      .array(sharedDestinationSchema)
      .describe(
        "Policies that accept grants, merged with the grants among the inputs: the size and each grant's verdict.",
      ),
  })
  .describe("The output of `log-destination-policy-controller validate -o json`.");

export type ValidateReport = z.output<typeof validateReportSchema>;

export function validateReport(found: {
  inputs: number;
  checked: number;
  grants: number;
  ignored: number;
  shared: readonly SharedPolicy[];
  problems: readonly Problem[];
  warnings: readonly Problem[];
  unreadable: readonly { path: string; message: string }[];
}): ValidateReport {
  const finding = ({ file, line, path, message, guardrail }: Problem) => ({
    file,
    line,
    path,
    message,
    ...(guardrail ? { guardrail } : {}),
  });
  return {
    version: 1,
    summary: {
      inputs: found.inputs,
      checked: found.checked,
      grants: found.grants,
      ignored: found.ignored,
      problems: found.problems.length,
      warnings: found.warnings.length,
      unreadable: found.unreadable.length,
    },
    problems: found.problems.map(finding),
    warnings: found.warnings.map(finding),
    unreadable: found.unreadable.map(({ path, message }) => ({ path, message })),
    sharedDestinations: found.shared.map(sharedJson),
  };
}
