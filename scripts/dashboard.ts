// The Grafana dashboard of the controller, as code. `npm run generate` writes it
// to charts/log-destination-policy-controller/dashboards/, from where the chart's
// ConfigMap and users who import it by hand take it. Every expression is
// evaluated by a real Prometheus against the running controller in
// test/integration/monitoring.test.ts.
import { CONTROLLER_NAME } from "../src/api/names.ts";
import { MAX_POLICY_BYTES } from "../src/util/limits.ts";

const DATASOURCE = { type: "prometheus", uid: "${datasource}" };
const SCOPE = 'job=~"$job", namespace=~"$namespace"';
const CONTROLLER = `${SCOPE}, controller="${CONTROLLER_NAME}"`;
const QUEUE = `${SCOPE}, name="${CONTROLLER_NAME}"`;
const RATE = "[$__rate_interval]";
/** Each LogDestinationPolicy's Ready status and reason, from kube-state-metrics. */
export const KSM_INFO = "ldpc_resource_info";
/** The Ready reasons of Ready=True, as the alerts use them too. */
export const READY_REASONS = "Applied|InSync";

interface Target {
  expr: string;
  legend: string;
}

interface PanelSpec {
  title: string;
  description: string;
  type: "timeseries" | "stat" | "bargauge" | "table";
  unit: string;
  targets: Target[];
  width: number;
  height?: number;
  stack?: boolean;
  min?: number;
  max?: number;
  thresholds?: { color: string; value: number | null }[];
  /** Table panels: the labels shown as columns, in order, with their headers. */
  columns?: Record<string, string>;
}

type Panel = Record<string, unknown>;

const rate = (metric: string, selector: string, by: string) =>
  `sum by (${by}) (rate(${metric}{${selector}}${RATE}))`;

const quantile = (q: number, metric: string, selector: string, by = "") =>
  `histogram_quantile(${q}, sum by (${by ? `${by}, ` : ""}le) (rate(${metric}_bucket{${selector}}${RATE})))`;

/** The median and the 99th percentile of a histogram, the pair every latency panel shows. */
const medianAndP99 = (metric: string, selector: string) => [
  { expr: quantile(0.5, metric, selector), legend: "p50" },
  { expr: quantile(0.99, metric, selector), legend: "p99" },
];

/** One series per pod: `agg by (pod)` of a series. */
const perPod = (agg: "sum" | "max", series: string, legend = "{{pod}}"): Target => ({
  expr: `${agg} by (pod) (${series})`,
  legend,
});

