// A real Prometheus scrapes the running controller while it reconciles objects
// that succeed, are retried, fail and are invalid. It then evaluates every
// expression of the Grafana dashboard and of the alert rules: each must parse,
// and every metric it names must be one the controller's /metrics declares.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { parse } from "yaml";
import { startController, type RunningController } from "../support/controller.ts";
import { getTestEnv, newNamespace, type TestEnv } from "../support/env.ts";
import {
  alertRules,
  alertsFile,
  dashboardExpressions,
  deletePolicies,
  exposedMetrics,
  isExposed,
  kubeStateMetricsNames,
  metricNames,
  readText,
  withGrafanaVariables,
  type AlertRule,
} from "../support/chart.ts";
import { startPrometheus, type RunningPrometheus } from "../support/prometheus.ts";
import { createDestination } from "../support/aws.ts";
import { installCrd, Policies, samplePolicy, waitFor } from "../support/policies.ts";
import type { LogDestinationGrant } from "../../src/api/grant.ts";
import { GRANT_KIND, GRANT_PLURAL, GROUP, VERSION } from "../../src/api/names.ts";

const JOB = "log-destination-policy-controller";
const NAMESPACE_LABEL = "ldpc-system";
/** Series Prometheus makes itself for every target rather than scraping them. */
const SYNTHETIC = new Set(["up"]);
/**
 * Metrics the scenario gives no sample, and why. Their names are still checked
 * against the controller's # TYPE lines; the panels show "No data" until then.
 */
const NO_SAMPLES_IN_SCENARIO = new Map([
  ["log_destination_policy_aws_assume_role_total", "no object sets spec.roleArn"],
]);

