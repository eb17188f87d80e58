// `log-destination-policy-controller validate <files|dirs|->`: checks manifests
// offline, for CI in GitOps repositories. Files and directories (recursively,
// *.yaml, *.yml and *.json) are read from disk, `-` from standard input, e.g.
// `kustomize build overlays/prod | log-destination-policy-controller validate -`.
//
// Exit codes: 0 no problem, 1 problems found, 2 a path could not be read.
import { Option, type Command } from "commander";
import { readInputs, readProcessStdin } from "./inputs.ts";
import { emptyTenancy, readBindings } from "./validate-bindings.ts";
import {
  formatProblem,
  formatWarning,
  validateManifests,
  type Problem,
  type ValidateOptions,
} from "./validate-core.ts";
import { validateReport } from "./validate-report.ts";
import type { ManifestPolicy } from "./validate-core.ts";
import type { ManifestGrant } from "./validate-grant.ts";
import { analyseShared } from "./validate-shared.ts";
import { sharedText } from "./validate-shared-render.ts";
import type { Labels } from "../tenancy/index.ts";

const EXIT_OK = 0;
const EXIT_PROBLEMS = 1;
const EXIT_UNREADABLE = 2;

export interface ValidateIo {
  readStdin(): Promise<string>;
  out(line: string): void;
  err(line: string): void;
}

export const VALIDATE_FORMATS = ["text", "json"] as const;

export interface ValidateCommandOptions extends Omit<ValidateOptions, "tenancy"> {
  /** Files or directories of LogDestinationPolicyBinding (and Namespace) manifests. */
  bindings?: readonly string[];
  /** text: `file:line: path: message` per problem; json: one report (validate-report.ts). */
  output?: (typeof VALIDATE_FORMATS)[number];
}

/** Runs the command and returns its exit code. */
async function validatePaths(
  paths: readonly string[],
  io: ValidateIo,
  commandOptions: ValidateCommandOptions = {},
): Promise<number> {
  const problems: Problem[] = [];
  const { bindings: bindingPaths, output = "text", ...rest } = commandOptions;
  const options: ValidateOptions = rest;
  const bindingInputs = bindingPaths
    ? await readInputs(bindingPaths, () => Promise.reject(new Error("bindings are files")))
    : undefined;
  if (bindingInputs) {
    const tenancy = emptyTenancy();
    for (const { name, text } of bindingInputs.texts) readBindings(tenancy, text, name);
    problems.push(...tenancy.problems);
    options.tenancy = tenancy;
  }
  const inputs = await readInputs(paths, () => io.readStdin());
  const texts = inputs.texts;
  if (options.tenancy) {
    // Namespace manifests among the inputs label their namespaces for the bindings too.
    const scratch = emptyTenancy();
    for (const { name, text } of texts) readBindings(scratch, text, name);
    for (const [name, labels] of scratch.namespaces) {
      if (!options.tenancy.namespaces.has(name)) options.tenancy.namespaces.set(name, labels);
    }
  }
  const unreadable = [...(bindingInputs?.unreadable ?? []), ...inputs.unreadable];
  const warnings: Problem[] = [];
  let checked = 0;
  let grantsChecked = 0;
  let ignored = 0;
  const policies: ManifestPolicy[] = [];
  const grants: ManifestGrant[] = [];
  const namespaces = new Map<string, Labels>();
  for (const input of texts) {
    const result = validateManifests(input.text, input.name, options);
    problems.push(...result.problems);
    warnings.push(...result.warnings);
    checked += result.checked;
    grantsChecked += result.grantsChecked;
    ignored += result.ignored;
    policies.push(...result.policies);
    grants.push(...result.grants);
    for (const [name, labels] of result.namespaces) namespaces.set(name, labels);
  }
  // A policy and the grants that name it may be in different files: judged once all are read.
  const { shared, ...sharing } = analyseShared({
    policies,
    grants,
    namespaces,
    tenancy: options.tenancy,
    namespace: options.namespace ?? "default",
    region: options.region,
  });
  problems.push(...sharing.problems);
  warnings.push(...sharing.warnings);

  if (output === "json") {
    const report = validateReport({
      inputs: texts.length,
      checked,
      grants: grantsChecked,
      ignored,
      shared,
      problems,
      warnings,
      unreadable,
    });
    io.out(JSON.stringify(report, null, 2));
  } else {
    for (const problem of problems) io.out(formatProblem(problem));
    for (const warning of warnings) io.out(formatWarning(warning));
    // Not a problem: on stderr with the summary, so that a clean run prints nothing on stdout.
    for (const block of shared.map(sharedText)) io.err(block);
  }
  for (const { message } of unreadable) io.err(`error: ${message}`);
  const files = texts.length === 1 ? "1 input" : `${texts.length} inputs`;
  const policiesChecked =
    checked === 1 ? "1 LogDestinationPolicy" : `${checked} LogDestinationPolicies`;
  const objects =
    grantsChecked === 0
      ? policiesChecked
      : `${policiesChecked} and ${grantsChecked === 1 ? "1 LogDestinationGrant" : `${grantsChecked} LogDestinationGrants`}`;
  const found = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  const others = ignored === 1 ? "1 other document" : `${ignored} other documents`;
  const noted =
    warnings.length === 0
      ? ""
      : warnings.length === 1
        ? ", 1 warning"
        : `, ${warnings.length} warnings`;
  io.err(`${objects} checked in ${files} (${others} ignored): ${found}${noted}`);
  if (unreadable.length > 0) return EXIT_UNREADABLE;
  return problems.length > 0 ? EXIT_PROBLEMS : EXIT_OK;
}

interface ValidateFlags {
  output: (typeof VALIDATE_FORMATS)[number];
  denyPublicAccessOverride?: boolean;
  bindings?: string[];
  namespace?: string;
  awsRegion?: string;
}

export function registerValidateCommand(program: Command): void {
  program
    .command("validate")
    .description(
      "check LogDestinationPolicy and LogDestinationGrant manifests offline with the controller's own rules; " +
        "prints file:line: path: message per problem and exits 1 if there is any",
    )
    .argument(
      "<paths...>",
      "files, directories (*.yaml, *.yml, *.json, recursively) or - for stdin",
    )
    .addOption(
      new Option("-o, --output <format>", "text (file:line: path: message) or json")
        .choices(VALIDATE_FORMATS)
        .default("text"),
    )
    .option(
      "--deny-public-access-override",
      "report public statements even where spec.allowPublicAccess is true, as a controller run with this flag does",
    )
    .option(
      "--bindings <files...>",
      "LogDestinationPolicyBinding manifests (and Namespace manifests for their labels): report each policy or grant no binding permits, as the controller's --require-binding does",
    )
    .option(
      "--namespace <name>",
      "namespace of objects that set no metadata.namespace, for --bindings",
      "default",
    )
    .option("--aws-region <region>", "region of objects that set no spec.region, for --bindings")
    .action(async (paths: string[], flags: ValidateFlags) => {
      const options: ValidateCommandOptions = {
        denyPublicAccessOverride: flags.denyPublicAccessOverride === true,
        output: flags.output,
        ...(flags.bindings ? { bindings: flags.bindings } : {}),
        ...(flags.namespace ? { namespace: flags.namespace } : {}),
        ...(flags.awsRegion ? { region: flags.awsRegion } : {}),
      };
      process.exitCode = await validatePaths(
        paths,
        {
          readStdin: readProcessStdin,
          out: (line) => process.stdout.write(`${line}\n`),
          err: (line) => process.stderr.write(`${line}\n`),
        },
        options,
      );
    });
}
