// log_destination_policy_build_info: which version runs where, as Go programs
// expose it, so dashboards can mark upgrades and alerts can notice a mixed rollout.
import { Gauge, type Registry } from "prom-client";

export function registerBuildInfo(registry: Registry, version: string): Gauge {
  const gauge = new Gauge({
    name: "log_destination_policy_build_info",
    help: "Always 1; the labels say which controller version runs on which Node.js",
    labelNames: ["version", "nodejs_version"],
    registers: [registry],
  });
  gauge.set({ version, nodejs_version: process.versions.node }, 1);
  return gauge;
}
