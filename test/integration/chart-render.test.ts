// The Helm chart, rendered by the real helm for every value combination: lint,
// what each combination renders, the CRD and alert copies, the RBAC rules and the
// flags passed to the controller. Applying the rendered objects to a real API
// server is test/integration/chart.test.ts.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { parse } from "yaml";
import { BINDING_CRD_NAME, CRD_NAME, GRANT_CRD_NAME } from "../../src/api/names.ts";
import { FLAGS } from "../../src/cli/config.ts";
import { resolveBinaries } from "../../env/binaries.ts";
import { chartNodeOptions, describeValues } from "../../scripts/chart.ts";
import { KSM_CONFIG, KSM_CONFIG_KEY } from "../../scripts/kube-state-metrics.ts";
import {
  alertsFile,
  chartDir,
  combinations,
  dashboardFile,
  helmLint,
  renderChart,
  renderChartText,
  root,
  run,
  leaseRules,
  METRICS_AUTH_RULES,
  METRICS_READER_RULES,
  POLICY_RULES,
  TENANCY_RULES,
  NAMESPACE_RULES,
  type AlertRule,
  type K8sObject,
  type PolicyRule,
} from "../support/chart.ts";

const WATCHED = ["team-a", "team-b"];
const COMBINATIONS = combinations(WATCHED);
const RELEASE = "ldpc";
const NAMESPACE = "ldpc-system";
const FULLNAME = "ldpc-log-destination-policy-controller";

let helm: string;
let kubeVersion: string;
const rendered = new Map<string, K8sObject[]>();

before(async () => {
  const binaries = await resolveBinaries();
  helm = binaries.helm;
  kubeVersion = binaries.kubernetesVersion;
  for (const [name, values] of Object.entries(COMBINATIONS)) {
    rendered.set(
      name,
      await renderChart(helm, values, { release: RELEASE, namespace: NAMESPACE, kubeVersion }),
    );
  }
});

function objects(combination: string): K8sObject[] {
  const found = rendered.get(combination);
  assert.ok(found, combination);
  return found;
}

function only(combination: string, kind: string, name?: string): K8sObject {
  const matches = objects(combination).filter(
    (o) => o.kind === kind && (name === undefined || o.metadata.name === name),
  );
  assert.equal(matches.length, 1, `${combination}: one ${kind} ${name ?? ""}`);
  const [found] = matches;
  assert.ok(found);
  return found;
}

function kinds(combination: string): string[] {
  return objects(combination)
    .map((o) => `${o.kind}${o.metadata.namespace ? ` ${o.metadata.namespace}` : ""}`)
    .sort();
}

interface Container {
  args: string[];
  image: string;
  env?: { name: string; value: string }[];
  securityContext: Record<string, unknown>;
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  ports: { name: string; containerPort: number }[];
  resources: Record<string, unknown>;
  volumeMounts?: unknown[];
}

interface PodSpec {
  serviceAccountName: string;
  securityContext: Record<string, unknown>;
  containers: Container[];
  topologySpreadConstraints?: Record<string, unknown>[];
  [key: string]: unknown;
}

function podSpec(combination: string): PodSpec {
  const deployment = only(combination, "Deployment") as unknown as {
    spec: { template: { spec: PodSpec } };
  };
  return deployment.spec.template.spec;
}

function container(combination: string): Container {
  const [first] = podSpec(combination).containers;
  assert.ok(first);
  return first;
}

interface MonitorEndpoint {
  port: string;
  path: string;
  scheme?: string;
  bearerTokenFile?: string;
  authorization?: unknown;
  tlsConfig?: unknown;
}

interface NetworkPolicy {
  spec: { ingress: { ports: unknown[]; from?: unknown[] }[] };
}

function monitorEndpoint(combination: string): MonitorEndpoint {
  const monitor = only(combination, "ServiceMonitor") as unknown as {
    spec: { endpoints: MonitorEndpoint[] };
  };
  const [endpoint] = monitor.spec.endpoints;
  assert.ok(endpoint);
  return endpoint;
}

function rulesOf(obj: K8sObject): PolicyRule[] {
  return (obj as unknown as { rules: PolicyRule[] }).rules;
}

