// The commands and flags a completion script offers, read from commander's own
// tree (what --help prints), so that a new command or flag is completed as soon
// as it exists.
import type { Argument, Command, Option } from "commander";

export interface CompletedOption {
  /** The spellings, e.g. ["-o", "--output"]. */
  names: string[];
  description: string;
  /** none: a switch (or an optional value); file: a path; choices: one of `choices`; any: free text. */
  value: "none" | "file" | "choices" | "any";
  choices: string[];
}

export interface CompletedCommand {
  name: string;
  description: string;
  options: CompletedOption[];
  /** What its arguments are: files, one of a list, or nothing to complete. */
  operands: { kind: "files" } | { kind: "choices"; choices: string[] } | { kind: "none" };
}

export interface CompletionTree {
  program: string;
  /** The program's own flags (--help, --version). */
  options: CompletedOption[];
  commands: CompletedCommand[];
  /** The command that runs when none is named, whose flags the program accepts too. */
  defaultCommand: string | undefined;
}

/** Files, by the name commander shows for the value: <path>, <files...>, <paths...>. */
const FILE_VALUE = /^[<[](?:path|paths|file|files)(?:\.\.\.)?[>\]]$/;

export function completionTree(program: Command, defaultCommand?: Command): CompletionTree {
  const help = program.createHelp();
  const commands = help.visibleCommands(program).map((command) => {
    const names = new Set([command.name(), ...command.aliases()]);
    const isHelp = command.name() === "help";
    return {
      name: command.name(),
      description: summary(command.description()),
      // The implicit help command is not a real Command with options of its own.
      options: isHelp ? [] : help.visibleOptions(command).map(completedOption),
      operands: isHelp
        ? {
            kind: "choices" as const,
            choices: help
              .visibleCommands(program)
              .flatMap((c) => (names.has(c.name()) ? [] : c.name())),
          }
        : operands(help.visibleArguments(command)),
    };
  });
  return {
    program: program.name(),
    options: help.visibleOptions(program).map(completedOption),
    commands,
    defaultCommand: defaultCommand?.name(),
  };
}

function completedOption(option: Option): CompletedOption {
  const names = [option.short, option.long].filter((name): name is string => name !== undefined);
  const valueName = option.flags.split(/[ ,|]+/).find((part) => /^[<[]/.test(part)) ?? "";
  const choices = option.argChoices ?? [];
  const value = !option.required
    ? "none"
    : choices.length > 0
      ? "choices"
      : FILE_VALUE.test(valueName)
        ? "file"
        : "any";
  return { names, description: summary(option.description), value, choices: [...choices] };
}

function operands(args: readonly Argument[]): CompletedCommand["operands"] {
  const [first] = args;
  if (first === undefined) return { kind: "none" };
  if (first.argChoices) return { kind: "choices", choices: [...first.argChoices] };
  return FILE_VALUE.test(`<${first.name()}${first.variadic ? "..." : ""}>`)
    ? { kind: "files" }
    : { kind: "none" };
}

/** The first clause of a description, on one line: completion menus are narrow. */
function summary(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  const clause = line.split(/; | \[env /)[0] ?? line;
  return clause.length > 100 ? `${clause.slice(0, 99)}…` : clause;
}
