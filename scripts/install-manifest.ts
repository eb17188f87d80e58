// install.yaml: the Helm chart rendered by the real helm, for
// `kubectl apply --server-side -f install.yaml`. `npm run generate` writes it and
// `npm run generate:check` compares it, like the chart's other generated files.
//
// The chart is the only source: every object comes from `helm template` with the
// chart's defaults and the few values below, so a change to a template or a
// default reaches install.yaml on the next generate. The bundle adds the
// namespace (helm template renders none) and puts the objects in the order a
// reader and `kubectl apply` want them.
import { cp, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { parseDocument, stringify } from "yaml";
import { resolveHelm } from "../env/binaries.ts";
import { CHART_DIR } from "./chart.ts";

const execFileAsync = promisify(execFile);

export const INSTALL_FILE = "install.yaml";
export const INSTALL_NAMESPACE = "ldpc-system";
/** The release name; it contains the chart's name, so objects are named after the chart alone. */
export const INSTALL_RELEASE = "log-destination-policy-controller";
/**
 * ValidatingAdmissionPolicy v1 is served from Kubernetes 1.30, and the chart
 * renders its admission policies only there; install.yaml carries them, so it
 * needs 1.30 or later. Fixed here so that the bundle does not change with the
 * Kubernetes version the local control plane is built from.
 */
export const INSTALL_KUBE_VERSION = "v1.30.0";
/**
 * Values beyond the chart's defaults. The metrics Service makes /metrics
 * reachable for a scrape config without Helm; everything else is the default.
 */
export const INSTALL_VALUES = { metrics: { service: { enabled: true } } };

/**
 * Kinds in the order they appear: the namespace, then what the controller's pod
 * needs before it starts, the workload, and the admission policies last (they
 * refer to the CRD and to the ServiceAccount's name). Kinds not listed here go
 * between the ServiceAccount and the Deployment, in the order helm renders them.
 */
const ORDER = [
  "Namespace",
  "CustomResourceDefinition",
  "ClusterRole",
  "ClusterRoleBinding",
  "Role",
  "RoleBinding",
  "ServiceAccount",
  "",
  "Deployment",
  "Service",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
];

interface Rendered {
  kind: string;
  /** The document as helm printed it, its `# Source:` line included. */
  text: string;
}

function rank(kind: string): number {
  const index = ORDER.indexOf(kind);
  return index < 0 ? ORDER.indexOf("") : index;
}

/** Splits helm's output into documents, refusing what `kubectl apply` cannot honour. */
export function splitRendered(text: string): Rendered[] {
  const docs: Rendered[] = [];
  for (const chunk of text.split(/^---\s*$/m)) {
    const doc = parseDocument(chunk);
    if (doc.errors.length > 0) throw new Error(`helm template: ${doc.errors[0]?.message ?? ""}`);
    const value = doc.toJS() as {
      kind?: string;
      metadata?: { name?: string; annotations?: Record<string, string> };
    } | null;
    if (value === null) continue;
    const what = `${value.kind ?? "?"} ${value.metadata?.name ?? "?"}`;
    if (!value.kind) throw new Error(`helm template rendered a document without a kind: ${chunk}`);
    // A hook runs only under Helm; applied by kubectl it would be an ordinary object.
    if (value.metadata?.annotations?.["helm.sh/hook"] !== undefined)
      throw new Error(`${what} is a Helm hook, which kubectl apply would not run as one`);
    docs.push({ kind: value.kind, text: chunk.trim() });
  }
  return docs;
}

function namespaceDocument(): string {
  return stringify({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: INSTALL_NAMESPACE,
      labels: {
        "app.kubernetes.io/part-of": "log-destination-policy-controller",
        // The chart's pods already meet the restricted Pod Security Standard.
        "pod-security.kubernetes.io/enforce": "restricted",
      },
    },
  }).trim();
}

/** The documents of install.yaml in order, the namespace first. */
export function assemble(rendered: Rendered[]): string {
  const sorted = rendered
    .map((doc, index) => ({ doc, index }))
    .sort((a, b) => rank(a.doc.kind) - rank(b.doc.kind) || a.index - b.index)
    .map(({ doc }) => doc.text);
  const header = [
    `# Generated from ${CHART_DIR} by \`npm run generate\`. Do not edit.`,
    `# The chart's defaults, with the metrics Service, in namespace ${INSTALL_NAMESPACE};`,
    "# for Kubernetes 1.30 or later:",
    "#   kubectl apply --server-side -f install.yaml",
  ].join("\n");
  return `${header}\n---\n${[namespaceDocument(), ...sorted].join("\n---\n")}\n`;
}

/**
 * install.yaml, keyed by its path. `generated` holds the other outputs of
 * scripts/generate.ts: helm renders a copy of the chart with the chart's
 * generated files as they are about to be written, so a stale copy on disk
 * cannot leak into the bundle.
 */
export async function installOutputs(
  root: string,
  generated: Record<string, string>,
): Promise<Record<string, string>> {
  const helm = await resolveHelm();
  const dir = await mkdtemp(join(tmpdir(), "ldpc-install-"));
  try {
    const chart = join(dir, "chart");
    await cp(join(root, CHART_DIR), chart, { recursive: true });
    for (const [path, content] of Object.entries(generated)) {
      const inChart = relative(CHART_DIR, path);
      if (inChart.startsWith("..")) continue;
      await mkdir(dirname(join(chart, inChart)), { recursive: true });
      await writeFile(join(chart, inChart), content);
    }
    const values = join(dir, "values.json"); // JSON is YAML
    await writeFile(values, JSON.stringify(INSTALL_VALUES));
    const { stdout } = await execFileAsync(
      helm,
      [
        "template",
        INSTALL_RELEASE,
        chart,
        "--namespace",
        INSTALL_NAMESPACE,
        "--kube-version",
        INSTALL_KUBE_VERSION,
        "--skip-tests",
        "--values",
        values,
      ],
      { maxBuffer: 64 << 20 },
    );
    return { [INSTALL_FILE]: assemble(splitRendered(stdout)) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