describe("the Helm chart", () => {
  for (const [name, values] of Object.entries(COMBINATIONS)) {
    test(`helm lint --strict passes with ${name}`, async () => {
      const { stdout } = await helmLint(helm, values);
      assert.match(stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      assert.doesNotMatch(stdout, /\[(WARNING|ERROR)\]/);
    });
  }

  test("the default values render the CRDs, the ServiceAccount, the ClusterRoles, their bindings, the Deployment and the admission policies only", () => {
    assert.deepEqual(kinds("default values"), [
      "ClusterRole",
      "ClusterRole",
      "ClusterRole",
      "ClusterRole",
      "ClusterRole",
      "ClusterRoleBinding",
      "ClusterRoleBinding",
      "ClusterRoleBinding",
      "ClusterRoleBinding",
      "CustomResourceDefinition",
      "CustomResourceDefinition",
      "CustomResourceDefinition",
      `Deployment ${NAMESPACE}`,
      `ServiceAccount ${NAMESPACE}`,
      "ValidatingAdmissionPolicy",
      "ValidatingAdmissionPolicy",
      "ValidatingAdmissionPolicy",
      "ValidatingAdmissionPolicyBinding",
      "ValidatingAdmissionPolicyBinding",
      "ValidatingAdmissionPolicyBinding",
    ]);
  });

  test("the Deployment runs the appVersion image, hardened, with probes on /healthz and /readyz", async () => {
    const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as {
      version: string;
    };
    const chart = parse(await readFile(join(chartDir, "Chart.yaml"), "utf8")) as {
      version: string;
      appVersion: string;
    };
    assert.equal(chart.appVersion, pkg.version, "appVersion follows package.json");
    assert.equal(chart.version, pkg.version, "the chart version follows package.json");

    const c = container("default values");
    assert.equal(c.image, `ghcr.io/gitops-dev/log-destination-policy-controller:${pkg.version}`);
    assert.deepEqual(c.args, [
      "--metrics-bind-address=:8080",
      "--metrics-secure",
      "--health-probe-bind-address=:8081",
      "--log-level=info",
      "--max-concurrent-reconciles=32",
      "--shutdown-grace-period=25s",
      "--aws-max-attempts=5",
      "--aws-max-retry-time=30s",
      "--aws-rate-limit=5",
      "--drift-detection-interval=10m",
      "--min-drift-detection-interval=1m",
      "--revoke-timeout=0",
      "--role-session-tags=true",
      "--require-binding=true",
    ]);
    assert.deepEqual(
      c.ports.map((p) => [p.name, p.containerPort]),
      [
        ["metrics", 8080],
        ["health", 8081],
      ],
    );
    assert.deepEqual(c.livenessProbe.httpGet, { path: "/healthz", port: "health" });
    assert.deepEqual(c.readinessProbe.httpGet, { path: "/readyz", port: "health" });
    assert.deepEqual(c.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    const pod = podSpec("default values");
    assert.deepEqual(pod.securityContext, {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
    assert.equal(pod.serviceAccountName, FULLNAME);
    assert.ok(c.resources.requests && c.resources.limits, "requests and limits are set");
  });

  test("namespaced RBAC renders a Role and RoleBinding per watched namespace, only the namespaces and tenancy ClusterRoles, and --watch-namespace", () => {
    assert.deepEqual(
      kinds("namespaced RBAC"),
      [
        "ClusterRole",
        "ClusterRole",
        "ClusterRole",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterRoleBinding",
        "ClusterRoleBinding",
        `Deployment ${NAMESPACE}`,
        "CustomResourceDefinition",
        "CustomResourceDefinition",
        "CustomResourceDefinition",
        "Role team-a",
        "Role team-b",
        "RoleBinding team-a",
        "RoleBinding team-b",
        `ServiceAccount ${NAMESPACE}`,
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingAdmissionPolicyBinding",
      ].sort(),
    );
    assert.ok(container("namespaced RBAC").args.includes("--watch-namespace=team-a,team-b"));
    for (const binding of objects("namespaced RBAC").filter((o) => o.kind === "RoleBinding")) {
      assert.deepEqual((binding as unknown as { subjects: unknown }).subjects, [
        { kind: "ServiceAccount", name: FULLNAME, namespace: NAMESPACE },
      ]);
    }
  });

  test("RBAC grants exactly the verbs the controller uses, with no wildcard and nothing on Secrets", () => {
    for (const [name, values] of Object.entries(COMBINATIONS)) {
      for (const role of objects(name).filter(
        (o) => o.kind === "ClusterRole" || o.kind === "Role",
      )) {
        const rules = rulesOf(role);
        const text = JSON.stringify(rules);
        assert.doesNotMatch(text, /"\*"/, `${name}: ${role.kind} has a wildcard`);
        assert.doesNotMatch(text, /secrets/, `${name}: ${role.kind} mentions Secrets`);
        const id = /^--leader-election-id=(.*)$/
          .exec(container(name).args.find((a) => a.startsWith("--leader-election-id=")) ?? "")
          ?.at(1);
        const suffix = /-(leader-election|tenancy|namespaces|metrics-auth|metrics-reader)$/.exec(
          role.metadata.name,
        )?.[1];
        const expected =
          suffix === "leader-election"
            ? leaseRules(id ?? "")
            : suffix === "tenancy"
              ? TENANCY_RULES
              : suffix === "namespaces"
                ? NAMESPACE_RULES
                : suffix === "metrics-auth"
                  ? METRICS_AUTH_RULES
                  : suffix === "metrics-reader"
                    ? METRICS_READER_RULES
                    : POLICY_RULES;
        assert.deepEqual(rules, expected, `${name}: ${role.kind} ${role.metadata.name}`);
      }
      const leaseRole = objects(name).find((o) => o.metadata.name.endsWith("-leader-election"));
      const electing = container(name).args.includes("--leader-elect");
      assert.equal(
        Boolean(leaseRole),
        electing,
        `${name}: a Lease Role exactly with leader election`,
      );
      const metricsRoles = objects(name)
        .filter((o) => /-metrics-(auth|reader)$/.test(o.metadata.name) && o.kind === "ClusterRole")
        .map((o) => o.metadata.name.replace(`${FULLNAME}-`, ""));
      assert.deepEqual(
        metricsRoles,
        container(name).args.includes("--metrics-secure") ? ["metrics-auth", "metrics-reader"] : [],
        `${name}: the metrics ClusterRoles exactly with --metrics-secure`,
      );
      const tenancyRole = objects(name).find((o) => o.metadata.name.endsWith("-tenancy"));
      assert.equal(
        Boolean(tenancyRole),
        container(name).args.includes("--require-binding=true"),
        `${name}: a tenancy ClusterRole exactly with --require-binding`,
      );
      // Namespace labels are read with or without bindings: spec.grants.from selects them.
      assert.ok(
        objects(name).some(
          (o) => o.kind === "ClusterRole" && o.metadata.name.endsWith("-namespaces"),
        ),
        `${name}: a namespaces ClusterRole always`,
      );
      if (values.watchNamespaces === undefined && name !== "namespaced RBAC") {
        assert.ok(
          objects(name).some((o) => o.kind === "ClusterRole"),
          `${name}: ClusterRole`,
        );
      }
    }
  });

  test("ServiceMonitor and PrometheusRule on render both, and the metrics Service the monitor selects", async () => {
    const combination = "ServiceMonitor and PrometheusRule on";
    const service = only(combination, "Service") as unknown as {
      metadata: { labels: Record<string, string> };
      spec: { ports: { name: string; port: number; targetPort: string }[] };
    };
    const monitor = only(combination, "ServiceMonitor") as unknown as {
      metadata: { labels: Record<string, string> };
      spec: {
        jobLabel: string;
        selector: { matchLabels: Record<string, string> };
        endpoints: { port: string; path: string }[];
      };
    };
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels)) {
      assert.equal(service.metadata.labels[k], v, `the Service has ${k}=${v}`);
    }
    assert.equal(monitor.metadata.labels.release, "kube-prometheus-stack");
    assert.equal(
      service.metadata.labels[monitor.spec.jobLabel],
      "log-destination-policy-controller",
    );
    assert.deepEqual(
      monitor.spec.endpoints.map((e) => [e.port, e.path]),
      [["metrics", "/metrics"]],
    );
    assert.deepEqual(service.spec.ports, [
      { name: "metrics", port: 8080, targetPort: "metrics", protocol: "TCP" },
    ]);

    const rule = only(combination, "PrometheusRule") as unknown as {
      spec: { groups: { name: string; rules: AlertRule[] }[] };
    };
    const source = parse(await readFile(alertsFile, "utf8")) as {
      groups: { name: string; rules: AlertRule[] }[];
    };
    const expected = source.groups.map((g) => ({
      ...g,
      rules: g.rules.map((r) => ({ ...r, labels: { ...r.labels, team: "platform" } })),
    }));
    assert.deepEqual(rule.spec.groups, expected, "the PrometheusRule carries alerts.yaml");
  });

  test("by default the ServiceMonitor scrapes over HTTPS with Prometheus's ServiceAccount token and skips verifying the self-signed certificate", () => {
    const endpoint = monitorEndpoint("ServiceMonitor and PrometheusRule on");
    assert.equal(endpoint.scheme, "https");
    assert.equal(endpoint.bearerTokenFile, "/var/run/secrets/kubernetes.io/serviceaccount/token");
    assert.equal(endpoint.authorization, undefined);
    assert.deepEqual(endpoint.tlsConfig, { insecureSkipVerify: true });
    const c = container("ServiceMonitor and PrometheusRule on");
    assert.ok(c.args.includes("--metrics-secure"));
    assert.ok(!c.args.some((a) => a.startsWith("--metrics-cert-dir")));
    assert.equal(podSpec("ServiceMonitor and PrometheusRule on").volumes, undefined);
  });

  test("a certificate Secret is mounted read-only as --metrics-cert-dir, and the ServiceMonitor verifies the Service's name against its ca.crt", () => {
    const name = "metrics served from a certificate Secret, read by named subjects";
    const c = container(name);
    const dir = "/tmp/k8s-metrics-server/metrics-certs";
    assert.ok(c.args.includes("--metrics-secure"));
    assert.ok(c.args.includes(`--metrics-cert-dir=${dir}`));
    assert.deepEqual(c.volumeMounts, [{ name: "metrics-certs", mountPath: dir, readOnly: true }]);
    assert.deepEqual(podSpec(name).volumes, [
      { name: "metrics-certs", secret: { secretName: "ldpc-metrics-cert" } },
    ]);
    const endpoint = monitorEndpoint(name);
    assert.equal(endpoint.scheme, "https");
    assert.deepEqual(endpoint.tlsConfig, {
      ca: { secret: { name: "ldpc-metrics-cert", key: "ca.crt" } },
      serverName: `${FULLNAME}-metrics.${NAMESPACE}.svc`,
    });
    assert.equal(only(name, "Service").metadata.name, `${FULLNAME}-metrics`);
    assert.deepEqual(endpoint.authorization, {
      type: "Bearer",
      credentials: { name: "prom-token", key: "token" },
    });
    assert.equal(endpoint.bearerTokenFile, undefined);
  });

  test("metrics.readers are bound to the metrics-reader ClusterRole, ServiceAccounts in their namespace", () => {
    const name = "metrics served from a certificate Secret, read by named subjects";
    const binding = only(name, "ClusterRoleBinding", `${FULLNAME}-metrics-reader`) as unknown as {
      roleRef: { name: string };
      subjects: unknown[];
    };
    assert.equal(binding.roleRef.name, `${FULLNAME}-metrics-reader`);
    assert.deepEqual(binding.subjects, [
      { kind: "ServiceAccount", name: "prometheus", namespace: "monitoring" },
      { kind: "Group", name: "platform-observers", apiGroup: "rbac.authorization.k8s.io" },
    ]);
    assert.equal(
      objects("default values").filter((o) => o.metadata.name === `${FULLNAME}-metrics-reader`)
        .length,
      1,
      "without readers, the role alone and no binding",
    );
  });

  test("plain metrics pass no --metrics-secure, render no metrics ClusterRole, and the ServiceMonitor scrapes over HTTP", () => {
    const name = "plain metrics with a ServiceMonitor";
    assert.ok(
      !container(name).args.some(
        (a) => a.startsWith("--metrics-") && a !== "--metrics-bind-address=:8080",
      ),
    );
    assert.ok(!objects(name).some((o) => /-metrics-(auth|reader)$/.test(o.metadata.name)));
    const endpoint = monitorEndpoint(name);
    assert.equal(endpoint.scheme, undefined);
    assert.equal(endpoint.tlsConfig, undefined);
    assert.equal(endpoint.bearerTokenFile, undefined);
  });

  test("the NetworkPolicy admits scrapes only from the namespaces and peers its values name, and from nowhere when they name none", async () => {
    const policy = only(
      "metrics served from a certificate Secret, read by named subjects",
      "NetworkPolicy",
    ) as unknown as NetworkPolicy;
    assert.deepEqual(policy.spec.ingress, [
      { ports: [{ port: "health", protocol: "TCP" }] },
      {
        ports: [{ port: "metrics", protocol: "TCP" }],
        from: [
          {
            namespaceSelector: {
              matchExpressions: [
                {
                  key: "kubernetes.io/metadata.name",
                  operator: "In",
                  values: ["monitoring", "ldpc-system"],
                },
              ],
            },
          },
        ],
      },
    ]);
    const closed = (await renderChart(helm, { networkPolicy: { enabled: true } })).find(
      (o) => o.kind === "NetworkPolicy",
    ) as unknown as NetworkPolicy;
    assert.deepEqual(closed.spec.ingress, [{ ports: [{ port: "health", protocol: "TCP" }] }]);
  });

  test("prometheusRule.runbookBaseUrl moves every runbook link", async () => {
    const [rule] = (
      await renderChart(helm, {
        prometheusRule: { enabled: true, runbookBaseUrl: "https://wiki.example.com/ldpc" },
      })
    ).filter((o) => o.kind === "PrometheusRule");
    assert.ok(rule);
    const rules = (
      rule as unknown as { spec: { groups: { rules: AlertRule[] }[] } }
    ).spec.groups.flatMap((g) => g.rules);
    assert.ok(rules.length >= 5);
    for (const r of rules) {
      assert.equal(
        r.annotations?.runbook_url,
        `https://wiki.example.com/ldpc#${r.alert.toLowerCase()}`,
      );
    }
  });

  test("CRDs off renders no CRD, and crds.keep=false drops the keep annotation", () => {
    assert.ok(!objects("CRDs off").some((o) => o.kind === "CustomResourceDefinition"));
    for (const crd of [CRD_NAME, BINDING_CRD_NAME, GRANT_CRD_NAME]) {
      const kept = only("default values", "CustomResourceDefinition", crd);
      assert.equal(kept.metadata.annotations?.["helm.sh/resource-policy"], "keep");
      const dropped = only("CRDs not kept on uninstall", "CustomResourceDefinition", crd);
      assert.equal(dropped.metadata.annotations?.["helm.sh/resource-policy"], undefined);
    }
  });

  test("the rendered CRDs are the ones in crds/, byte for byte in the chart and equal once rendered", async () => {
    for (const name of [CRD_NAME, BINDING_CRD_NAME, GRANT_CRD_NAME]) {
      const file = `${name}.yaml`;
      const source = await readFile(join(root, "crds", file), "utf8");
      assert.equal(await readFile(join(chartDir, "files", "crds", file), "utf8"), source);
      const crd = structuredClone(only("default values", "CustomResourceDefinition", name));
      assert.equal(crd.metadata.labels?.["app.kubernetes.io/instance"], RELEASE);
      delete crd.metadata.labels;
      delete crd.metadata.annotations;
      assert.deepEqual(crd, parse(source));
    }
  });

  test("bindings in values become LogDestinationPolicyBinding objects; tenancy off drops the flag's default and the tenancy ClusterRole", () => {
    const name = "bindings, and tenancy off";
    const bindings = objects(name).filter((o) => o.kind === "LogDestinationPolicyBinding");
    assert.deepEqual(
      bindings.map((b) => [b.metadata.name, (b as unknown as { spec: unknown }).spec]),
      ((COMBINATIONS[name]?.bindings ?? []) as { name: string; spec: unknown }[]).map((b) => [
        b.name,
        b.spec,
      ]),
    );
    // Rendered without the binding CRD in the cluster (a first install), they are a
    // post-install hook that carries the release's ownership, so an upgrade adopts them.
    for (const b of bindings) {
      assert.equal(b.metadata.annotations?.["helm.sh/hook"], "post-install");
      assert.equal(b.metadata.annotations["meta.helm.sh/release-name"], RELEASE);
    }
    assert.ok(container(name).args.includes("--require-binding=false"));
    assert.ok(!objects(name).some((o) => o.metadata.name.endsWith("-tenancy")));
    assert.ok(!objects("default values").some((o) => o.kind === "LogDestinationPolicyBinding"));
  });

  test("replicas 2 turns on leader election with a Lease Role and a PodDisruptionBudget", () => {
    const args = container("replicas 2").args;
    assert.ok(args.includes("--leader-elect"));
    assert.ok(args.includes(`--leader-election-namespace=${NAMESPACE}`));
    assert.ok(args.includes(`--leader-election-id=${FULLNAME}`), "a Lease per release");
    const role = only("replicas 2", "Role", `${FULLNAME}-leader-election`);
    assert.equal(role.metadata.namespace, NAMESPACE);
    only("replicas 2", "RoleBinding", `${FULLNAME}-leader-election`);
    const pdb = only("replicas 2", "PodDisruptionBudget") as unknown as {
      spec: { maxUnavailable: number; selector: unknown };
    };
    assert.equal(pdb.spec.maxUnavailable, 1);
    assert.ok(!objects("default values").some((o) => o.kind === "PodDisruptionBudget"));
    assert.ok(!container("default values").args.includes("--leader-elect"));
  });

  test("every optional object and pass-through value reaches the rendered objects", async () => {
    const name = "every optional object and pass-through";
    const c = container(name);
    const pod = podSpec(name);
    assert.equal(
      c.image,
      `ghcr.io/gitops-dev/log-destination-policy-controller:0.1.0@sha256:${"0123456789abcdef".repeat(4)}`,
    );
    assert.ok(c.args.includes("--aws-region=eu-west-1"));
    assert.ok(c.args.includes("--aws-max-retry-time=1m30s"));
    assert.ok(c.args.includes("--aws-rate-limit=2.5"));
    assert.ok(c.args.includes("--drift-detection-interval=0"));
    assert.ok(c.args.includes("--deny-public-access-override"));
    assert.ok(
      c.args.includes(
        "--allowed-role-arns=arn:aws:iam::111111111111:role/ldpc,arn:aws:iam::*:role/ldpc-target",
      ),
    );
    assert.equal(c.args.at(-1), "--log-level=warn", "extraArgs come last and so win");
    assert.deepEqual(c.env, [
      { name: "NODE_OPTIONS", value: chartNodeOptions() },
      { name: "AWS_STS_REGIONAL_ENDPOINTS", value: "regional" },
    ]);
    assert.equal(pod.priorityClassName, "system-cluster-critical");
    assert.deepEqual(pod.nodeSelector, { "kubernetes.io/os": "linux" });
    assert.ok(pod.affinity && pod.tolerations);
    assert.deepEqual(pod.imagePullSecrets, [{ name: "registry" }]);
    assert.deepEqual(pod.topologySpreadConstraints?.[0]?.labelSelector, {
      matchLabels: {
        "app.kubernetes.io/name": "log-destination-policy-controller",
        "app.kubernetes.io/instance": RELEASE,
      },
    });
    const sa = only(name, "ServiceAccount", FULLNAME);
    assert.equal(
      sa.metadata.annotations?.["eks.amazonaws.com/role-arn"],
      "arn:aws:iam::111122223333:role/ldpc",
    );
    assert.ok(c.args.includes("--leader-election-namespace=team-a"));
    assert.ok(c.args.includes("--leader-election-id=ldpc-leader"));
    assert.equal(only(name, "Role", `${FULLNAME}-leader-election`).metadata.namespace, "team-a");

    const dashboard = only(name, "ConfigMap", `${FULLNAME}-dashboard`) as unknown as {
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
      data: Record<string, string>;
    };
    assert.equal(dashboard.metadata.labels.grafana_dashboard, "1");
    assert.equal(dashboard.metadata.annotations.grafana_folder, "Controllers");
    assert.deepEqual(
      JSON.parse(dashboard.data["log-destination-policy-controller.json"] ?? ""),
      JSON.parse(await readFile(dashboardFile, "utf8")),
    );
    const policy = only(name, "NetworkPolicy") as unknown as {
      spec: { policyTypes: string[]; ingress: { ports: { port: string }[]; from?: unknown[] }[] };
    };
    assert.deepEqual(policy.spec.policyTypes, ["Ingress", "Egress"]);
    assert.deepEqual(
      policy.spec.ingress.map((r) => [r.ports[0]?.port, Boolean(r.from)]),
      [
        ["health", false],
        ["metrics", true],
      ],
    );
    only(name, "Service");
    only(name, "PodDisruptionBudget");
    const quotas = objects(name).filter((o) => o.kind === "ResourceQuota") as unknown as {
      metadata: { name: string; namespace: string };
      spec: { hard: Record<string, string> };
    }[];
    assert.deepEqual(
      quotas.map((q) => [q.metadata.namespace, q.metadata.name, q.spec.hard]),
      [
        [
          "team-a",
          `${FULLNAME}-objects`,
          { "count/logdestinationpolicies.logs.gitops.dev": "200" },
        ],
        ["team-b", `${FULLNAME}-objects`, { "count/logdestinationpolicies.logs.gitops.dev": "0" }],
      ],
    );
    assert.ok(!objects("default values").some((o) => o.kind === "ResourceQuota"));

    const ksm = only(name, "ConfigMap", `${FULLNAME}-kube-state-metrics`) as unknown as {
      metadata: { namespace: string; labels: Record<string, string> };
      data: Record<string, string>;
    };
    assert.equal(ksm.metadata.namespace, "team-a");
    assert.equal(ksm.metadata.labels["example.com/config"], "kube-state-metrics");
    assert.deepEqual(
      parse(ksm.data[KSM_CONFIG_KEY] ?? ""),
      parse(await readFile(join(root, KSM_CONFIG), "utf8")),
    );
  });

  test("the dashboard label is configurable, and null removes the default one", async () => {
    const [configMap] = (
      await renderChart(helm, {
        dashboard: {
          enabled: true,
          labels: { grafana_dashboard: null, "grafana.example.com/dashboard": "yes" },
        },
      })
    ).filter((o) => o.kind === "ConfigMap");
    assert.deepEqual(
      Object.entries(configMap?.metadata.labels ?? {}).filter(([k]) => k.includes("grafana")),
      [["grafana.example.com/dashboard", "yes"]],
    );
  });

  test("every flag the chart passes is one the controller accepts", () => {
    const known = new Set(FLAGS.map((f) => f.flag.split(" ")[0]));
    for (const name of Object.keys(COMBINATIONS)) {
      for (const arg of container(name).args) {
        const flag = arg.split("=")[0] ?? "";
        assert.ok(known.has(flag), `${name}: ${flag} is not a flag of the controller`);
      }
    }
  });

  test("values.schema.json and the README table are generated from values.yaml, which documents every key", async () => {
    const values = await readFile(join(chartDir, "values.yaml"), "utf8");
    const { schema, docs } = describeValues(values);
    const committed = JSON.parse(
      await readFile(join(chartDir, "values.schema.json"), "utf8"),
    ) as unknown;
    assert.deepEqual(committed, schema);
    const readme = await readFile(join(chartDir, "README.md"), "utf8");
    for (const doc of docs) assert.ok(readme.includes(`\`${doc.key}\``), `README lists ${doc.key}`);
    assert.ok(docs.length > 40);
    // Every leaf of values.yaml has a row: nothing is undocumented.
    const leaves = (value: unknown, path: string[]): string[] =>
      value !== null &&
      typeof value === "object" &&
      !Array.isArray(value) &&
      Object.keys(value).length > 0
        ? Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, k]))
        : [path.join(".")];
    const documented = new Set(docs.map((d) => d.key));
    for (const leaf of leaves(parse(values), [])) {
      const covered = [...documented].some((key) => leaf === key || leaf.startsWith(`${key}.`));
      assert.ok(covered, `${leaf} is documented`);
    }
  });

  test("the heap sizes reach NODE_OPTIONS as the benchmark uses them, stay below the memory limit, and give way to extraEnv", async () => {
    const envOf = async (values: Record<string, unknown>) => {
      const objects = await renderChart(helm, values);
      const deployment = objects.find((o) => o.kind === "Deployment") as unknown as {
        spec: { template: { spec: PodSpec } };
      };
      return deployment.spec.template.spec.containers[0]?.env;
    };
    assert.equal(chartNodeOptions(), "--max-old-space-size=128 --max-semi-space-size=4");
    assert.deepEqual(container("default values").env, [
      { name: "NODE_OPTIONS", value: chartNodeOptions() },
    ]);
    assert.equal(await envOf({ heap: { maxOldSpaceMiB: 0, maxSemiSpaceMiB: 0 } }), undefined);
    assert.deepEqual(
      await envOf({ heap: { maxOldSpaceMiB: 700 }, resources: { limits: { memory: "1Gi" } } }),
      [{ name: "NODE_OPTIONS", value: "--max-old-space-size=700 --max-semi-space-size=4" }],
    );
    const own = { name: "NODE_OPTIONS", value: "--max-old-space-size=64" };
    assert.deepEqual(await envOf({ extraEnv: [own] }), [own]);
    for (const memory of ["256Mi", "268435456", "268M"]) {
      await assert.rejects(
        renderChartText(helm, {
          heap: { maxOldSpaceMiB: 256 },
          resources: { limits: { memory } },
        }),
        /heap.maxOldSpaceMiB \(256\) must be below resources.limits.memory/,
        memory,
      );
    }
    // A form the chart does not read is left to the API server to check.
    assert.ok(
      await envOf({ heap: { maxOldSpaceMiB: 256 }, resources: { limits: { memory: "0.25Gi" } } }),
    );
  });

  test("the schema rejects unknown keys and out-of-range values", async () => {
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ replicaCount: 1, replicas: 2 }, /additional properties 'replicas'/],
      [{ controller: { logLevel: "loud" } }, /logLevel/],
      [{ image: { digest: "latest" } }, /digest/],
      [{ watchNamespaces: ["Not_A_Namespace"] }, /watchNamespaces/],
      [{ aws: { maxRetryTime: "30 seconds" } }, /maxRetryTime/],
      [{ heap: { maxOldSpaceMiB: -1 } }, /maxOldSpaceMiB/],
      [{ objectQuotas: [{ namespace: "team-a", policies: -1 }] }, /policies/],
      [{ objectQuotas: [{ namespace: "Team_A", policies: 1 }] }, /namespace/],
    ];
    for (const [values, message] of bad) {
      await assert.rejects(renderChartText(helm, values), message, JSON.stringify(values));
    }
  });

  test("Kubernetes 1.29 gets everything but the admission policy, and lint passes for 1.29 and 1.35", async () => {
    const old = await renderChart(
      helm,
      {},
      { release: RELEASE, namespace: NAMESPACE, kubeVersion: "v1.29.0" },
    );
    const current = kinds("default values");
    assert.deepEqual(
      old.map((o) => `${o.kind}${o.metadata.namespace ? ` ${o.metadata.namespace}` : ""}`).sort(),
      current.filter((kind) => !kind.startsWith("ValidatingAdmissionPolicy")),
    );
    for (const version of ["1.29.0", "1.35.0"]) {
      const { stdout } = await run(helm, ["lint", "--strict", chartDir, "--kube-version", version]);
      assert.match(stdout, /0 chart\(s\) failed/);
    }
  });

  test("the schema accepts a parent chart's global values, so the chart works as a subchart", async () => {
    const objects = await renderChart(helm, { global: { imageRegistry: "registry.example" } });
    assert.ok(objects.some((o) => o.kind === "Deployment"));
  });

  test("helm test checks this release's metrics Service with the controller's image and appVersion", async () => {
    const chart = parse(await readFile(join(chartDir, "Chart.yaml"), "utf8")) as {
      appVersion: string;
    };
    const name = "every optional object and pass-through";
    const pods = objects(name).filter((o) => o.kind === "Pod");
    assert.equal(pods.length, 1);
    const pod = pods[0] as unknown as {
      metadata: { annotations: Record<string, string> };
      spec: {
        containers: { image: string; args: string[] }[];
        automountServiceAccountToken: boolean;
        serviceAccountName?: string;
      };
    };
    assert.equal(pod.metadata.annotations["helm.sh/hook"], "test");
    // Secure metrics: the pod's own ServiceAccount, bound to metrics-reader for the test only.
    assert.equal(pod.spec.automountServiceAccountToken, true);
    assert.equal(pod.spec.serviceAccountName, `${FULLNAME}-test-metrics`);
    const binding = only(name, "ClusterRoleBinding", `${FULLNAME}-test-metrics`) as unknown as {
      metadata: { annotations: Record<string, string> };
      roleRef: { name: string };
      subjects: unknown[];
    };
    assert.equal(binding.metadata.annotations["helm.sh/hook"], "test");
    assert.equal(binding.roleRef.name, `${FULLNAME}-metrics-reader`);
    assert.deepEqual(binding.subjects, [
      { kind: "ServiceAccount", name: `${FULLNAME}-test-metrics`, namespace: NAMESPACE },
    ]);
    const [probe] = pod.spec.containers;
    assert.ok(probe);
    assert.equal(probe.image, container(name).image);
    const service = only(name, "Service");
    const script = probe.args[0] ?? "";
    assert.ok(
      script.includes(`https://${service.metadata.name}.${NAMESPACE}.svc:8080/metrics`),
      script,
    );
    assert.ok(script.includes("Authorization: `Bearer ${token}`"), script);
    const plain = only("plain metrics with a ServiceMonitor", "Pod") as unknown as {
      spec: { automountServiceAccountToken: boolean; containers: { args: string[] }[] };
    };
    assert.equal(plain.spec.automountServiceAccountToken, false);
    assert.match(plain.spec.containers[0]?.args[0] ?? "", /const url = "http:\/\//);
    assert.ok(script.includes(`version="${chart.appVersion}"`), script);
    assert.equal(
      objects("default values").filter((o) => o.kind === "Pod").length,
      0,
      "no Service, no test",
    );
  });

  test("Artifact Hub annotations name the package's licence, the default image and the CHANGELOG's changes", async () => {
    const chart = parse(await readFile(join(chartDir, "Chart.yaml"), "utf8")) as {
      appVersion: string;
      annotations: Record<string, string>;
    };
    const pkg = JSON.parse(await readFile(join(root, "package.json"), "utf8")) as {
      license: string;
    };
    assert.equal(chart.annotations["artifacthub.io/license"], pkg.license);
    const images = parse(chart.annotations["artifacthub.io/images"] ?? "") as { image: string }[];
    assert.deepEqual(
      images.map((i) => i.image),
      [container("default values").image],
    );
    const changes = parse(chart.annotations["artifacthub.io/changes"] ?? "") as {
      kind: string;
      description: string;
    }[];
    const changelog = await readFile(join(root, "CHANGELOG.md"), "utf8");
    const section = changelog.split(/^## /m).find((s) => s.startsWith(`[${chart.appVersion}]`));
    assert.ok(section, `CHANGELOG.md has a section for ${chart.appVersion}`);
    assert.ok(changes.length > 0);
    for (const change of changes) {
      assert.ok(
        ["added", "changed", "deprecated", "removed", "fixed", "security"].includes(change.kind),
      );
      assert.ok(section.includes(change.description), `CHANGELOG.md lists: ${change.description}`);
    }
  });
});