const rows: { title: string; panels: PanelSpec[] }[] = [
  {
    title: "Overview",
    panels: [
      {
        title: "Objects by Ready reason",
        description:
          "LogDestinationPolicy objects by the reason of their Ready condition. Applied and InSync are Ready=True; every other reason is Ready=False.",
        type: "bargauge",
        unit: "short",
        width: 8,
        height: 7,
        targets: [
          {
            expr: `sum by (reason) (log_destination_policy_resources{${SCOPE}})`,
            legend: "{{reason}}",
          },
        ],
      },
      {
        title: "Objects not Ready",
        description: "Objects whose Ready condition is False, whatever the reason.",
        type: "stat",
        unit: "short",
        width: 4,
        height: 7,
        thresholds: [
          { color: "green", value: null },
          { color: "red", value: 1 },
        ],
        targets: [
          {
            expr: `sum(log_destination_policy_resources{${SCOPE}, reason!~"${READY_REASONS}"}) or vector(0)`,
            legend: "not Ready",
          },
        ],
      },
      {
        title: "Age of the last successful apply",
        description:
          "Time since PutDestinationPolicy last succeeded. A quiet, healthy controller ages too: only changed policies are applied.",
        type: "stat",
        unit: "s",
        width: 4,
        height: 7,
        targets: [
          {
            expr: `time() - max(log_destination_policy_last_apply_timestamp_seconds{${SCOPE}} > 0)`,
            legend: "age",
          },
        ],
      },
      {
        title: "Active workers",
        description: "Reconciles running now, against the configured maximum.",
        type: "stat",
        unit: "short",
        width: 4,
        height: 7,
        targets: [
          {
            expr: `sum(controller_runtime_active_workers{${CONTROLLER}})`,
            legend: "active",
          },
          {
            expr: `sum(controller_runtime_max_concurrent_reconciles{${CONTROLLER}})`,
            legend: "max",
          },
        ],
      },
      {
        title: "Controller pods",
        description: "Pods of the controller that Prometheus scrapes.",
        type: "stat",
        unit: "short",
        width: 4,
        height: 7,
        targets: [
          {
            expr: `count(controller_runtime_max_concurrent_reconciles{${CONTROLLER}})`,
            legend: "pods",
          },
        ],
      },
    ],
  },
  {
    // Policies that accept grants (spec.grants) and the grants merged into them.
    // The policy's own namespace label meets the scrape target's, so Prometheus
    // keeps it as exported_namespace.
    title: "Shared destinations",
    panels: [
      {
        title: "Bytes used per shared destination",
        description: `Bytes of the merged policy (the owner's statements and every admitted LogDestinationGrant) of each LogDestinationPolicy that accepts grants, against the ${String(MAX_POLICY_BYTES)} bytes PutDestinationPolicy takes. Above 90 % the LogDestinationPolicySharedNearlyFull alert fires; when it is full, new or grown grants wait with reason PolicySizeExceeded.`,
        type: "bargauge",
        unit: "bytes",
        width: 16,
        min: 0,
        max: MAX_POLICY_BYTES,
        thresholds: [
          { color: "green", value: null },
          { color: "orange", value: 0.8 * MAX_POLICY_BYTES },
          { color: "red", value: 0.9 * MAX_POLICY_BYTES },
        ],
        targets: [
          {
            expr: `max by (exported_namespace, name) (log_destination_policy_shared_policy_bytes{${SCOPE}})`,
            legend: "{{exported_namespace}}/{{name}}",
          },
        ],
      },
      {
        title: "Grants by state",
        description:
          "LogDestinationGrant objects by the reason of their Ready condition: Applied; waiting for room (PolicySizeExceeded) or for the owner's forceUpdate (ForceUpdateRequired); refused (InvalidSpec, NotAccepted, NotPermitted); PolicyNotFound; or the reason of a policy that is not Ready.",
        type: "bargauge",
        unit: "short",
        width: 8,
        targets: [
          {
            expr: `sum by (reason) (log_destination_policy_grants{${SCOPE}})`,
            legend: "{{reason}}",
          },
        ],
      },
    ],
  },
  {
    title: "Reconciles",
    panels: [
      {
        title: "Reconcile rate by result",
        description: "Reconciles per second by result (success or error).",
        type: "timeseries",
        unit: "ops",
        width: 12,
        stack: true,
        targets: [
          {
            expr: rate("controller_runtime_reconcile_total", CONTROLLER, "result"),
            legend: "{{result}}",
          },
        ],
      },
      {
        title: "Reconcile errors",
        description:
          "Failed reconciles per second. Each one is retried with a per-object backoff of up to 1000 s.",
        type: "timeseries",
        unit: "ops",
        width: 12,
        targets: [
          {
            expr: rate("controller_runtime_reconcile_errors_total", CONTROLLER, "pod"),
            legend: "{{pod}}",
          },
        ],
      },
      {
        title: "Reconcile outcomes by reason",
        description: "Reconciles per second by the Ready reason they produced.",
        type: "timeseries",
        unit: "ops",
        width: 12,
        stack: true,
        targets: [
          {
            expr: rate("log_destination_policy_reconcile_outcomes_total", SCOPE, "reason"),
            legend: "{{reason}}",
          },
          {
            expr: `sum(rate(log_destination_policy_apply_skipped_total{${SCOPE}}${RATE}))`,
            legend: "unchanged, no AWS call",
          },
        ],
      },
      {
        title: "Drift detected",
        description:
          "Times per second the live policy in AWS was found to differ from the one last applied.",
        type: "timeseries",
        unit: "ops",
        width: 12,
        targets: [
          {
            expr: `sum(rate(log_destination_policy_drift_detected_total{${SCOPE}}${RATE}))`,
            legend: "drift",
          },
        ],
      },
      {
        title: "Reconcile duration",
        description: "Time per reconcile, AWS calls and status writes included.",
        type: "timeseries",
        unit: "s",
        width: 24,
        targets: medianAndP99("controller_runtime_reconcile_time_seconds", CONTROLLER),
      },
    ],
  },
  {
    title: "Work queue",
    panels: [
      {
        title: "Queue depth",
        description: "Objects waiting for a worker.",
        type: "timeseries",
        unit: "short",
        width: 8,
        targets: [{ expr: `sum(workqueue_depth{${QUEUE}})`, legend: "depth" }],
      },
      {
        title: "Queue latency",
        description: "How long an object waits in the queue before a worker takes it.",
        type: "timeseries",
        unit: "s",
        width: 8,
        targets: medianAndP99("workqueue_queue_duration_seconds", QUEUE),
      },
      {
        title: "Queue adds and retries",
        description: "Objects added to the queue per second, and how many of them were retries.",
        type: "timeseries",
        unit: "ops",
        width: 8,
        targets: [
          { expr: `sum(rate(workqueue_adds_total{${QUEUE}}${RATE}))`, legend: "adds" },
          { expr: `sum(rate(workqueue_retries_total{${QUEUE}}${RATE}))`, legend: "retries" },
        ],
      },
      {
        title: "Active workers",
        description: "Workers busy reconciling, per pod, against the maximum.",
        type: "timeseries",
        unit: "short",
        width: 12,
        targets: [
          perPod("sum", `controller_runtime_active_workers{${CONTROLLER}}`),
          {
            expr: `max(controller_runtime_max_concurrent_reconciles{${CONTROLLER}})`,
            legend: "max",
          },
        ],
      },
      {
        title: "Work duration",
        description: "Time a worker spends on one object.",
        type: "timeseries",
        unit: "s",
        width: 12,
        targets: medianAndP99("workqueue_work_duration_seconds", QUEUE),
      },
      {
        title: "Namespaces waiting",
        description:
          "Namespaces with objects in the queue, and the most objects one of them has waiting. Namespaces take turns, so a deep one does not hold up the others.",
        type: "timeseries",
        unit: "short",
        width: 12,
        targets: [
          {
            expr: `max(log_destination_policy_workqueue_namespaces_waiting{${SCOPE}})`,
            legend: "namespaces waiting",
          },
          {
            expr: `max(log_destination_policy_workqueue_max_namespace_depth{${SCOPE}})`,
            legend: "deepest namespace",
          },
        ],
      },
      {
        title: "Namespace turn wait",
        description:
          "How long a namespace with objects waiting waits for its next turn: about one round of the namespaces waiting, however deep any one of them is.",
        type: "timeseries",
        unit: "s",
        width: 12,
        targets: medianAndP99("log_destination_policy_workqueue_namespace_turn_seconds", SCOPE),
      },
    ],
  },
  {
    title: "AWS",
    panels: [
      {
        title: "AWS requests by operation and outcome",
        description:
          "CloudWatch Logs API attempts per second. The outcome is success or the AWS error name.",
        type: "timeseries",
        unit: "reqps",
        width: 12,
        stack: true,
        targets: [
          {
            expr: rate("log_destination_policy_aws_requests_total", SCOPE, "operation, outcome"),
            legend: "{{operation}} {{outcome}}",
          },
        ],
      },
      {
        title: "AWS error ratio",
        description:
          "Share of AWS attempts that failed. The alert fires above 20 % for 15 minutes.",
        type: "timeseries",
        unit: "percentunit",
        width: 12,
        min: 0,
        targets: [
          {
            expr: `sum by (operation) (rate(log_destination_policy_aws_requests_total{${SCOPE}, outcome!="success"}${RATE})) / sum by (operation) (rate(log_destination_policy_aws_requests_total{${SCOPE}}${RATE}))`,
            legend: "{{operation}}",
          },
        ],
      },
      {
        title: "AWS retries by error",
        description: "AWS attempts retried per second, by the error that caused the retry.",
        type: "timeseries",
        unit: "ops",
        width: 12,
        stack: true,
        targets: [
          {
            expr: rate("log_destination_policy_aws_retries_total", SCOPE, "operation, error"),
            legend: "{{operation}} {{error}}",
          },
        ],
      },
      {
        title: "AWS request duration",
        description: "Duration of single AWS attempts, by operation.",
        type: "timeseries",
        unit: "s",
        width: 12,
        targets: [
          {
            expr: quantile(
              0.5,
              "log_destination_policy_aws_request_duration_seconds",
              SCOPE,
              "operation",
            ),
            legend: "p50 {{operation}}",
          },
          {
            expr: quantile(
              0.99,
              "log_destination_policy_aws_request_duration_seconds",
              SCOPE,
              "operation",
            ),
            legend: "p99 {{operation}}",
          },
        ],
      },
      {
        title: "AWS rate-limit wait",
        description:
          "How long AWS calls waited for the client-side rate limit of their account and region (--aws-rate-limit). Only calls that waited are counted.",
        type: "timeseries",
        unit: "s",
        width: 12,
        targets: [
          {
            expr: quantile(0.99, "log_destination_policy_aws_rate_limit_wait_seconds", SCOPE),
            legend: "p99",
          },
          {
            expr: `sum(rate(log_destination_policy_aws_rate_limit_wait_seconds_count{${SCOPE}}${RATE}))`,
            legend: "waits per second",
          },
        ],
      },
      {
        title: "Drift sweeps",
        description:
          "Per account and region: how long a drift sweep takes (p99) and how many DescribeDestinations pages it reads on average. One sweep per interval covers every object; about N ÷ 50 pages.",
        type: "timeseries",
        unit: "short",
        width: 12,
        targets: [
          {
            expr: quantile(
              0.99,
              "log_destination_policy_drift_sweep_duration_seconds",
              SCOPE,
              "account, region",
            ),
            legend: "p99 seconds {{account}} {{region}}",
          },
          {
            expr: `sum by (account, region) (rate(log_destination_policy_drift_sweep_reads_sum{${SCOPE}}${RATE})) / sum by (account, region) (rate(log_destination_policy_drift_sweep_reads_count{${SCOPE}}${RATE}))`,
            legend: "pages per sweep {{account}} {{region}}",
          },
        ],
      },
      {
        title: "Age of the last drift sweep",
        description:
          "Time since the last successful drift sweep of each account and region. Should stay below the drift interval; a growing line means sweeps fail (see the controller's log).",
        type: "timeseries",
        unit: "s",
        width: 12,
        targets: [
          {
            expr: `time() - max by (account, region) (log_destination_policy_drift_sweep_last_success_timestamp_seconds{${SCOPE}})`,
            legend: "{{account}} {{region}}",
          },
        ],
      },
      {
        title: "STS AssumeRole calls by outcome",
        description:
          "AssumeRole calls for objects that set spec.roleArn, by outcome. Empty when no object sets one.",
        type: "timeseries",
        unit: "ops",
        width: 12,
        stack: true,
        targets: [
          {
            expr: rate("log_destination_policy_aws_assume_role_total", SCOPE, "outcome"),
            legend: "{{outcome}}",
          },
        ],
      },
    ],
  },
  {
    title: "Resilience",
    panels: [
      {
        title: "Leader",
        description:
          "1 for the pod that holds the leader-election Lease and reconciles. Empty when leader election is off.",
        type: "timeseries",
        unit: "short",
        width: 12,
        min: 0,
        targets: [perPod("max", `leader_election_master_status{${SCOPE}}`)],
      },
      {
        title: "Watch restarts by reason",
        description:
          "Watches restarted after an error, a 410 Gone (relisted) or a silence the watchdog noticed.",
        type: "timeseries",
        unit: "ops",
        width: 12,
        stack: true,
        targets: [
          {
            expr: rate("log_destination_policy_watch_restarts_total", SCOPE, "reason"),
            legend: "{{reason}}",
          },
        ],
      },
    ],
  },
  {
    title: "Process",
    panels: [
      {
        title: "Memory",
        description: "Resident memory and V8 heap in use, per pod.",
        type: "timeseries",
        unit: "bytes",
        width: 8,
        targets: [
          perPod("sum", `process_resident_memory_bytes{${SCOPE}}`, "resident {{pod}}"),
          perPod("sum", `nodejs_heap_size_used_bytes{${SCOPE}}`, "heap used {{pod}}"),
        ],
      },
      {
        title: "CPU",
        description: "CPU seconds used per second, per pod.",
        type: "timeseries",
        unit: "percentunit",
        width: 8,
        targets: [perPod("sum", `rate(process_cpu_seconds_total{${SCOPE}}${RATE})`)],
      },
      {
        title: "Event-loop lag",
        description:
          "How late the Node.js event loop runs timers. Sustained lag delays watches, probes and reconciles.",
        type: "timeseries",
        unit: "s",
        width: 8,
        targets: [
          perPod("max", `nodejs_eventloop_lag_p99_seconds{${SCOPE}}`, "p99 {{pod}}"),
          perPod("max", `nodejs_eventloop_lag_mean_seconds{${SCOPE}}`, "mean {{pod}}"),
        ],
      },
    ],
  },
  {
    // Read from the API server by kube-state-metrics with the configuration in
    // deploy/kube-state-metrics/, not scraped from the controller: these panels
    // are not scoped by the controller's job and namespace, and show objects
    // even while the controller is down.
    title: "Objects (kube-state-metrics)",
    panels: [
      {
        title: "Objects not Ready, from kube-state-metrics",
        description:
          "Every LogDestinationPolicy whose Ready condition is not True, as the API server holds it: the reason says why (docs/troubleshooting.md). Needs kube-state-metrics with the configuration in deploy/kube-state-metrics/.",
        type: "table",
        unit: "short",
        width: 24,
        targets: [{ expr: `${KSM_INFO}{ready!="True"}`, legend: "" }],
        columns: {
          exported_namespace: "Namespace",
          name: "Name",
          ready: "Ready",
          reason: "Reason",
          destination: "Destination",
          region: "Region",
          mode: "Mode",
          suspended: "Suspended",
        },
      },
    ],
  },
];

