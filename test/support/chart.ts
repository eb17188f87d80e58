// Helpers for tests of the Helm chart, the alert rules and the dashboard:
// rendering the chart with helm, applying what it renders with kubectl, and
// finding the monitoring tools that env/monitoring-tools.sh installs.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { CustomObjectsApi } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { GROUP, PLURAL, VERSION } from "../../src/api/names.ts";
import type { TestEnv } from "./env.ts";
import { applyCrds } from "../../env/resources.ts";
import { KSM_CONFIG, ksmMetricNames, parseKsmConfig } from "../../scripts/kube-state-metrics.ts";

const execFileAsync = promisify(execFile);

export const root = join(import.meta.dirname, "..", "..");
export const chartDir = join(root, "charts", "log-destination-policy-controller");
export const alertsFile = join(root, "deploy", "prometheus", "alerts.yaml");
export const alertTestsFile = join(root, "deploy", "prometheus", "alerts.test.yaml");
export const dashboardFile = join(chartDir, "dashboards", "log-destination-policy-controller.json");
export const runbooksFile = join(root, "docs", "runbooks.md");

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [key: string]: unknown;
}

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export type Values = Record<string, unknown>;

/**
 * Every rule the chart may grant, and why the controller needs it. The RBAC proof
 * in test/integration/chart-rbac.test.ts runs the controller with exactly these.
 */
