// `log-destination-policy-controller diff <files|dirs|->`: an access preview for
// pull requests. Reads the manifests as validate does, reads the live policy of
// each destination with DescribeDestinations (the only AWS call it makes, besides
// AssumeRole for spec.roleArn), and says who gains and who loses access.
// It never writes to AWS and never talks to a cluster.
//
// Exit codes, as `flux diff` and `terraform plan -detailed-exitcode`:
// 0 no change, 1 changes, 2 an error (bad input, AWS, a missing destination).
import { Option, type Command } from "commander";
import { z } from "zod";
import {
  DestinationPolicyClient,
  type AwsTarget,
  type DestinationPolicyApi,
  type LiveDestination,
} from "../aws/destinations.ts";
import { AwsCallError } from "../aws/errors.ts";
import { AssumeRoleError } from "../aws/assumed-role.ts";
import { RoleAllowList, RoleNotAllowedError } from "../aws/roles.ts";
import { configSchema } from "./config-schema.ts";
import { ConfigError, FLAGS, type FlagSpec } from "./config.ts";
import { compareWithLive, type DestinationDiff, type DiffError } from "./diff-report.ts";
import { formatError, OUTPUT_FORMATS, renderReport, type OutputFormat } from "./diff-render.ts";
import { readInputs, readProcessStdin } from "./inputs.ts";
import { mapConcurrently } from "../util/map-concurrently.ts";
import { validateManifests, type ManifestPolicy, type ValidateOptions } from "./validate-core.ts";
import type { ManifestGrant } from "./validate-grant.ts";
import type { Labels } from "../tenancy/index.ts";
import { analyseShared, type SharedInput } from "./validate-shared.ts";

const EXIT_NO_CHANGES = 0;
const EXIT_CHANGES = 1;
const EXIT_ERROR = 2;

/** Reads at once; a repository of hundreds of policies should not wait on one at a time. */
const CONCURRENT_READS = 4;
/** How the reads appear in CloudTrail, for whoever audits the role. */
const SESSION_NAME = "log-destination-policy-controller-diff";

export interface DiffIo {
  readStdin(): Promise<string>;
  out(text: string): void;
  err(line: string): void;
}

export interface DiffOptions extends ValidateOptions {
  output: OutputFormat;
  /** The region of objects without spec.region. */
  region?: string;
  /** Reads the live policies, and refuses roles outside the allow-list; the caller destroys it. */
  aws: DestinationPolicyApi;
}

type Outcome = { diff?: DestinationDiff } | { error: DiffError };