function panel(spec: PanelSpec, id: number, x: number, y: number): Panel {
  const defaults: Record<string, unknown> = { unit: spec.unit };
  if (spec.min !== undefined) defaults.min = spec.min;
  if (spec.max !== undefined) defaults.max = spec.max;
  if (spec.thresholds) defaults.thresholds = { mode: "absolute", steps: spec.thresholds };
  if (spec.type === "timeseries") {
    defaults.custom = {
      drawStyle: "line",
      fillOpacity: spec.stack ? 30 : 10,
      lineWidth: 1,
      showPoints: "never",
      stacking: { mode: spec.stack ? "normal" : "none", group: "A" },
    };
  }
  if (spec.type === "table") return tablePanel(spec, id, x, y);
  const options: Record<string, unknown> =
    spec.type === "timeseries"
      ? {
          legend: { displayMode: "list", placement: "bottom", showLegend: true },
          tooltip: { mode: "multi", sort: "desc" },
        }
      : spec.type === "stat"
        ? {
            colorMode: spec.thresholds ? "background" : "value",
            graphMode: "none",
            reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false },
            textMode: "value_and_name",
          }
        : {
            displayMode: "gradient",
            orientation: "horizontal",
            reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false },
            showUnfilled: true,
          };
  return {
    id,
    type: spec.type,
    title: spec.title,
    description: spec.description,
    datasource: DATASOURCE,
    gridPos: { h: spec.height ?? 8, w: spec.width, x, y },
    fieldConfig: { defaults, overrides: [] },
    options,
    targets: spec.targets.map((t, i) => ({
      datasource: DATASOURCE,
      expr: t.expr,
      legendFormat: t.legend,
      refId: String.fromCharCode(65 + i),
      ...(spec.type === "timeseries" ? {} : { instant: true, range: false }),
    })),
  };
}