export const POLICY_RULES: PolicyRule[] = [
  // The informer lists and watches the objects; merge patches of metadata record the
  // last-applied policy (annotations) and hold the revoke finalizer (deletionPolicy: Revoke).
  {
    apiGroups: ["logs.gitops.dev"],
    resources: ["logdestinationpolicies"],
    verbs: ["list", "watch", "patch"],
  },
  // Conditions, observedGeneration and the applied hash.
  {
    apiGroups: ["logs.gitops.dev"],
    resources: ["logdestinationpolicies/status"],
    verbs: ["patch"],
  },
  // Grants: listed and watched with the policies; a merge patch of metadata holds the
  // finalizer that keeps a grant until its principals left AWS.
  {
    apiGroups: ["logs.gitops.dev"],
    resources: ["logdestinationgrants"],
    verbs: ["list", "watch", "patch"],
  },
  // A grant's Ready condition, and the principals AWS holds for it.
  {
    apiGroups: ["logs.gitops.dev"],
    resources: ["logdestinationgrants/status"],
    verbs: ["patch"],
  },
  // An event per outcome; a repeat bumps series.count.
  { apiGroups: ["events.k8s.io"], resources: ["events"], verbs: ["create", "patch"] },
];
/** Tenancy (tenancy.requireBinding): the bindings. */
export const TENANCY_RULES: PolicyRule[] = [
  {
    apiGroups: ["logs.gitops.dev"],
    resources: ["logdestinationpolicybindings"],
    verbs: ["list", "watch"],
  },
  // Ready, or why the binding's spec was refused.
  {
    apiGroups: ["logs.gitops.dev"],
    resources: ["logdestinationpolicybindings/status"],
    verbs: ["patch"],
  },
];
/** Always: the namespaces' labels, which spec.grants.from (and binding selectors) match. */
export const NAMESPACE_RULES: PolicyRule[] = [
  { apiGroups: [""], resources: ["namespaces"], verbs: ["list", "watch"] },
];
/** Secure metrics (metrics.secure): review each scrape's token and whether its user may get /metrics. */
export const METRICS_AUTH_RULES: PolicyRule[] = [
  { apiGroups: ["authentication.k8s.io"], resources: ["tokenreviews"], verbs: ["create"] },
  { apiGroups: ["authorization.k8s.io"], resources: ["subjectaccessreviews"], verbs: ["create"] },
];
/** What the metrics-reader ClusterRole grants whoever it is bound to; the controller is not. */
export const METRICS_READER_RULES: PolicyRule[] = [
  { nonResourceURLs: ["/metrics"], verbs: ["get"] },
];
/** Leader election: create the Lease once; read, renew and take over that one Lease. */
export function leaseRules(id: string): PolicyRule[] {
  return [
    { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
    {
      apiGroups: ["coordination.k8s.io"],
      resources: ["leases"],
      resourceNames: [id],
      verbs: ["get", "update"],
    },
  ];
}

/**
 * The value combinations every chart test covers. `watchNamespaces` is filled in
 * by the caller, since a server-side dry run needs namespaces that exist.
 */
export function combinations(watchNamespaces: string[]): Record<string, Values> {
  return {
    "default values": {},
    "namespaced RBAC": { watchNamespaces },
    "ServiceMonitor and PrometheusRule on": {
      serviceMonitor: { enabled: true, labels: { release: "kube-prometheus-stack" } },
      prometheusRule: { enabled: true, additionalAlertLabels: { team: "platform" } },
    },
    "CRDs off": { crds: { enabled: false } },
    "bindings, and tenancy off": {
      tenancy: { requireBinding: false },
      bindings: [
        {
          name: "team-payments",
          spec: {
            namespaceSelector: { matchLabels: { team: "payments" } },
            destinations: ["payments-*", "shared-audit"],
            regions: ["us-east-1"],
            roleArns: ["arn:aws:iam::222222222222:role/ldp-payments"],
            principals: { accounts: ["444444444444"], organizationIds: ["o-a1b2c3d4e5"] },
          },
        },
        { name: "everyone-audit", spec: { namespaceSelector: {}, destinations: ["audit-*"] } },
      ],
    },
    "CRDs not kept on uninstall": { crds: { keep: false } },
    "plain metrics with a ServiceMonitor": {
      metrics: { secure: false },
      serviceMonitor: { enabled: true },
    },
    "metrics served from a certificate Secret, read by named subjects": {
      metrics: {
        certSecret: "ldpc-metrics-cert",
        readers: [
          { kind: "ServiceAccount", name: "prometheus", namespace: "monitoring" },
          { kind: "Group", name: "platform-observers" },
        ],
      },
      serviceMonitor: { enabled: true, bearerTokenSecret: { name: "prom-token", key: "token" } },
      networkPolicy: { enabled: true, metricsNamespaces: ["monitoring", "ldpc-system"] },
    },
    "replicas 2": { replicaCount: 2 },
    "every optional object and pass-through": {
      replicaCount: 3,
      leaderElection: { enabled: true, namespace: watchNamespaces[0] ?? "", id: "ldpc-leader" },
      image: { tag: "0.1.0", digest: `sha256:${"0123456789abcdef".repeat(4)}` },
      imagePullSecrets: [{ name: "registry" }],
      objectQuotas: [
        { namespace: watchNamespaces[0] ?? "", policies: 200 },
        { namespace: watchNamespaces[1] ?? "", policies: 0 },
      ],
      aws: {
        region: "eu-west-1",
        maxAttempts: 3,
        maxRetryTime: "1m30s",
        rateLimit: 2.5,
        allowedRoleArns: ["arn:aws:iam::111111111111:role/ldpc", "arn:aws:iam::*:role/ldpc-target"],
      },
      controller: {
        logLevel: "debug",
        maxConcurrentReconciles: 8,
        driftDetectionInterval: "0",
        denyPublicAccessOverride: true,
        extraArgs: ["--log-level=warn"],
      },
      serviceAccount: {
        annotations: { "eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/ldpc" },
        labels: { team: "platform" },
      },
      podAnnotations: { "example.com/owner": "platform" },
      podLabels: { tier: "control" },
      extraEnv: [{ name: "AWS_STS_REGIONAL_ENDPOINTS", value: "regional" }],
      priorityClassName: "system-cluster-critical",
      nodeSelector: { "kubernetes.io/os": "linux" },
      tolerations: [{ key: "dedicated", operator: "Equal", value: "ops", effect: "NoSchedule" }],
      affinity: {
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 100,
              podAffinityTerm: {
                topologyKey: "kubernetes.io/hostname",
                labelSelector: {
                  matchLabels: { "app.kubernetes.io/name": "log-destination-policy-controller" },
                },
              },
            },
          ],
        },
      },
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: "topology.kubernetes.io/zone",
          whenUnsatisfiable: "ScheduleAnyway",
        },
      ],
      metrics: { service: { enabled: true, annotations: { "example.com/scrape": "true" } } },
      dashboard: { enabled: true, annotations: { grafana_folder: "Controllers" } },
      kubeStateMetrics: {
        enabled: true,
        namespace: watchNamespaces[0] ?? "",
        labels: { "example.com/config": "kube-state-metrics" },
      },
      networkPolicy: {
        enabled: true,
        metricsFrom: [
          { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } },
        ],
        egress: [
          {
            ports: [
              { port: 53, protocol: "UDP" },
              { port: 443, protocol: "TCP" },
            ],
          },
        ],
      },
      podDisruptionBudget: { maxUnavailable: 1 },
    },
  };
}

