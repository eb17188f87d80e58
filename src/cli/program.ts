// The command line: the controller (`run`, the default) and the offline
// commands, parsed with commander. Exit codes: 2 for a usage error (a bad flag,
// an unknown command), 1 for a failure, else what the command sets.
import { Command, CommanderError } from "commander";
import { registerCompletionCommand } from "./completion.ts";
import { ConfigError } from "./config.ts";
import { registerDiffCommand } from "./diff.ts";
import { registerRunCommand } from "./run-command.ts";
import { checkCommand, UsageError } from "./usage.ts";
import { registerValidateCommand } from "./validate.ts";
import { registerVersionCommand, type BuildInfo } from "./version.ts";

const EXIT_USAGE = 2;

export const PROGRAM_NAME = "log-destination-policy-controller";

/** The program and its default command, `run`. */
export function buildProgram(info: BuildInfo): { program: Command; run: Command } {
  const program = new Command(PROGRAM_NAME)
    .description(
      "Manages CloudWatch Logs destination access policies from LogDestinationPolicy resources.",
    )
    .version(info.version)
    .exitOverride()
    .showHelpAfterError();
  const run = registerRunCommand(program, info.version);
  registerValidateCommand(program);
  registerDiffCommand(program);
  registerVersionCommand(program, info);
  registerCompletionCommand(program, run);
  return { program, run };
}

/** Runs the command line `argv` (node, script, arguments...) and sets process.exitCode. */
export async function main(info: BuildInfo, argv: readonly string[]): Promise<void> {
  const { program, run } = buildProgram(info);
  try {
    checkCommand(program, run, argv.slice(2));
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
    } else if (err instanceof ConfigError || err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n`);
      process.exitCode = EXIT_USAGE;
    } else {
      process.stderr.write(
        `error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 1;
    }
  }
}