/** A table of one instant query's series, one row per series and a column per label of `columns`. */
function tablePanel(spec: PanelSpec, id: number, x: number, y: number): Panel {
  const columns = Object.keys(spec.columns ?? {});
  return {
    id,
    type: "table",
    title: spec.title,
    description: spec.description,
    datasource: DATASOURCE,
    gridPos: { h: spec.height ?? 8, w: spec.width, x, y },
    fieldConfig: { defaults: { unit: spec.unit }, overrides: [] },
    options: { showHeader: true, cellHeight: "sm", footer: { show: false } },
    targets: spec.targets.map((t, i) => ({
      datasource: DATASOURCE,
      expr: t.expr,
      format: "table",
      instant: true,
      range: false,
      refId: String.fromCharCode(65 + i),
    })),
    // Only the listed labels: kube-state-metrics and the scrape add many more.
    transformations: [
      {
        id: "filterFieldsByName",
        options: { include: { names: columns } },
      },
      {
        id: "organize",
        options: {
          indexByName: Object.fromEntries(columns.map((c, i) => [c, i])),
          renameByName: spec.columns ?? {},
        },
      },
    ],
  };
}

function layout(): Panel[] {
  const panels: Panel[] = [];
  let id = 1;
  let y = 0;
  for (const row of rows) {
    panels.push({
      id: id++,
      type: "row",
      title: row.title,
      collapsed: false,
      gridPos: { h: 1, w: 24, x: 0, y },
      panels: [],
    });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const spec of row.panels) {
      if (x + spec.width > 24) {
        x = 0;
        y += rowHeight;
        rowHeight = 0;
      }
      panels.push(panel(spec, id++, x, y));
      x += spec.width;
      rowHeight = Math.max(rowHeight, spec.height ?? 8);
    }
    y += rowHeight;
  }
  return panels;
}