describe("the dashboard and alert expressions in a real Prometheus", () => {
  let env: TestEnv;
  let controller: RunningController;
  let prometheus: RunningPrometheus;
  let families: Map<string, string>;
  let rules: AlertRule[];
  let namespace: string;
  /** Served by kube-state-metrics from the API server, which this scenario does not run. */
  let ksm: Set<string>;

  before(async () => {
    ksm = await kubeStateMetricsNames();
    env = await getTestEnv();
    await installCrd(env);
    namespace = await newNamespace(env.kubeConfig, "monitoring");
    const policies = new Policies(env.kubeConfig, namespace);
    // Leader election and a tight AWS rate limit give their series samples too.
    // Only this namespace: objects other test files left behind would take
    // tokens of the 1/s AWS rate limit that the objects below need.
    controller = await startController(env, {
      args: [
        "--watch-namespace",
        namespace,
        "--aws-max-attempts",
        "3",
        "--aws-max-retry-time",
        "3s",
        "--aws-rate-limit",
        "1",
        "--leader-elect",
        "--leader-election-namespace",
        namespace,
        "--leader-election-id",
        `monitoring-${process.pid}`,
        // Drift sweeps every 2 s, so that their panels have data within the window.
        "--drift-detection-interval",
        "2s",
        "--min-drift-detection-interval",
        "1s",
      ],
    });
    prometheus = await startPrometheus({
      targets: [
        {
          job: JOB,
          address: new URL(controller.metricsUrl).host,
          labels: { namespace: NAMESPACE_LABEL, pod: "log-destination-policy-controller-0" },
        },
      ],
      ruleFiles: [alertsFile],
    });
    rules = alertRules(
      (parse(await readText(alertsFile)) as { groups: { rules: AlertRule[] }[] }).groups,
    );

    // Work that gives most series samples: an apply after two retried attempts,
    // a destination that does not exist (reconcile errors), an invalid spec.
    const tag = `${process.pid}`;
    const applied = `mon-applied-${tag}`;
    await createDestination(env, applied);
    await env.proxy.inject({
      operation: "PutDestinationPolicy",
      fault: { kind: "error", name: "OperationAbortedException" },
      count: 2,
      destination: applied,
    });
    await policies.create(applied, {
      destinationName: applied,
      accessPolicy: samplePolicy(applied),
    });
    await policies.create(`mon-missing-${tag}`, {
      destinationName: `mon-missing-${tag}`,
      accessPolicy: samplePolicy(`mon-missing-${tag}`),
    });
    await policies.create(`mon-invalid-${tag}`, {
      destinationName: `mon-invalid-${tag}`,
      accessPolicyJson: "{",
    });
    // A shared destination with one grant: bytes used per destination, grants by state.
    const shared = `mon-shared-${tag}`;
    await createDestination(env, shared);
    await policies.create(shared, {
      destinationName: shared,
      grants: { from: { namespaceSelector: {} } },
    });
    const grants = { group: GROUP, version: VERSION, plural: GRANT_PLURAL, namespace };
    await policies.api.createNamespacedCustomObject({
      ...grants,
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: GRANT_KIND,
        metadata: { name: shared },
        spec: { policyRef: { name: shared }, principals: { accounts: ["444455556666"] } },
      },
    });
    await waitFor(
      "the grant is Applied",
      async () => {
        const grant = (await policies.api.getNamespacedCustomObject({
          ...grants,
          name: shared,
        })) as LogDestinationGrant;
        return (grant.status?.conditions ?? []).some(
          (c) => c.type === "Ready" && c.reason === "Applied",
        );
      },
      15_000,
    );
    await policies.waitForReason(applied, "Applied", 15_000);
    await policies.waitForReason(`mon-missing-${tag}`, "DestinationNotFound", 15_000);
    await policies.waitForReason(`mon-invalid-${tag}`, "InvalidSpec", 15_000);

    await waitFor(
      "two drift sweeps",
      async () => (await controller.metric("log_destination_policy_drift_sweeps_total")) >= 2,
      30_000,
    );
    families = exposedMetrics(await controller.metrics());
    // Enough scrapes after the work for rate() over the window to see it.
    await waitFor(
      "ten scrapes of the controller",
      async () => {
        const r = await prometheus.query(`count_over_time(up{job="${JOB}"}[1m]) >= 10`);
        return (r.data?.result.length ?? 0) > 0;
      },
      30_000,
    );
  });

  after(async () => {
    await env.proxy.clearFaults();
    await prometheus.stop();
    assert.equal(await controller.stop(), 0);
    await deletePolicies(env, [namespace]);
  });

  const concrete = (expr: string) =>
    withGrafanaVariables(expr, { job: JOB, namespace: NAMESPACE_LABEL, rateInterval: "1m" });

  test("Prometheus scrapes the controller", async () => {
    const up = await prometheus.query(`up{job="${JOB}"}`);
    assert.equal(up.data?.result[0]?.value?.[1], "1");
  });

  test("every dashboard expression parses, names only exposed metrics and returns data", async (t) => {
    const empty: string[] = [];
    for (const { where, expr } of await dashboardExpressions()) {
      const query = concrete(expr);
      const result = await prometheus.query(query);
      assert.equal(result.status, "success", `${where}: ${query}: ${result.error ?? ""}`);
      for (const name of metricNames(query)) {
        assert.ok(
          isExposed(name, families) || SYNTHETIC.has(name) || ksm.has(name),
          `${where}: ${name} is not exposed`,
        );
      }
      const expected = metricNames(query).some((n) => NO_SAMPLES_IN_SCENARIO.has(n) || ksm.has(n));
      if ((result.data?.result.length ?? 0) === 0 && !expected) empty.push(`${where}: ${query}`);
    }
    t.diagnostic(
      `without data by design: ${[...NO_SAMPLES_IN_SCENARIO].map(([m, why]) => `${m} (${why})`).join(", ")}, ${[...ksm].join(", ")} (kube-state-metrics)`,
    );
    assert.deepEqual(empty, [], "every other panel shows data after the scenario");
  });

  test("the job and namespace variables find the scraped controller", async () => {
    const expressions = await dashboardExpressions();
    for (const [variable, label, value] of [
      ["job", "job", JOB],
      ["namespace", "namespace", NAMESPACE_LABEL],
    ] as const) {
      const selector = expressions.find((e) => e.where === `variable $${variable}`);
      assert.ok(selector, variable);
      const result = await prometheus.query(concrete(selector.expr));
      assert.ok(
        result.data?.result.some((r) => r.metric[label] === value),
        `${variable} finds ${value}`,
      );
    }
  });

  test("every alert expression parses and names only exposed metrics", async () => {
    for (const rule of rules) {
      const result = await prometheus.query(rule.expr);
      assert.equal(result.status, "success", `${rule.alert}: ${result.error ?? ""}`);
      for (const name of metricNames(rule.expr)) {
        assert.ok(isExposed(name, families), `${rule.alert}: ${name} is not exposed`);
      }
    }
  });

  test("Prometheus loads the rules file and evaluates every alert without error", async () => {
    await waitFor(
      "every rule evaluated",
      async () => (await prometheus.rules()).every((r) => !r.lastEvaluation.startsWith("0001-")),
      15_000,
    );
    const loaded = await prometheus.rules();
    assert.deepEqual(
      loaded.map((r) => r.name),
      rules.map((r) => r.alert),
    );
    for (const rule of loaded) {
      assert.equal(rule.health, "ok", `${rule.name}: ${rule.lastError ?? ""}`);
    }
  });

  test("the metric families the expressions rely on have samples in Prometheus", async (t) => {
    const names = new Set<string>();
    for (const { expr } of await dashboardExpressions())
      for (const n of metricNames(concrete(expr))) if (!ksm.has(n)) names.add(n);
    for (const rule of rules) for (const n of metricNames(rule.expr)) names.add(n);
    const missing: string[] = [];
    for (const name of [...names].sort()) {
      const result = await prometheus.query(`count({__name__="${name}", job="${JOB}"})`);
      if ((result.data?.result.length ?? 0) === 0 && !NO_SAMPLES_IN_SCENARIO.has(name)) {
        missing.push(name);
      }
    }
    t.diagnostic(`${names.size} metric names, without samples: ${missing.join(", ") || "none"}`);
    assert.deepEqual(missing, []);
  });
});
