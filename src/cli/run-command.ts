// The `run` command: the controller itself, and the default when no command is
// named. Its flags come from FLAGS, each with its environment variable.
import { Option, type Command } from "commander";
import { createLogger } from "../logger.ts";
import { FLAGS, resolveConfig } from "./config.ts";
import { UsageError } from "./usage.ts";

export function registerRunCommand(program: Command, version: string): Command {
  const run = program
    .command("run", { isDefault: true })
    .description("run the controller (the default command)")
    // Words after the flags are caught in the action, with a better message than commander's.
    .allowExcessArguments(true);
  for (const spec of FLAGS) {
    const suffix =
      spec.default === undefined
        ? `[env ${spec.env}]`
        : `[env ${spec.env}, default ${spec.default}]`;
    run.addOption(new Option(spec.flag, `${spec.description} ${suffix}`));
  }
  run.action(async (flags: Record<string, unknown>, command: Command) => {
    const [word] = command.args;
    if (word !== undefined) {
      // `--log-level debug validate x`: commander hands everything after an
      // unknown program option to the default command.
      throw new UsageError(
        `unexpected argument ${JSON.stringify(word)}: name the command before its flags`,
      );
    }
    const config = resolveConfig(flags, process.env);
    const log = createLogger(config.logLevel);
    const stop = new AbortController();
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      process.once(signal, () => {
        log.info({ signal }, "signal received");
        stop.abort();
      });
    }
    // Loaded here, so the offline commands never load the Kubernetes client.
    const { runController } = await import("./run.ts");
    await runController(config, log, stop.signal, version);
  });
  return run;
}
