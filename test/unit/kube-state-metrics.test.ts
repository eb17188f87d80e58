// The kube-state-metrics custom-resource-state configuration names only fields
// the generated CRDs have, so kube-state-metrics finds a value at every path;
// and the dashboard panel reads the metric and labels it defines.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse, parseAllDocuments } from "yaml";
import { BINDING_CRD_NAME, CRD_NAME, GRANT_CRD_NAME } from "../../src/api/names.ts";
import { buildDashboard, KSM_INFO } from "../../scripts/dashboard.ts";
import {
  KSM_CONFIG,
  KSM_CONFIG_KEY,
  KSM_DIR,
  ksmMetricNames,
  parseKsmConfig,
  type KsmConfig,
} from "../../scripts/kube-state-metrics.ts";

const root = join(import.meta.dirname, "..", "..");
interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
}
type Path = (string | number)[];

interface Crd {
  spec: {
    group: string;
    names: { kind: string };
    versions: { name: string; served: boolean; schema: { openAPIV3Schema: Schema } }[];
  };
}

const crds = [CRD_NAME, BINDING_CRD_NAME, GRANT_CRD_NAME].map(
  (name) => parse(readFileSync(join(root, "crds", `${name}.yaml`), "utf8")) as Crd,
);
const configText = readFileSync(join(root, KSM_CONFIG), "utf8");
const config = parseKsmConfig(configText);

/** Fields of ObjectMeta that the CRD schema leaves to the API server. */
const METADATA: Schema = {
  type: "object",
  properties: { name: { type: "string" }, namespace: { type: "string" } },
};

/**
 * The schema at a kube-state-metrics path, or why there is none. A segment is a
 * property of an object, an index of an array, or `[key=value]`, which picks
 * the array item whose `key` is `value` (kube-state-metrics' filter).
 */
function resolvePath(schema: Schema, path: Path): Schema | string {
  let current: Schema = schema;
  for (const [i, segment] of path.entries()) {
    const at = path.slice(0, i + 1).join(".");
    if (current.type === "array") {
      const filter = typeof segment === "string" ? /^\[(\w+)=([^\]]+)\]$/.exec(segment) : null;
      if (typeof segment !== "number" && !filter)
        return `${at}: an array needs an index or [key=value]`;
      const items = current.items;
      if (!items) return `${at}: the array has no item schema`;
      if (filter && !items.properties?.[filter[1] ?? ""])
        return `${at}: items have no ${filter[1]}`;
      current = items;
      continue;
    }
    const next =
      i === 0 && segment === "metadata" ? METADATA : current.properties?.[String(segment)];
    if (!next) return `${at}: no such field`;
    current = next;
  }
  return current;
}

const problem = (found: Schema | string): string => (typeof found === "string" ? found : "");

function crdFor(gvk: { group: string; version: string; kind: string }): Schema {
  const crd = crds.find((c) => c.spec.group === gvk.group && c.spec.names.kind === gvk.kind);
  assert.ok(crd, `a CRD for ${gvk.group}/${gvk.kind}`);
  const version = crd.spec.versions.find((v) => v.name === gvk.version);
  assert.ok(version?.served, `${gvk.kind} ${gvk.version} is served`);
  return version.schema.openAPIV3Schema;
}

/** Every path the configuration reads, with where it is. */
function paths(cfg: KsmConfig): { resource: string; where: string; path: Path }[] {
  const out: { resource: string; where: string; path: Path }[] = [];
  for (const resource of cfg.spec.resources) {
    const kind = resource.groupVersionKind.kind;
    const add = (where: string, labels: Record<string, Path> = {}) => {
      for (const [label, path] of Object.entries(labels))
        out.push({ resource: kind, where: `${where} label ${label}`, path });
    };
    add(kind, resource.labelsFromPath);
    for (const metric of resource.metrics) {
      add(metric.name, metric.labelsFromPath);
      add(metric.name, metric.each.info?.labelsFromPath);
      add(metric.name, metric.each.gauge?.labelsFromPath);
      if (metric.each.gauge?.path)
        out.push({ resource: kind, where: `${metric.name} value`, path: metric.each.gauge.path });
    }
  }
  return out;
}