export async function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await execFileAsync(command, args, { maxBuffer: 64 << 20, ...options });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${command} ${args.join(" ")} failed: ${e.stderr ?? ""}${e.stdout ?? ""}${e.message}`,
      { cause: err },
    );
  }
}

async function withValuesFile<T>(values: Values, use: (file: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "ldpc-values-"));
  try {
    const file = join(dir, "values.json"); // JSON is YAML
    await writeFile(file, JSON.stringify(values));
    return await use(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  kubeVersion?: string;
}

/** `helm template`, parsed into objects. */
export async function renderChart(
  helm: string,
  values: Values,
  options: RenderOptions = {},
): Promise<K8sObject[]> {
  const text = await renderChartText(helm, values, options);
  return parseAllDocuments(text)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`rendered YAML: ${doc.errors[0]?.message ?? ""}`);
      return doc.toJSON() as K8sObject | null;
    })
    .filter((obj): obj is K8sObject => obj !== null);
}

export function renderChartText(
  helm: string,
  values: Values,
  options: RenderOptions = {},
): Promise<string> {
  return withValuesFile(values, async (file) => {
    const args = [
      "template",
      options.release ?? "ldpc",
      chartDir,
      "--namespace",
      options.namespace ?? "ldpc-system",
      "--values",
      file,
    ];
    if (options.kubeVersion) args.push("--kube-version", options.kubeVersion);
    return (await run(helm, args)).stdout;
  });
}

export function helmLint(helm: string, values: Values): Promise<{ stdout: string }> {
  return withValuesFile(values, (file) =>
    run(helm, ["lint", "--strict", chartDir, "--namespace", "ldpc-system", "--values", file]),
  );
}

/** Applies objects with kubectl server-side apply; with `dryRun`, nothing is persisted. */
export async function kubectlApply(
  env: TestEnv,
  objects: K8sObject[],
  options: { dryRun?: boolean; kubeconfig?: string } = {},
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "ldpc-apply-"));
  try {
    const file = join(dir, "objects.json");
    await writeFile(file, JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));
    const args = [
      "--kubeconfig",
      options.kubeconfig ?? env.kubeconfigPath,
      "apply",
      "--server-side",
      "--force-conflicts",
      "--field-manager",
      "ldpc-chart-test",
      "--validate=strict",
      "-f",
      file,
    ];
    if (options.dryRun) args.push("--dry-run=server");
    return (await run(env.kubectl, args)).stdout;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Deletes every LogDestinationPolicy in the namespaces, so that controllers of
 * later test files do not keep retrying objects this file left failing.
 */
export async function deletePolicies(env: TestEnv, namespaces: string[]): Promise<void> {
  const api = env.kubeConfig.makeApiClient(CustomObjectsApi);
  for (const namespace of namespaces) {
    await api.deleteCollectionNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace,
    });
  }
}

export interface MonitoringTools {
  prometheus: string;
  promtool: string;
  /** Folder with monitoring.coreos.com_*.yaml from the prometheus-operator module. */
  operatorCrds: string;
}

let tools: Promise<MonitoringTools> | undefined;

/** Paths from env/monitoring-tools.sh, which installs the tools on first use. */
export function monitoringTools(): Promise<MonitoringTools> {
  tools ??= (async () => {
    const script = join(root, "env", "monitoring-tools.sh");
    const { stdout } = await run("bash", [
      "-c",
      'set -e; eval "$(bash "$0" --print-env)"; printf "%s\\0" "$PROMETHEUS_BIN" "$PROMTOOL_BIN" "$PROMETHEUS_OPERATOR_CRDS"',
      script,
    ]);
    const [prometheus, promtool, operatorCrds] = stdout.split("\0");
    if (!prometheus || !promtool || !operatorCrds) {
      throw new Error(`monitoring-tools.sh --print-env printed ${JSON.stringify(stdout)}`);
    }
    return { prometheus, promtool, operatorCrds };
  })();
  return tools;
}

/** Installs the ServiceMonitor and PrometheusRule CRDs for real and waits until they are served. */
export async function installMonitoringCrds(env: TestEnv): Promise<void> {
  const { operatorCrds } = await monitoringTools();
  await applyCrds(
    env,
    ["servicemonitors", "prometheusrules"].map((plural) => ({
      file: join(operatorCrds, `monitoring.coreos.com_${plural}.yaml`),
      name: `${plural}.monitoring.coreos.com`,
    })),
    "60s",
  );
}

export async function readText(path: string): Promise<string> {
  return readFile(path, "utf8");
}

/**
 * The metrics kube-state-metrics serves with deploy/kube-state-metrics/: the
 * dashboard reads them, but the controller does not expose them.
 */
export async function kubeStateMetricsNames(): Promise<Set<string>> {
  return new Set(ksmMetricNames(parseKsmConfig(await readText(join(root, KSM_CONFIG)))));
}

/** A Grafana dashboard's expressions, with where each comes from. */
export interface DashboardExpression {
  where: string;
  expr: string;
}

interface DashboardJson {
  panels: {
    title: string;
    type: string;
    targets?: { expr: string }[];
    panels?: DashboardJson["panels"];
  }[];
  templating: { list: { name: string; type: string; query?: { query: string } | string }[] };
}

export async function dashboardExpressions(): Promise<DashboardExpression[]> {
  const dashboard = JSON.parse(await readText(dashboardFile)) as DashboardJson;
  const out: DashboardExpression[] = [];
  const visit = (panels: DashboardJson["panels"]) => {
    for (const panel of panels) {
      for (const [i, target] of (panel.targets ?? []).entries()) {
        out.push({ where: `panel "${panel.title}" target ${i}`, expr: target.expr });
      }
      visit(panel.panels ?? []);
    }
  };
  visit(dashboard.panels);
  for (const variable of dashboard.templating.list) {
    if (variable.type !== "query" || !variable.query) continue;
    const query = typeof variable.query === "string" ? variable.query : variable.query.query;
    // label_values(selector, label) is Grafana's; Prometheus evaluates the selector.
    const selector = /^label_values\((.*),\s*\w+\)$/.exec(query)?.[1] ?? query;
    out.push({ where: `variable $${variable.name}`, expr: selector });
  }
  return out;
}

/** Replaces Grafana's variables with the values a test scrape uses. */
export function withGrafanaVariables(
  expr: string,
  values: { job: string; namespace: string; rateInterval: string },
): string {
  return expr
    .replaceAll("$__rate_interval", values.rateInterval)
    .replaceAll("$__interval", values.rateInterval)
    .replaceAll("$job", values.job)
    .replaceAll("$namespace", values.namespace);
}

export interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function alertRules(groups: { rules: AlertRule[] }[]): AlertRule[] {
  return groups.flatMap((g) => g.rules);
}

const PROMQL_KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "offset",
  "bool",
  "and",
  "or",
  "unless",
  "atan2",
  "inf",
  "nan",
]);

/**
 * The metric names a PromQL expression selects: identifiers that are not
 * functions, aggregations, keywords, label names in by()/on() lists or inside
 * {} matchers, durations or strings.
 */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  let text = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    // Numbers and durations (0.99, 1e3, 5m), which would otherwise leave a unit behind.
    .replace(/(?<![\w:])\d[\w.]*/g, " ");
  // Label lists after grouping modifiers.
  text = text.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " $1 ");
  for (const match of text.matchAll(/[A-Za-z_:][\w:]*/g)) {
    const word = match[0];
    const after = text.slice(match.index + word.length);
    // A function, or an aggregation with its grouping written before the parentheses.
    if (/^\s*(?:(?:by|without)\s*)?\(/.test(after)) continue;
    if (PROMQL_KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names].sort();
}

/** Metric families a /metrics page declares with # TYPE, and their sample names. */
export function exposedMetrics(text: string): Map<string, string> {
  const families = new Map<string, string>();
  for (const match of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name, type] = match;
    if (name && type) families.set(name, type);
  }
  return families;
}

/** Whether a name a query uses is a series of a declared family (histogram suffixes included). */
export function isExposed(name: string, families: Map<string, string>): boolean {
  if (families.has(name)) return true;
  const suffixed = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (suffixed?.[1]) {
    const type = families.get(suffixed[1]);
    return type === "histogram" || type === "summary";
  }
  return false;
}
