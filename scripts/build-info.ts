// Part of `npm run build`: records in dist/build-info.json the commit the build
// comes from, which `log-destination-policy-controller version` prints. The
// image build passes it as the REVISION build argument (the Dockerfile's build
// context has no .git); a build in a checkout reads its HEAD. Without either,
// no file is written and the command says "unknown".
import { execFileSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const COMMIT = /^[0-9a-f]{7,64}$/;

export function buildCommit(
  root: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  const given = env.REVISION?.trim().toLowerCase();
  // "unknown" is the Dockerfile's label default, passed on by some builders.
  if (given && given !== "unknown") {
    if (!COMMIT.test(given))
      throw new Error(`REVISION must be a commit's hex digits, got ${JSON.stringify(given)}`);
    return given;
  }
  try {
    const git = (...args: string[]) =>
      execFileSync("git", ["-C", root, ...args], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim();
    // Only this repository's own HEAD, never that of a folder around it.
    if (resolve(git("rev-parse", "--show-toplevel")) !== resolve(root)) return undefined;
    const head = git("rev-parse", "HEAD");
    return COMMIT.test(head) ? head : undefined;
  } catch {
    return undefined;
  }
}

if (import.meta.main) {
  const root = join(import.meta.dirname, "..");
  const file = join(root, "dist", "build-info.json");
  const commit = buildCommit(root);
  if (commit === undefined) rmSync(file, { force: true });
  else writeFileSync(file, `${JSON.stringify({ commit })}\n`);
  // stderr: `npm pack --json` runs this through prepack, and its stdout is JSON.
  console.error(`${file}: commit ${commit ?? "unknown"}`);
}