/** Runs the command and returns its exit code. */
export async function diffPaths(
  paths: readonly string[],
  io: DiffIo,
  options: DiffOptions,
): Promise<number> {
  const { texts, unreadable } = await readInputs(paths, () => io.readStdin());
  const errors: DiffError[] = unreadable.map(({ path, message }) => ({
    file: path,
    path: "",
    message,
  }));
  const policies: ManifestPolicy[] = [];
  const grants: ManifestGrant[] = [];
  const namespaces = new Map<string, Labels>();
  let checked = 0;
  let ignored = 0;
  for (const input of texts) {
    const result = validateManifests(input.text, input.name, options);
    checked += result.checked;
    ignored += result.ignored;
    policies.push(...result.policies);
    grants.push(...result.grants);
    for (const [name, labels] of result.namespaces) namespaces.set(name, labels);
    // The guardrail's findings are part of the diff, not errors.
    for (const problem of result.problems) {
      if (problem.guardrail !== true) errors.push({ ...problem });
    }
  }

  // Overlays often name one destination more than once; it is read once.
  const reads = new Map<string, Promise<LiveDestination | undefined>>();
  const read = (target: AwsTarget, name: string) => {
    const key = JSON.stringify([target.region, target.roleArn ?? "", name]);
    let live = reads.get(key);
    if (live === undefined) {
      live = options.aws.describe(target, name);
      reads.set(key, live);
    }
    return live;
  };
  // A policy that accepts grants is compared as merged with the grants among the inputs.
  const sharing = { grants, namespaces, namespace: options.namespace ?? "default" };
  const outcomes = await mapConcurrently(policies, CONCURRENT_READS, (policy) =>
    compare(policy, options.region, read, sharing),
  );
  const destinations: DestinationDiff[] = [];
  for (const outcome of outcomes) {
    if ("error" in outcome) errors.push(outcome.error);
    else if (outcome.diff) destinations.push(outcome.diff);
  }
  const compared = outcomes.filter((outcome) => !("error" in outcome)).length;
  const report = {
    version: 1 as const,
    summary: { compared, changed: destinations.length, errors: errors.length },
    destinations,
    errors,
  };

  const rendered = renderReport(report, options.output);
  if (rendered !== "") io.out(rendered);
  for (const error of errors) io.err(formatError(error));
  const inputs = texts.length === 1 ? "1 input" : `${texts.length} inputs`;
  const objects = checked === 1 ? "1 LogDestinationPolicy" : `${checked} LogDestinationPolicies`;
  const others = ignored === 1 ? "1 other document" : `${ignored} other documents`;
  const failed = errors.length === 1 ? "1 error" : `${errors.length} errors`;
  io.err(
    `${objects} in ${inputs} (${others} ignored): ${destinations.length} would change, ${failed}`,
  );
  if (errors.length > 0) return EXIT_ERROR;
  return destinations.length > 0 ? EXIT_CHANGES : EXIT_NO_CHANGES;
}

async function compare(
  policy: ManifestPolicy,
  defaultRegion: string | undefined,
  read: (target: AwsTarget, name: string) => Promise<LiveDestination | undefined>,
  sharing: Pick<SharedInput, "grants" | "namespaces" | "namespace">,
): Promise<Outcome> {
  const { spec } = policy;
  const fail = (field: string, message: string): Outcome => ({
    error: { file: policy.file, line: policy.lineOf(field), path: `spec.${field}`, message },
  });
  const region = spec.region ?? defaultRegion;
  if (region === undefined) {
    return fail("region", "not set, and no default region is given (--aws-region or AWS_REGION)");
  }
  const place = `in ${region}${spec.roleArn === undefined ? "" : ` (through ${spec.roleArn})`}`;
  const destination = `destination ${JSON.stringify(spec.destinationName)} ${place}`;
  try {
    const target = {
      region,
      ...(spec.roleArn === undefined ? {} : { roleArn: spec.roleArn, sessionName: SESSION_NAME }),
    };
    const live = await read(target, spec.destinationName);
    if (live === undefined) return fail("destinationName", `${destination} does not exist`);
    // The live destination's ARN is the Resource the merged statements name.
    const [shared] = analyseShared({
      ...sharing,
      policies: [policy],
      region,
      resourceOf: () => live.arn,
    }).shared;
    const diff = compareWithLive(policy, region, live.accessPolicy, shared);
    return diff === undefined ? {} : { diff };
  } catch (error) {
    if (error instanceof RoleNotAllowedError) return fail("roleArn", error.message);
    if (!(error instanceof AwsCallError)) throw error;
    if (error.cause instanceof AssumeRoleError) {
      return fail("roleArn", `AssumeRole of ${error.cause.roleArn} failed (${error.awsName})`);
    }
    return fail("destinationName", awsFailure(error, destination));
  }
}

/**
 * What went wrong, by the AWS error's name only. The messages AWS sends with
 * it name the caller's identity and account, which a pull-request comment or
 * a public CI log must not show.
 */
function awsFailure(error: AwsCallError, destination: string): string {
  switch (error.kind) {
    case "not-found":
      return `${destination} does not exist (${error.awsName})`;
    case "access-denied":
      return error.awsName === "CredentialsProviderError"
        ? "no AWS credentials: the default credential chain found none (environment, shared config or credentials file, SSO, container or instance role)"
        : `access denied reading ${destination} (${error.awsName})`;
    case "unreachable":
      return `no AWS endpoint answers for the region of ${destination} (${error.awsName})`;
    case "transient":
      return `no answer reading ${destination} after ${error.attempts} attempts (${error.awsName})`;
    case "invalid":
    case "unknown":
      return `reading ${destination} failed (${error.awsName})`;
  }
}

