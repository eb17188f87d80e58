// Reading the manifests that the offline commands (validate, diff) are given:
// files and directories (recursively, *.yaml, *.yml and *.json) from disk, `-`
// from standard input, e.g. `kustomize build overlays/prod | ... -`.
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { STDIN_NAME } from "./validate-core.ts";

const MANIFEST = /\.(ya?ml|json)$/i;
// Never manifests of the user's, and large: not worth walking.
const SKIPPED_DIRECTORIES = new Set(["node_modules"]);

/** The text of one input, under the name problems are reported with. */
export interface InputText {
  name: string;
  text: string;
}

export interface Unreadable {
  path: string;
  /** "cannot read <path>: <reason>" */
  message: string;
}

export interface ReadInputs {
  texts: InputText[];
  unreadable: Unreadable[];
}

/** A read failure whose message is already fit for the user. */
class UnreadableError extends Error {
  override name = "UnreadableError";
}

/**
 * Reads every path in order. A path that cannot be read is reported and the
 * others are still read, so one typo does not hide the problems of the rest.
 */
export async function readInputs(
  paths: readonly string[],
  readStdin: () => Promise<string>,
): Promise<ReadInputs> {
  const inputs: { name: string; read: () => Promise<string> }[] = [];
  const unreadable: Unreadable[] = [];
  let stdin: Promise<string> | undefined;
  for (const path of paths) {
    if (path === "-") {
      if (stdin === undefined) {
        stdin = readStdin();
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
      unreadable.push({ path, message: describeError(path, error) });
    }
  }
  const texts: InputText[] = [];
  for (const input of inputs) {
    try {
      texts.push({ name: input.name, text: await input.read() });
    } catch (error) {
      unreadable.push({ path: input.name, message: describeError(input.name, error) });
    }
  }
  return { texts, unreadable };
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

/** Standard input of this process, refused when it is a terminal (nobody would type YAML). */
export async function readProcessStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UnreadableError("- reads standard input, which is a terminal");
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) {
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  }
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/^\uFEFF/, "");
}
