// Usage errors as kubectl reports them: what was wrong, the nearest command
// when a word is not one, and no page of help in between.
import { type Command, type Option } from "commander";
import { nearest } from "../util/nearest.ts";

/** A mistake in the command line: printed as `error: <message>`, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The names a user may type for the program's commands, help included. */
export function commandNames(program: Command): string[] {
  const help = program.createHelp();
  return help.visibleCommands(program).flatMap((command) => [command.name(), ...command.aliases()]);
}

/**
 * The first word commander would hand to the default command as an operand:
 * not an option, nor the value of one of `options`. Unknown options are
 * skipped here; commander reports them.
 */
export function firstOperand(
  args: readonly string[],
  options: readonly Option[],
): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    if (arg === "--") return args[i + 1];
    if (arg === "-" || !arg.startsWith("-")) return arg;
    if (arg.includes("=")) continue;
    const option = options.find((o) => o.long === arg || o.short === arg);
    const next = args[i + 1];
    if (option?.required) i++;
    else if (option?.optional && next !== undefined && !next.startsWith("-")) i++;
  }
  return undefined;
}

/**
 * `unknown command "valdiate" for "<program>"` with the nearest command, when
 * the first operand of `args` (argv without node and the script) names none.
 */
export function checkCommand(
  program: Command,
  defaultCommand: Command,
  args: readonly string[],
): void {
  const word = firstOperand(args, [...program.options, ...defaultCommand.options]);
  if (word === undefined) return;
  const names = commandNames(program);
  if (names.includes(word)) return;
  const suggestion = nearest(word, names);
  // JSON quoting escapes control characters: the word came from the user's terminal.
  const lines = [`unknown command ${JSON.stringify(word)} for ${JSON.stringify(program.name())}`];
  if (suggestion !== undefined) lines.push("", `Did you mean ${suggestion}?`);
  lines.push("", `Run '${program.name()} --help' for usage.`);
  throw new UsageError(lines.join("\n"));
}
