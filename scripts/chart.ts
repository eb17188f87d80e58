// The Helm chart's generated files, written by `npm run generate` and compared by
// `npm run generate:check`:
//   files/crds/*.yaml    copies of crds/, the single source of the CRD;
//   files/alerts.yaml    a copy of deploy/prometheus/alerts.yaml;
//   dashboards/*.json    the Grafana dashboard built by scripts/dashboard.ts;
//   values.schema.json   and the table in README.md, both from the `# --`
//                        comments and `# @schema` lines of values.yaml.
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { format, resolveConfig } from "prettier";
import { isMap, isScalar, parse, parseDocument, type YAMLMap } from "yaml";
import { buildBindingCrd } from "../src/api/crd.ts";
import { buildDashboard } from "./dashboard.ts";

export const CHART_DIR = join("charts", "log-destination-policy-controller");
export const DASHBOARD_FILE = join(
  CHART_DIR,
  "dashboards",
  "log-destination-policy-controller.json",
);
export const ALERTS_SOURCE = join("deploy", "prometheus", "alerts.yaml");
const README_BEGIN = "<!-- values:begin (generated from values.yaml by `npm run generate`) -->";
const README_END = "<!-- values:end -->";

type JsonSchema = Record<string, unknown>;

/** One documented key of values.yaml. */
export interface ValueDoc {
  key: string;
  type: string;
  default: unknown;
  description: string;
}

interface Comment {
  description: string;
  schema: JsonSchema;
}

/** The `# --` description and `# @schema` keywords of a key's comment block. */
function readComment(text: string | null | undefined): Comment | undefined {
  if (!text) return undefined;
  const lines = text.split("\n").map((line) => line.replace(/^ ?/, ""));
  const start = lines.findLastIndex((line) => line.startsWith("-- "));
  if (start < 0) return undefined;
  const description: string[] = [];
  let schema: JsonSchema = {};
  for (const line of lines.slice(start)) {
    if (line.startsWith("@schema ")) {
      schema = { ...schema, ...(parse(line.slice("@schema ".length)) as JsonSchema) };
    } else {
      description.push(line.replace(/^-- /, "").trim());
    }
  }
  return { description: description.join(" ").trim(), schema };
}

function inferType(value: unknown, key: string): string {
  if (typeof value === "string") return "string";
  if (typeof value === "boolean") return "boolean";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  if (Array.isArray(value)) return "array";
  if (value !== null && typeof value === "object") return "object";
  throw new Error(`values.yaml: ${key} is null; give it a type with a "# @schema" line`);
}

function describeMap(map: YAMLMap, path: string[], docs: ValueDoc[]): JsonSchema {
  const properties: Record<string, JsonSchema> = {};
  for (const [index, pair] of map.items.entries()) {
    if (!isScalar(pair.key))
      throw new Error(`values.yaml: a key under ${path.join(".")} is not a scalar`);
    const name = String(pair.key.value);
    const key = [...path, name].join(".");
    const raw = pair.key.commentBefore ?? (index === 0 ? map.commentBefore : undefined);
    const comment = readComment(raw);
    const value = pair.value;
    // A map without its own "type" is a group of documented keys; anything else is a leaf.
    if (isMap(value) && value.items.length > 0 && comment?.schema.type === undefined) {
      const group = describeMap(value, [...path, name], docs);
      if (comment?.description) group.description = comment.description;
      properties[name] = group;
      continue;
    }
    if (!comment?.description) throw new Error(`values.yaml: ${key} has no "# --" description`);
    const defaultValue: unknown = (value as { toJSON?: () => unknown } | null)?.toJSON?.() ?? null;
    const type = (comment.schema.type ?? inferType(defaultValue, key)) as string | string[];
    properties[name] = { ...comment.schema, type, description: comment.description };
    docs.push({
      key,
      type: Array.isArray(type) ? type.join(" or ") : type,
      default: defaultValue,
      description: comment.description,
    });
  }
  return { type: "object", additionalProperties: false, properties };
}

/**
 * The NODE_OPTIONS the chart sets with its default values, built the way the
 * Deployment template builds it; the benchmark runs the controller with it.
 */
