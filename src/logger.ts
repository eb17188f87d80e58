// JSON lines on stdout, one object per line, as log collectors expect.
import { pino } from "pino";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error";
export type Logger = pino.Logger;

export function createLogger(level: LogLevel): Logger {
  return pino({
    level,
    base: { controller: "log-destination-policy-controller" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
