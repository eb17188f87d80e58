// `log-destination-policy-controller version [-o json]`: which build this is,
// as a bug report or an audit needs it.
import { Option, type Command } from "commander";
import { z } from "zod";

export interface BuildInfo {
  /** package.json's version. */
  version: string;
  /** The commit it was built from (40 hex digits), or "unknown". */
  commit: string;
}

export const versionReportSchema = z
  .object({
    version: z.string().describe("The release, as in package.json."),
    commit: z.string().describe('The commit the build came from, or "unknown".'),
    node: z.string().describe("The Node.js version it runs on, e.g. 24.11.0."),
    platform: z.string().describe("<os>/<architecture>, e.g. linux/arm64."),
  })
  .describe("The output of `log-destination-policy-controller version -o json`.");

export type VersionReport = z.output<typeof versionReportSchema>;

export function versionReport(info: BuildInfo): VersionReport {
  return {
    version: info.version,
    commit: info.commit,
    node: process.versions.node,
    platform: `${process.platform}/${process.arch}`,
  };
}

export function renderVersion(report: VersionReport, format: "text" | "json"): string {
  if (format === "json") return `${JSON.stringify(report, null, 2)}\n`;
  return Object.entries(report)
    .map(([key, value]) => `${`${key}:`.padEnd(10)}${value}\n`)
    .join("");
}

export function registerVersionCommand(program: Command, info: BuildInfo): void {
  program
    .command("version")
    .description("print the version, the commit it was built from, and the Node.js it runs on")
    .addOption(
      new Option("-o, --output <format>", "text or json").choices(["text", "json"]).default("text"),
    )
    .action((flags: { output: "text" | "json" }) => {
      process.stdout.write(renderVersion(versionReport(info), flags.output));
    });
}