const PRESENCE = `controller_runtime_max_concurrent_reconciles{controller="${CONTROLLER_NAME}"}`;

export function buildDashboard(): Record<string, unknown> {
  return {
    title: "Log destination policy controller",
    uid: "log-destination-policy-controller",
    description:
      "Reconciles, work queue, AWS calls and process health of log-destination-policy-controller.",
    tags: ["log-destination-policy-controller", "kubernetes", "aws"],
    editable: true,
    graphTooltip: 1,
    refresh: "30s",
    schemaVersion: 39,
    time: { from: "now-6h", to: "now" },
    timezone: "",
    version: 1,
    links: [
      {
        title: "Runbooks",
        type: "link",
        url: "https://github.com/gitops-dev/log-destination-policy-controller/blob/main/docs/runbooks.md",
        targetBlank: true,
        icon: "doc",
      },
    ],
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: "grafana", uid: "-- Grafana --" },
          enable: true,
          hide: true,
          iconColor: "rgba(0, 211, 255, 1)",
          name: "Annotations & Alerts",
          type: "dashboard",
        },
      ],
    },
    templating: {
      list: [
        {
          name: "datasource",
          label: "Data source",
          type: "datasource",
          query: "prometheus",
          current: {},
          hide: 0,
          refresh: 1,
          regex: "",
        },
        {
          name: "job",
          label: "Job",
          type: "query",
          datasource: DATASOURCE,
          query: { query: `label_values(${PRESENCE}, job)`, refId: "job" },
          definition: `label_values(${PRESENCE}, job)`,
          current: {},
          hide: 0,
          includeAll: false,
          multi: false,
          refresh: 2,
          sort: 1,
          regex: "",
        },
        {
          name: "namespace",
          label: "Namespace",
          type: "query",
          datasource: DATASOURCE,
          query: {
            query: `label_values(${PRESENCE.replace("}", ', job=~"$job"}')}, namespace)`,
            refId: "namespace",
          },
          definition: `label_values(${PRESENCE.replace("}", ', job=~"$job"}')}, namespace)`,
          current: {},
          hide: 0,
          includeAll: true,
          allValue: ".*",
          multi: true,
          refresh: 2,
          sort: 1,
          regex: "",
        },
      ],
    },
    panels: layout(),
  };
}