// The controller's own flags, with the same parsing, environment variables and defaults.
const SHARED_FLAGS = ["awsRegion", "allowedRoleArns", "awsRateLimit"] as const;
const { shape } = configSchema;
const sharedSchema = z.object({
  awsRegion: shape.awsRegion,
  allowedRoleArns: shape.allowedRoleArns,
  awsRateLimit: shape.awsRateLimit,
});

function sharedFlag(key: (typeof SHARED_FLAGS)[number]): FlagSpec {
  const spec = FLAGS.find((f) => f.key === key);
  if (!spec) throw new Error(`no flag ${key}`);
  return spec;
}

/** Flag, else environment variable (an empty one counts as unset), else default. */
function sharedFlags(flags: Record<string, unknown>): z.output<typeof sharedSchema> {
  const input: Record<string, unknown> = {};
  for (const key of SHARED_FLAGS) {
    const spec = sharedFlag(key);
    const env = process.env[spec.env];
    input[key] = flags[key] ?? (env === "" ? undefined : env) ?? spec.default;
  }
  const parsed = sharedSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => {
    const spec = sharedFlag(issue.path[0] as (typeof SHARED_FLAGS)[number]);
    return `${spec.flag.split(" ")[0] ?? ""} (${spec.env}): ${issue.message}`;
  });
  throw new ConfigError(`invalid configuration:\n  ${lines.join("\n  ")}`);
}

export function registerDiffCommand(program: Command): void {
  const command = program
    .command("diff")
    .description(
      "show who gains and who loses access to each destination if the manifests were applied, " +
        "by reading the live policies (DescribeDestinations only; nothing is written); " +
        "exits 0 when nothing changes, 1 when something does, 2 on an error",
    )
    .argument(
      "<paths...>",
      "files, directories (*.yaml, *.yml, *.json, recursively) or - for stdin",
    )
    .addOption(
      new Option("-o, --output <format>", "text, json or markdown (a pull-request comment)")
        .choices(OUTPUT_FORMATS)
        .default("text"),
    );
  for (const key of SHARED_FLAGS) {
    const spec = sharedFlag(key);
    const suffix =
      spec.default === undefined
        ? `[env ${spec.env}]`
        : `[env ${spec.env}, default ${spec.default}]`;
    command.option(spec.flag, `${spec.description}, as for the controller ${suffix}`);
  }
  command
    .option(
      "--deny-public-access-override",
      "treat public statements as refused even where spec.allowPublicAccess is true, as a controller run with this flag does",
    )
    .action(async (paths: string[], flags: Record<string, unknown>) => {
      const config = sharedFlags(flags);
      const rate = config.awsRateLimit;
      // The account's request budget is shared with the controller, so diff keeps to it too.
      const aws = new DestinationPolicyClient({
        allowedRoles: config.allowedRoleArns ?? RoleAllowList.parse([]),
        rateLimit: { ratePerSecond: rate, burst: Math.max(1, Math.ceil(rate)) },
      });
      try {
        process.exitCode = await diffPaths(
          paths,
          {
            readStdin: readProcessStdin,
            out: (text) => process.stdout.write(text),
            err: (line) => process.stderr.write(`${line}\n`),
          },
          {
            // commander has checked it against OUTPUT_FORMATS.
            output: flags.output as OutputFormat,
            ...(config.awsRegion === undefined ? {} : { region: config.awsRegion }),
            aws,
            denyPublicAccessOverride: flags.denyPublicAccessOverride === true,
          },
        );
      } catch (error) {
        // Exit code 1 means "changes": anything unforeseen must not look like that.
        process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exitCode = EXIT_ERROR;
      } finally {
        aws.destroy();
      }
    });
}
