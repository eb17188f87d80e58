#!/usr/bin/env node
// Entry point: parses the command line and hands over to the command.
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { ConfigError, FLAGS, resolveConfig } from "./cli/config.ts";
import { runController } from "./cli/run.ts";
import { registerDiffCommand } from "./cli/diff.ts";
import { registerValidateCommand } from "./cli/validate.ts";
import { createLogger } from "./logger.ts";

const EXIT_USAGE = 2;

const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
  version: string;
};

const program = new Command("log-destination-policy-controller")
  .description(
    "Manages CloudWatch Logs destination access policies from LogDestinationPolicy resources.",
  )
  .version(pkg.version)
  .exitOverride()
  .showHelpAfterError();

const run = program
  .command("run", { isDefault: true })
  .description("run the controller (the default command)");
for (const spec of FLAGS) {
  const suffix =
    spec.default === undefined ? `[env ${spec.env}]` : `[env ${spec.env}, default ${spec.default}]`;
  run.addOption(new Option(spec.flag, `${spec.description} ${suffix}`));
}
run.action(async (flags: Record<string, unknown>) => {
  const config = resolveConfig(flags, process.env);
  const log = createLogger(config.logLevel);
  const stop = new AbortController();
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      log.info({ signal }, "signal received");
      stop.abort();
    });
  }
  await runController(config, log, stop.signal, pkg.version);
});

registerValidateCommand(program);
registerDiffCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
  } else if (err instanceof ConfigError) {
    process.stderr.write(`error: ${err.message}\n`);
    process.exitCode = EXIT_USAGE;
  } else {
    process.stderr.write(
      `error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  }
}