export function chartNodeOptions(root = join(import.meta.dirname, "..")): string {
  const values = parse(readFileSync(join(root, CHART_DIR, "values.yaml"), "utf8")) as {
    heap: { maxOldSpaceMiB: number; maxSemiSpaceMiB: number };
  };
  const options: string[] = [];
  if (values.heap.maxOldSpaceMiB > 0)
    options.push(`--max-old-space-size=${String(values.heap.maxOldSpaceMiB)}`);
  if (values.heap.maxSemiSpaceMiB > 0)
    options.push(`--max-semi-space-size=${String(values.heap.maxSemiSpaceMiB)}`);
  return options.join(" ");
}

/** The JSON schema of values.yaml and one row per documented key. */
export function describeValues(text: string): { schema: JsonSchema; docs: ValueDoc[] } {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`values.yaml: ${doc.errors[0]?.message ?? ""}`);
  if (!isMap(doc.contents)) throw new Error("values.yaml is not a map");
  const docs: ValueDoc[] = [];
  const body = describeMap(doc.contents, [], docs);
  // Helm passes a parent chart's `global` values to every subchart; without this
  // the strict schema would refuse the chart as a dependency.
  (body.properties as Record<string, JsonSchema>).global = {
    type: "object",
    description: "Values a parent chart shares with its subcharts; this chart reads none of them.",
  };
  return {
    schema: {
      $schema: "http://json-schema.org/draft-07/schema#",
      title: "Values of the log-destination-policy-controller chart",
      ...body,
      // `bindings` items refer to it: the binding kind's own schema, generated from src/api.
      definitions: { bindingSpec: bindingSpecSchema() },
    },
    docs,
  };
}

function bindingSpecSchema(): JsonSchema {
  const crd = buildBindingCrd() as {
    spec: { versions: { schema: { openAPIV3Schema: { properties: { spec: JsonSchema } } } }[] };
  };
  const spec = crd.spec.versions[0]?.schema.openAPIV3Schema.properties.spec;
  if (!spec) throw new Error("the binding CRD has no spec schema");
  return spec;
}

function tableCell(text: string): string {
  return text.replaceAll("|", "\\|");
}

function valuesTable(docs: ValueDoc[]): string {
  const lines = ["| Key | Type | Default | Description |", "| --- | --- | --- | --- |"];
  for (const doc of docs) {
    const json = JSON.stringify(doc.default);
    lines.push(
      `| \`${doc.key}\` | ${doc.type} | \`${tableCell(json)}\` | ${tableCell(doc.description)} |`,
    );
  }
  return lines.join("\n");
}

async function pretty(root: string, path: string, text: string): Promise<string> {
  const options = await resolveConfig(join(root, path));
  return format(text, { ...options, filepath: join(root, path) });
}

/**
 * The chart's generated files, keyed by path from the repository root.
 * `generated` holds the other outputs of scripts/generate.ts: the CRDs under crds/.
 */
export async function chartOutputs(
  root: string,
  generated: Record<string, string>,
): Promise<Record<string, string>> {
  const outputs: Record<string, string> = {};
  for (const [path, content] of Object.entries(generated)) {
    if (path.startsWith("crds/"))
      outputs[join(CHART_DIR, "files", "crds", basename(path))] = content;
  }

  const alerts = await readFile(join(root, ALERTS_SOURCE), "utf8");
  outputs[join(CHART_DIR, "files", "alerts.yaml")] =
    `# Copied from ${ALERTS_SOURCE} by \`npm run generate\`. Do not edit.\n${alerts}`;

  outputs[DASHBOARD_FILE] = await pretty(root, DASHBOARD_FILE, JSON.stringify(buildDashboard()));

  const values = await readFile(join(root, CHART_DIR, "values.yaml"), "utf8");
  const { schema, docs } = describeValues(values);
  const schemaPath = join(CHART_DIR, "values.schema.json");
  outputs[schemaPath] = await pretty(root, schemaPath, JSON.stringify(schema));

  const readmePath = join(CHART_DIR, "README.md");
  const readme = await readFile(join(root, readmePath), "utf8");
  const begin = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END);
  if (begin < 0 || end < begin) {
    throw new Error(`${readmePath} lacks the markers ${README_BEGIN} and ${README_END}`);
  }
  const withTable =
    readme.slice(0, begin + README_BEGIN.length) +
    "\n\n" +
    valuesTable(docs) +
    "\n\n" +
    readme.slice(end);
  outputs[readmePath] = await pretty(root, readmePath, withTable);
  return outputs;
}
