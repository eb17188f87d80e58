// Runs the readers GitOps tools use over objects: the kstatus library (Flux
// health checks, Helm's --wait) and the Argo CD health check in Argo CD's Lua VM,
// both as the small Go programs env/build.sh builds.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parse } from "yaml";
import { HEALTH_SCRIPT, HEALTH_TESTS } from "../../scripts/argocd.ts";
import { repoRoot, resolveBinaries } from "../../env/binaries.ts";

export interface ReaderResult {
  status: string;
  message: string;
  error?: string;
}

function runJson(command: string, args: string[], input: unknown): Promise<ReaderResult[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command}: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout) as ReaderResult[]);
    });
    child.stdin?.end(JSON.stringify(input));
  });
}

/** kstatus.Compute for each object. */
export async function kstatusOf(objects: readonly unknown[]): Promise<ReaderResult[]> {
  return runJson((await resolveBinaries()).kstatus, [], objects);
}

/** The Argo CD health check's verdict for each object. */
export async function argocdHealthOf(
  objects: readonly unknown[],
  script = join(repoRoot, HEALTH_SCRIPT),
): Promise<ReaderResult[]> {
  return runJson((await resolveBinaries()).luaHealth, [script], objects);
}

export interface HealthTest {
  healthStatus: { status: string; message: string };
  inputPath: string;
  object: unknown;
}

/** deploy/argocd/health_test.yaml with each fixture loaded. */
export async function healthTests(): Promise<HealthTest[]> {
  const file = join(repoRoot, HEALTH_TESTS);
  const { tests } = parse(await readFile(file, "utf8")) as {
    tests: Omit<HealthTest, "object">[];
  };
  return Promise.all(
    tests.map(async (t) => ({
      ...t,
      object: parse(await readFile(join(file, "..", t.inputPath), "utf8")) as unknown,
    })),
  );
}