describe("the kube-state-metrics configuration", () => {
  test("is a CustomResourceStateMetrics document for the three kinds the CRDs define", () => {
    assert.equal(config.kind, "CustomResourceStateMetrics");
    assert.deepEqual(
      config.spec.resources.map((r) => r.groupVersionKind.kind),
      crds.map((c) => c.spec.names.kind),
    );
    for (const resource of config.spec.resources) crdFor(resource.groupVersionKind);
  });

  test("reads every label and value from a field the generated CRD has", () => {
    const all = paths(config);
    assert.ok(all.length >= 10, `${all.length} paths`);
    for (const { resource, where, path } of all) {
      const gvk = config.spec.resources.find((r) => r.groupVersionKind.kind === resource);
      assert.ok(gvk);
      const found = resolvePath(crdFor(gvk.groupVersionKind), path);
      if (typeof found === "string") assert.fail(`${resource} ${where}: ${found}`);
      if (where.endsWith(" value"))
        assert.ok(["integer", "number"].includes(found.type ?? ""), `${where} is a number`);
    }
  });

  test("gives each LogDestinationPolicy's Ready status and reason, and no account ID or message", () => {
    const policy = config.spec.resources.find(
      (r) => r.groupVersionKind.kind === "LogDestinationPolicy",
    );
    const info = policy?.metrics.find(
      (m) => `${policy.metricNamePrefix ?? ""}_${m.name}` === KSM_INFO,
    );
    assert.ok(info, KSM_INFO);
    assert.equal(info.each.type, "Info");
    assert.deepEqual(info.labelsFromPath?.ready, [
      "status",
      "conditions",
      "[type=Ready]",
      "status",
    ]);
    assert.deepEqual(info.labelsFromPath.reason, [
      "status",
      "conditions",
      "[type=Ready]",
      "reason",
    ]);
    const read = paths(config).map((p) => p.path.join("."));
    // A grant's principals and applied principals are account IDs and organizations too.
    for (const hidden of [
      "status.accountId",
      "status.destinationArn",
      "message",
      "principals",
      "status.applied",
    ])
      assert.ok(!read.some((p) => p.includes(hidden)), hidden);
  });

  test("gives every metric a name of its own, so no family is split across resources", () => {
    const names = ksmMetricNames(config);
    assert.equal(new Set(names).size, names.length, names.join(", "));
    for (const name of names) assert.match(name, /^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
  });

  test("path checking refuses a field the CRD does not have, so the passes above mean something", () => {
    const schema = crdFor({
      group: "logs.gitops.dev",
      version: "v1alpha1",
      kind: "LogDestinationPolicy",
    });
    assert.match(
      problem(resolvePath(schema, ["status", "readyy"])),
      /status\.readyy: no such field/,
    );
    assert.match(
      problem(resolvePath(schema, ["status", "conditions", "[name=Ready]", "status"])),
      /items have no name/,
    );
    assert.match(
      problem(resolvePath(schema, ["status", "conditions", "status"])),
      /needs an index/,
    );
  });

  test("the ConfigMap in deploy/ carries the configuration as it is", () => {
    const [doc] = parseAllDocuments(readFileSync(join(root, KSM_DIR, "configmap.yaml"), "utf8"));
    const configMap = doc?.toJS() as { kind: string; data: Record<string, string> };
    assert.equal(configMap.kind, "ConfigMap");
    assert.equal(configMap.data[KSM_CONFIG_KEY], configText);
  });

  test("the dashboard's kube-state-metrics table shows labels the configuration defines", () => {
    interface Panel {
      type: string;
      targets?: { expr: string }[];
      transformations?: { id: string; options: { include?: { names: string[] } } }[];
    }
    const panels = (buildDashboard() as { panels: Panel[] }).panels.filter((p) =>
      p.targets?.some((t) => t.expr.startsWith(KSM_INFO)),
    );
    assert.equal(panels.length, 1);
    const columns = panels[0]?.transformations?.find((t) => t.id === "filterFieldsByName")?.options
      .include?.names;
    assert.ok(columns);
    const policy = config.spec.resources[0];
    const info = policy?.metrics[0];
    const defined = new Set([
      ...Object.keys(info?.labelsFromPath ?? {}),
      ...Object.keys(info?.each.info?.labelsFromPath ?? {}),
    ]);
    for (const column of columns) assert.ok(defined.has(column), column);
  });
});
