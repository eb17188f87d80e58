// The Dockerfile as data, for the test that replays its build without Docker
// and for the benchmark, which runs the image's bundle with the image's ENV.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../../env/binaries.ts";

export interface Instruction {
  op: string;
  args: string;
}

export interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

/** Splits a Dockerfile into stages of instructions, joining continued lines. */
export function parseDockerfile(text: string): Stage[] {
  const lines: string[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    if (/^\s*#/.test(raw) && pending === "") continue;
    if (raw.trimEnd().endsWith("\\")) {
      pending += raw.trimEnd().slice(0, -1) + " ";
      continue;
    }
    const line = (pending + raw).trim();
    pending = "";
    if (line !== "") lines.push(line);
  }
  const stages: Stage[] = [];
  for (const line of lines) {
    const [op = "", ...rest] = line.split(/\s+/);
    const args = rest.join(" ");
    if (op.toUpperCase() === "FROM") {
      // --platform only chooses which variant of the base image to pull.
      const match = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!match?.[1]) throw new Error(`Dockerfile: cannot read FROM ${args}`);
      stages.push({ from: match[1], name: match[2] ?? `stage-${stages.length}`, instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) continue; // ARG before the first FROM
    stage.instructions.push({ op: op.toUpperCase(), args });
  }
  return stages;
}

/** The variables one ENV instruction sets (the KEY=VALUE form). */
export function envOf(args: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [, key = "", value = ""] of args.matchAll(/(\w+)=(\S+)/g)) env[key] = value;
  return env;
}

/** The environment of the repository's Dockerfile's final stage: what the image runs with. */
export function imageEnv(): Record<string, string> {
  const final = parseDockerfile(readFileSync(join(repoRoot, "Dockerfile"), "utf8")).at(-1);
  const env: Record<string, string> = {};
  for (const { op, args } of final?.instructions ?? []) {
    if (op === "ENV") Object.assign(env, envOf(args));
  }
  return env;
}
