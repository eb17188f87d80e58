// The alert rules with the real promtool (Debian's prometheus package), their
// runbooks, and the dashboard's structure. Both are checked against the metrics
// the controller registers; test/integration/monitoring.test.ts then evaluates
// every expression in a real Prometheus that scrapes the running controller.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { before, describe, test } from "node:test";
import { parse } from "yaml";
import { OUTCOMES } from "../../src/controller/outcomes.ts";
import { MAX_POLICY_BYTES } from "../../src/util/limits.ts";
import { ControllerMetrics } from "../../src/metrics/metrics.ts";
import { ResilienceMetrics } from "../../src/metrics/resilience.ts";
import { READY_REASONS } from "../../scripts/dashboard.ts";
import {
  alertRules,
  alertsFile,
  alertTestsFile,
  chartDir,
  dashboardExpressions,
  dashboardFile,
  exposedMetrics,
  isExposed,
  kubeStateMetricsNames,
  metricNames,
  monitoringTools,
  readText,
  root,
  run,
  runbooksFile,
  type AlertRule,
} from "../support/chart.ts";

const ALERTS = [
  "LogDestinationPolicyControllerAbsent",
  "LogDestinationPolicyNotReady",
  "LogDestinationPolicyAWSErrorRatioHigh",
  "LogDestinationPolicyReconcileErrors",
  "LogDestinationPolicyWorkQueueBacklog",
  "LogDestinationPolicyDriftDetected",
  "LogDestinationPolicyNoLeader",
  "LogDestinationPolicyRateLimitWait",
  "LogDestinationPolicyRevokeAbandoned",
  "LogDestinationPolicyNotPermitted",
  "LogDestinationPolicySharedNearlyFull",
  "LogDestinationGrantWaiting",
];

let promtool: string;
let rules: AlertRule[];
let families: Map<string, string>;

before(async () => {
  promtool = (await monitoringTools()).promtool;
  rules = alertRules(
    (parse(await readText(alertsFile)) as { groups: { rules: AlertRule[] }[] }).groups,
  );
  const metrics = new ControllerMetrics();
  new ResilienceMetrics(metrics.registry);
  families = exposedMetrics(await metrics.registry.metrics());
});

describe("the alert rules", () => {
  test("cover absence, objects not Ready, AWS error ratio, reconcile errors, queue backlog, drift, no leader, rate-limit waits, abandoned revokes, refusals, nearly full shared destinations and waiting grants", () => {
    assert.deepEqual(
      rules.map((r) => r.alert),
      ALERTS,
    );
  });

  test("promtool check rules accepts the rules file", async () => {
    const { stdout } = await run(promtool, ["check", "rules", alertsFile]);
    assert.match(stdout, new RegExp(`SUCCESS: ${ALERTS.length} rules found`));
  });

  test("promtool test rules passes a unit test of every alert, firing and not firing", async () => {
    const { stdout } = await run(promtool, ["test", "rules", alertTestsFile], {
      cwd: dirname(alertTestsFile),
    });
    assert.match(stdout, /SUCCESS/);
    const tests = parse(await readText(alertTestsFile)) as {
      tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
    };
    const cases = tests.tests.flatMap((t) => t.alert_rule_test);
    for (const alert of ALERTS) {
      const own = cases.filter((c) => c.alertname === alert);
      assert.ok(
        own.some((c) => c.exp_alerts.length > 0),
        `${alert} has a firing case`,
      );
      assert.ok(
        own.some((c) => c.exp_alerts.length === 0),
        `${alert} has a quiet case`,
      );
    }
  });

  test("each alert has a severity, a summary, a description and a runbook section in docs/runbooks.md", async () => {
    const runbooks = await readText(runbooksFile);
    const headings = new Set([...runbooks.matchAll(/^## (\S+)$/gm)].map((m) => m[1]));
    for (const rule of rules) {
      assert.match(rule.labels?.severity ?? "", /^(critical|warning)$/, rule.alert);
      assert.ok(rule.annotations?.summary, `${rule.alert} summary`);
      assert.ok(rule.annotations.description, `${rule.alert} description`);
      assert.equal(
        rule.annotations.runbook_url,
        `https://github.com/gitops-dev/log-destination-policy-controller/blob/main/docs/runbooks.md#${rule.alert.toLowerCase()}`,
      );
      assert.ok(headings.has(rule.alert), `docs/runbooks.md has "## ${rule.alert}"`);
    }
  });

  test("the dashboard counts as Ready exactly the reasons of Ready=True, and the not-Ready alert also spares Suspended", () => {
    const ready = Object.entries(OUTCOMES)
      .filter(([, rule]) => rule.ready === "True")
      .map(([reason]) => reason)
      .sort();
    const suspended = Object.entries(OUTCOMES)
      .filter(([, rule]) => rule.argocd === "Suspended")
      .map(([reason]) => reason);
    const rule = rules.find((r) => r.alert === "LogDestinationPolicyNotReady");
    const excluded = /reason!~"([^"]+)"/.exec(rule?.expr ?? "")?.[1];
    assert.deepEqual(excluded?.split("|").sort(), [...ready, ...suspended].sort());
    assert.deepEqual(READY_REASONS.split("|").sort(), ready);
  });

  test("the shared-destination alerts use the controller's size limit and name only reasons of the outcome table", () => {
    const full = rules.find((r) => r.alert === "LogDestinationPolicySharedNearlyFull");
    assert.match(full?.expr ?? "", new RegExp(`> 0\\.9 \\* ${String(MAX_POLICY_BYTES)}\\s*$`));
    const waiting = rules.find((r) => r.alert === "LogDestinationGrantWaiting");
    const reasons = /reason=~"([^"]+)"/.exec(waiting?.expr ?? "")?.[1]?.split("|") ?? [];
    assert.deepEqual(reasons.sort(), ["ForceUpdateRequired", "PolicySizeExceeded"]);
    for (const reason of reasons) assert.ok(reason in OUTCOMES, reason);
  });

  test("every metric the alerts name is one the controller registers", () => {
    for (const rule of rules) {
      for (const name of metricNames(rule.expr)) {
        assert.ok(isExposed(name, families), `${rule.alert}: ${name}`);
      }
    }
  });

  test("the chart's copy is the rules file", async () => {
    const copy = await readFile(join(chartDir, "files", "alerts.yaml"), "utf8");
    assert.equal(
      copy.replace(/^# Copied from .*\n/, ""),
      await readText(alertsFile),
      "run npm run generate",
    );
  });
});

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string; datasource: { uid: string } }[];
}

