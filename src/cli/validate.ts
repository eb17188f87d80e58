// `log-destination-policy-controller validate <files|dirs|->`: checks manifests
// offline, for CI in GitOps repositories. Files and directories (recursively,
// *.yaml, *.yml and *.json) are read from disk, `-` from standard input, e.g.
// `kustomize build overlays/prod | log-destination-policy-controller validate -`.
//
// Exit codes: 0 no problem, 1 problems found, 2 a path could not be read.
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Command } from "commander";
import {
  formatProblem,
  STDIN_NAME,
  validateManifests,
  type Problem,
  type ValidateOptions,
} from "./validate-core.ts";

export const EXIT_OK = 0;
export const EXIT_PROBLEMS = 1;
export const EXIT_UNREADABLE = 2;

const MANIFEST = /\.(ya?ml|json)$/i;
// Never manifests of the user's, and large: not worth walking.
const SKIPPED_DIRECTORIES = new Set(["node_modules"]);

export interface ValidateIo {
  readStdin(): Promise<string>;
  out(line: string): void;
  err(line: string): void;
}

interface Input {
  /** The name problems are reported under. */
  name: string;
  read(): Promise<string>;
}

class UnreadableError extends Error {
  override name = "UnreadableError";
}

/** Runs the command and returns its exit code. */
export async function validatePaths(
  paths: readonly string[],
  io: ValidateIo,
  options: ValidateOptions = {},
): Promise<number> {
  const inputs: Input[] = [];
  const unreadable: string[] = [];
  let stdin: Promise<string> | undefined;
  for (const path of paths) {
    if (path === "-") {
      if (stdin === undefined) {
        stdin = io.readStdin();
        // Awaited below, after the other paths are listed; not an unhandled rejection.
        stdin.catch(() => undefined);
      }
      const text = stdin;
      inputs.push({ name: STDIN_NAME, read: () => text });
      continue;
    }
    try {
      for (const file of await expand(path)) {
        inputs.push({ name: file, read: () => readText(file) });
      }
    } catch (error) {
      unreadable.push(describeError(path, error));
    }
  }

  const problems: Problem[] = [];
  let checked = 0;
  let ignored = 0;
  for (const input of inputs) {
    let text: string;
    try {
      text = await input.read();
    } catch (error) {
      unreadable.push(describeError(input.name, error));
      continue;
    }
    const result = validateManifests(text, input.name, options);
    problems.push(...result.problems);
    checked += result.checked;
    ignored += result.ignored;
  }

  for (const problem of problems) io.out(formatProblem(problem));
  for (const message of unreadable) io.err(`error: ${message}`);
  const files = inputs.length === 1 ? "1 input" : `${inputs.length} inputs`;
  const objects = checked === 1 ? "1 LogDestinationPolicy" : `${checked} LogDestinationPolicies`;
  const found = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  const others = ignored === 1 ? "1 other document" : `${ignored} other documents`;
  io.err(`${objects} checked in ${files} (${others} ignored): ${found}`);
  if (unreadable.length > 0) return EXIT_UNREADABLE;
  return problems.length > 0 ? EXIT_PROBLEMS : EXIT_OK;
}

async function readText(file: string): Promise<string> {
  return (await readFile(file, "utf8")).replace(/^\uFEFF/, "");
}

/** A file as it is; a directory as its manifest files, recursively and sorted. */
async function expand(path: string): Promise<string[]> {
  const info = await stat(path);
  if (!info.isDirectory()) return [path];
  const found: string[] = [];
  const entries = await readdir(path, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) {
      if (entry.name.startsWith(".") || SKIPPED_DIRECTORIES.has(entry.name)) continue;
      found.push(...(await expand(child)));
    } else if (MANIFEST.test(entry.name) && (entry.isFile() || entry.isSymbolicLink())) {
      found.push(child);
    }
  }
  return found;
}

function describeError(path: string, error: unknown): string {
  if (error instanceof UnreadableError) return error.message;
  const code = (error as { code?: unknown } | undefined)?.code;
  const reason =
    code === "ENOENT"
      ? "no such file or directory"
      : code === "EACCES"
        ? "permission denied"
        : error instanceof Error
          ? error.message
          : String(error);
  return `cannot read ${path}: ${reason}`;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  }
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/^\uFEFF/, "");
}

export function registerValidateCommand(program: Command): void {
  program
    .command("validate")
    .description(
      "check LogDestinationPolicy manifests offline with the controller's own rules; " +
        "prints file:line: path: message per problem and exits 1 if there is any",
    )
    .argument(
      "<paths...>",
      "files, directories (*.yaml, *.yml, *.json, recursively) or - for stdin",
    )
    .option(
      "--deny-public-access-override",
      "report public statements even where spec.allowPublicAccess is true, as a controller run with this flag does",
    )
    .action(async (paths: string[], flags: { denyPublicAccessOverride?: boolean }) => {
      const options = { denyPublicAccessOverride: flags.denyPublicAccessOverride === true };
      process.exitCode = await validatePaths(
        paths,
        {
          readStdin: () => {
            if (process.stdin.isTTY) {
              return Promise.reject(
                new UnreadableError("- reads standard input, which is a terminal"),
              );
            }
            return readAll(process.stdin);
          },
          out: (line) => process.stdout.write(`${line}\n`),
          err: (line) => process.stderr.write(`${line}\n`),
        },
        options,
      );
    });
}
