// `log-destination-policy-controller completion bash|zsh|fish`: a completion
// script for the shell, written from the command tree (completion-tree.ts).
import { Argument, type Command } from "commander";
import {
  completionTree,
  type CompletedCommand,
  type CompletedOption,
  type CompletionTree,
} from "./completion-tree.ts";

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

export function completionScript(shell: Shell, tree: CompletionTree): string {
  switch (shell) {
    case "bash":
      return bash(tree);
    case "zsh":
      return zsh(tree);
    case "fish":
      return fish(tree);
  }
}

export function registerCompletionCommand(program: Command, defaultCommand: Command): void {
  program
    .command("completion")
    .description(
      "print a completion script for the shell; e.g. `source <(log-destination-policy-controller completion bash)`",
    )
    .addArgument(new Argument("<shell>", "bash, zsh or fish").choices(SHELLS))
    .action((shell: Shell) => {
      process.stdout.write(completionScript(shell, completionTree(program, defaultCommand)));
    });
}

/** A shell function name for the program. */
function functionName(program: string): string {
  return `_${program.replace(/[^A-Za-z0-9]/g, "_")}`;
}

/** A single-quoted shell word (bash and zsh). */
function sq(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

/** The commands, and the flags and operands of the default command, at the program's level. */
function topLevel(tree: CompletionTree): CompletedCommand {
  const fallback = tree.commands.find((c) => c.name === tree.defaultCommand);
  const own = new Set(tree.options.flatMap((o) => o.names));
  const inherited = (fallback?.options ?? []).filter((o) => !o.names.some((n) => own.has(n)));
  return {
    name: "",
    description: "",
    options: [...tree.options, ...inherited],
    operands: { kind: "none" },
  };
}

// ---------------------------------------------------------------------------
// bash: complete -F, with readline's file names whenever nothing else fits.

function bash(tree: CompletionTree): string {
  const fn = functionName(tree.program);
  const names = tree.commands.map((c) => c.name);
  const branch = (command: CompletedCommand, words: string[]) => {
    // Free values and paths: nothing offered, so readline falls back to file names.
    const free = command.options.filter((o) => o.value === "file" || o.value === "any");
    const values = [
      ...command.options
        .filter((o) => o.value === "choices")
        .map(
          (o) =>
            `        ${o.names.join("|")}) COMPREPLY=($(compgen -W ${sq(o.choices.join(" "))} -- "$cur")); return ;;`,
        ),
      ...(free.length > 0
        ? [`        ${free.flatMap((o) => o.names).join("|")}) COMPREPLY=(); return ;;`]
        : []),
    ];
    const flags = command.options.flatMap((o) => o.names).join(" ");
    const rest =
      command.operands.kind === "choices"
        ? `COMPREPLY=($(compgen -W ${sq(command.operands.choices.join(" "))} -- "$cur"))`
        : words.length > 0
          ? `COMPREPLY=($(compgen -W ${sq(words.join(" "))} -- "$cur"))`
          : "COMPREPLY=()";
    return [
      `    ${command.name === "" ? '""' : command.name})`,
      ...(values.length > 0 ? ['      case "$prev" in', ...values, "      esac"] : []),
      `      if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W ${sq(flags)} -- "$cur"))`,
      `      else ${rest}; fi ;;`,
    ].join("\n");
  };
  return `# bash completion for ${tree.program}, written by \`${tree.program} completion bash\`.
# Load it with: source <(${tree.program} completion bash)
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local command="" i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      ${names.join("|")}) command="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  case "$command" in
${[branch(topLevel(tree), names), ...tree.commands.map((c) => branch(c, []))].join("\n")}
  esac
}
complete -o default -F ${fn} ${tree.program}
`;
}

// ---------------------------------------------------------------------------
// zsh: _arguments per command, _describe for the commands.

/** An _arguments description in [...]: brackets and backslashes escaped. */
function zshExplanation(text: string): string {
  return text.replace(/[\\[\]]/g, (c) => `\\${c}`);
}

function zshOption(option: CompletedOption): string[] {
  const action =
    option.value === "choices"
      ? `:value:(${option.choices.join(" ")})`
      : option.value === "file"
        ? ":file:_files"
        : option.value === "any"
          ? ":value: "
          : "";
  return option.names.map((name) => sq(`${name}[${zshExplanation(option.description)}]${action}`));
}

function zshArguments(command: CompletedCommand): string {
  const specs = command.options.flatMap(zshOption);
  if (command.operands.kind === "files") specs.push(sq("*:file:_files"));
  if (command.operands.kind === "choices") {
    specs.push(sq(`1:value:(${command.operands.choices.join(" ")})`));
  }
  return `_arguments -s ${specs.join(" \\\n        ")}`;
}

function zsh(tree: CompletionTree): string {
  const fn = functionName(tree.program);
  const described = tree.commands.map((c) =>
    sq(`${c.name.replaceAll(":", "\\:")}:${c.description}`),
  );
  const cases = tree.commands.map(
    (c) => `    ${c.name})\n      shift words; (( CURRENT-- ))\n      ${zshArguments(c)} ;;`,
  );
  return `#compdef ${tree.program}
# zsh completion for ${tree.program}, written by \`${tree.program} completion zsh\`.
# Load it with: source <(${tree.program} completion zsh), or save it as ${fn} in a folder of $fpath.
${fn}() {
  local -a commands
  commands=(
    ${described.join("\n    ")}
  )
  if (( CURRENT == 2 )) && [[ $PREFIX != -* ]]; then
    _describe -t commands command commands
    return
  fi
  case $words[2] in
${cases.join("\n")}
    *)
      ${zshArguments(topLevel(tree))} ;;
  esac
}
if [[ $funcstack[1] == ${fn} ]]; then
  ${fn} "$@"
else
  compdef ${fn} ${tree.program}
fi
`;
}

// ---------------------------------------------------------------------------
// fish: one `complete` line per command, flag and operand.

function fq(text: string): string {
  return `'${text.replace(/[\\']/g, (c) => `\\${c}`)}'`;
}

function fishOption(program: string, condition: string, option: CompletedOption): string {
  const parts = [`complete -c ${program} -n ${fq(condition)}`];
  for (const name of option.names) {
    parts.push(name.startsWith("--") ? `-l ${name.slice(2)}` : `-s ${name.slice(1)}`);
  }
  if (option.value === "choices") parts.push(`-x -a ${fq(option.choices.join(" "))}`);
  if (option.value === "file") parts.push("-r -F");
  if (option.value === "any") parts.push("-x");
  parts.push(`-d ${fq(option.description)}`);
  return parts.join(" ");
}

function fish(tree: CompletionTree): string {
  const p = tree.program;
  const lines = [
    `# fish completion for ${p}, written by \`${p} completion fish\`.`,
    `# Load it with: ${p} completion fish | source`,
    `complete -c ${p} -f`,
  ];
  for (const c of tree.commands) {
    lines.push(
      `complete -c ${p} -n __fish_use_subcommand -a ${fq(c.name)} -d ${fq(c.description)}`,
    );
  }
  for (const option of topLevel(tree).options) {
    lines.push(fishOption(p, "__fish_use_subcommand", option));
  }
  for (const c of tree.commands) {
    const seen = `__fish_seen_subcommand_from ${c.name}`;
    for (const option of c.options) lines.push(fishOption(p, seen, option));
    if (c.operands.kind === "files") lines.push(`complete -c ${p} -n ${fq(seen)} -F`);
    if (c.operands.kind === "choices") {
      lines.push(`complete -c ${p} -n ${fq(seen)} -a ${fq(c.operands.choices.join(" "))}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
