#!/usr/bin/env node
// Entry point, kept to what any Node.js that runs ES modules can load: it checks
// the Node version first and only then loads the command line, whose
// dependencies (undici, under @kubernetes/client-node) fail with a stack trace on
// a Node older than package.json "engines". Everything else is in src/cli/.
import { readFileSync } from "node:fs";
import { nodeTooOld } from "./node-version.ts";

interface PackageJson {
  version: string;
  engines?: { node?: string };
}

// ../package.json from dist/main.js, as from src/main.ts and the image's bundle.
const pkg = JSON.parse(
  readFileSync(new URL("../package.json", import.meta.url), "utf8"),
) as PackageJson;

const tooOld = nodeTooOld(pkg.engines?.node, process.versions.node);
if (tooOld !== undefined) {
  process.stderr.write(`error: ${tooOld}\n`);
  process.exitCode = 1;
} else {
  const { main } = await import("./cli/program.ts");
  await main({ version: pkg.version, commit: buildCommit() }, process.argv);
}

/**
 * The commit `npm run build` recorded next to this file (scripts/build-info.ts),
 * from the image build's REVISION argument or the checkout; "unknown" without one.
 */
function buildCommit(): string {
  try {
    const info = JSON.parse(
      readFileSync(new URL("./build-info.json", import.meta.url), "utf8"),
    ) as { commit?: unknown };
    return typeof info.commit === "string" && /^[0-9a-f]{7,64}$/.test(info.commit)
      ? info.commit
      : "unknown";
  } catch {
    return "unknown";
  }
}