describe("the Grafana dashboard", () => {
  let dashboard: { panels: Panel[]; templating: { list: { name: string; type: string }[] } };

  before(async () => {
    dashboard = JSON.parse(await readText(dashboardFile)) as typeof dashboard;
  });

  test("has the datasource, job and namespace variables", () => {
    assert.deepEqual(
      dashboard.templating.list.map((v) => [v.name, v.type]),
      [
        ["datasource", "datasource"],
        ["job", "query"],
        ["namespace", "query"],
      ],
    );
  });

  test("has a panel for each view the runbooks refer to", () => {
    const titles = dashboard.panels.map((p) => p.title);
    for (const title of [
      "Reconcile rate by result",
      "Reconcile errors",
      "Queue depth",
      "Queue latency",
      "Active workers",
      "AWS requests by operation and outcome",
      "AWS error ratio",
      "AWS retries by error",
      "Objects by Ready reason",
      "Age of the last successful apply",
      "Memory",
      "CPU",
      "Event-loop lag",
      "Leader",
      "Watch restarts by reason",
      "Bytes used per shared destination",
      "Grants by state",
    ]) {
      assert.ok(titles.includes(title), title);
    }
  });

  test("every query uses the datasource variable and is scoped by job and namespace, unless it reads kube-state-metrics", async () => {
    const ksm = await kubeStateMetricsNames();
    const ids = new Set<number>();
    for (const panel of dashboard.panels) {
      assert.ok(!ids.has(panel.id), `panel id ${panel.id} is unique`);
      ids.add(panel.id);
      assert.ok(panel.gridPos.x + panel.gridPos.w <= 24, `${panel.title} fits the grid`);
      if (panel.type === "row") continue;
      assert.equal(panel.datasource?.uid, "${datasource}", panel.title);
      assert.ok(panel.targets && panel.targets.length > 0, panel.title);
      for (const target of panel.targets) {
        assert.equal(target.datasource.uid, "${datasource}");
        // kube-state-metrics is another job, and its series are about the objects' namespaces.
        if (metricNames(target.expr).every((name) => ksm.has(name))) continue;
        assert.match(target.expr, /job=~"\$job", namespace=~"\$namespace"/, panel.title);
      }
    }
    assert.ok((await dashboardExpressions()).length > 30);
  });

  test("every metric the dashboard names is one the controller registers or the kube-state-metrics configuration defines", async () => {
    const ksm = await kubeStateMetricsNames();
    let fromKsm = 0;
    for (const { where, expr } of await dashboardExpressions()) {
      const names = metricNames(expr);
      assert.ok(names.length > 0, `${where} names a metric`);
      for (const name of names) {
        if (ksm.has(name)) fromKsm++;
        else assert.ok(isExposed(name, families), `${where}: ${name}`);
      }
    }
    assert.ok(fromKsm > 0, "a panel reads the objects' Ready status from kube-state-metrics");
  });

  test("the docs link the dashboard and the runbooks", async () => {
    const monitoring = await readFile(join(root, "docs", "monitoring.md"), "utf8");
    assert.match(
      monitoring,
      /charts\/log-destination-policy-controller\/dashboards\/log-destination-policy-controller\.json/,
    );
    assert.match(monitoring, /runbooks\.md/);
  });
});

test("metricNames finds the selected metrics and nothing else", () => {
  assert.deepEqual(
    metricNames(
      'sum by (reason, le) (rate(a_total{job=~"$job", x="y z"}[5m])) / on (job) group_left(pod) b > 0 and time() - max(c_seconds offset 5m) unless absent(d{controller="e"})',
    ),
    ["a_total", "b", "c_seconds", "d"],
  );
  assert.deepEqual(metricNames("histogram_quantile(0.99, sum(rate(h_bucket[1m])) by (le))"), [
    "h_bucket",
  ]);
});
