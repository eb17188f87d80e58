// The kube-state-metrics custom-resource-state configuration's generated files,
// written by `npm run generate`:
//   deploy/kube-state-metrics/configmap.yaml   the configuration in a ConfigMap,
//     for `kubectl apply` next to kube-state-metrics;
//   the chart's files/kube-state-metrics/      a copy, rendered into a ConfigMap
//     when kubeStateMetrics.enabled is set.
// deploy/kube-state-metrics/custom-resource-state.yaml is the one source.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { format, resolveConfig } from "prettier";
import { parse, stringify } from "yaml";
import { CHART_DIR } from "./chart.ts";

export const KSM_DIR = join("deploy", "kube-state-metrics");
export const KSM_CONFIG = join(KSM_DIR, "custom-resource-state.yaml");
/** The key of the ConfigMaps that holds the configuration, and the file name kube-state-metrics reads. */
export const KSM_CONFIG_KEY = "custom-resource-state.yaml";
export const KSM_CONFIGMAP_NAME = "log-destination-policy-controller-kube-state-metrics";

export interface KsmMetric {
  name: string;
  help: string;
  each: {
    type: string;
    info?: { labelsFromPath?: Record<string, (string | number)[]> };
    gauge?: { path?: (string | number)[]; labelsFromPath?: Record<string, (string | number)[]> };
  };
  labelsFromPath?: Record<string, (string | number)[]>;
}

export interface KsmResource {
  groupVersionKind: { group: string; version: string; kind: string };
  metricNamePrefix?: string;
  labelsFromPath?: Record<string, (string | number)[]>;
  metrics: KsmMetric[];
}

export interface KsmConfig {
  kind: string;
  spec: { resources: KsmResource[] };
}

export function parseKsmConfig(text: string): KsmConfig {
  return parse(text) as KsmConfig;
}

/** The full name of each metric, as kube-state-metrics exposes it. */
export function ksmMetricNames(config: KsmConfig): string[] {
  return config.spec.resources.flatMap((resource) =>
    resource.metrics.map((metric) =>
      // kube-state-metrics' own default prefix when a resource names none.
      [resource.metricNamePrefix ?? "kube_customresource", metric.name].join("_"),
    ),
  );
}

export async function kubeStateMetricsOutputs(root: string): Promise<Record<string, string>> {
  const config = await readFile(join(root, KSM_CONFIG), "utf8");
  const configMap = stringify(
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name: KSM_CONFIGMAP_NAME,
        // Where kube-state-metrics runs; change it to its namespace.
        namespace: "monitoring",
        labels: { "app.kubernetes.io/part-of": "log-destination-policy-controller" },
      },
      data: { [KSM_CONFIG_KEY]: config },
    },
    { lineWidth: 0, blockQuote: "literal" },
  );
  const path = join(KSM_DIR, "configmap.yaml");
  const header = `# Generated from ${KSM_CONFIG} by \`npm run generate\`. Do not edit.\n`;
  const options = await resolveConfig(join(root, path));
  return {
    [path]: await format(header + configMap, { ...options, filepath: join(root, path) }),
    [join(CHART_DIR, "files", "kube-state-metrics", KSM_CONFIG_KEY)]:
      `# Copied from ${KSM_CONFIG} by \`npm run generate\`. Do not edit.\n${config}`,
  };
}
