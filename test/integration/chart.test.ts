// Every object the chart renders, for every value combination, is applied to the
// real kube-apiserver with a server-side dry run and strict field validation.
// ServiceMonitor and PrometheusRule are validated against the real
// monitoring.coreos.com CRDs from the prometheus-operator module.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import {
  BINDING_CRD_NAME,
  BINDING_PLURAL,
  CRD_NAME,
  GRANT_CRD_NAME,
  GROUP,
  VERSION,
} from "../../src/api/names.ts";
import { CustomObjectsApi } from "@kubernetes/client-node";
import { getTestEnv, newNamespace, type TestEnv } from "../support/env.ts";
import { installCrd, Policies, samplePolicy } from "../support/policies.ts";
import {
  chartDir,
  combinations,
  deletePolicies,
  installMonitoringCrds,
  kubectlApply,
  renderChart,
  run,
  type K8sObject,
} from "../support/chart.ts";

describe("the chart on a real API server", () => {
  let env: TestEnv;
  let namespace: string;
  let watched: string[];

  before(async () => {
    env = await getTestEnv();
    await installMonitoringCrds(env);
    // Rendered bindings are dry-run applied too, which needs their CRD.
    await installCrd(env);
    namespace = await newNamespace(env.kubeConfig, "chart");
    watched = [
      await newNamespace(env.kubeConfig, "chart-team-a"),
      await newNamespace(env.kubeConfig, "chart-team-b"),
    ];
  });

  const render = (values: Record<string, unknown>) =>
    renderChart(env.helm, values, {
      release: "ldpc",
      namespace,
      kubeVersion: env.kubernetesVersion,
    });

  for (const name of Object.keys(combinations([]))) {
    test(`every object rendered with ${name} passes a strict server-side dry run`, async () => {
      const values = combinations(watched)[name] ?? {};
      const objects = await render(values);
      assert.ok(objects.length >= 4);
      const out = await kubectlApply(env, objects, { dryRun: true });
      for (const obj of objects) {
        const kind = obj.kind.toLowerCase();
        assert.match(
          out,
          new RegExp(
            `${kind}[./][^ ]*${obj.metadata.name} serverside-applied \\(server dry run\\)`,
          ),
          `${obj.kind} ${obj.metadata.name}`,
        );
      }
    });
  }

  test("what the chart renders for Kubernetes 1.29, and as a subchart with global values, passes a strict server-side dry run", async () => {
    const objects = await renderChart(
      env.helm,
      { global: { imageRegistry: "registry.example" } },
      { release: "ldpc", namespace, kubeVersion: "v1.29.0" },
    );
    assert.ok(!objects.some((o) => o.kind.startsWith("ValidatingAdmissionPolicy")));
    const out = await kubectlApply(env, objects, { dryRun: true });
    for (const obj of objects) {
      assert.match(out, new RegExp(`${obj.metadata.name} serverside-applied \\(server dry run\\)`));
    }
  });

  test("the strict dry run rejects an unknown field, so the passes above mean something", async () => {
    const objects = await render({});
    const deployment = objects.find((o) => o.kind === "Deployment");
    assert.ok(deployment);
    const broken: K8sObject = {
      ...deployment,
      spec: { ...(deployment.spec as object), replicaz: 2 },
    };
    await assert.rejects(kubectlApply(env, [broken], { dryRun: true }), /replicaz/);
    const rule = (await render({ prometheusRule: { enabled: true } })).find(
      (o) => o.kind === "PrometheusRule",
    );
    assert.ok(rule);
    await assert.rejects(
      kubectlApply(env, [{ ...rule, spec: { groups: [{ name: "x", rulez: [] }] } }], {
        dryRun: true,
      }),
      /rulez/,
    );
  });

  test("helm install prints the NOTES, and helm uninstall keeps the CRD and its objects", async () => {
    // Other tests installed the CRD with kubectl; a user adopts it into a release
    // with Helm's ownership metadata, as here.
    const kubectl = (...args: string[]) =>
      run(env.kubectl, ["--kubeconfig", env.kubeconfigPath, ...args]);
    const crds = [`crd/${CRD_NAME}`, `crd/${BINDING_CRD_NAME}`, `crd/${GRANT_CRD_NAME}`];
    await installCrd(env);
    for (const crd of crds) {
      await kubectl("label", crd, "app.kubernetes.io/managed-by=Helm", "--overwrite");
      await kubectl(
        "annotate",
        crd,
        "meta.helm.sh/release-name=keep",
        `meta.helm.sh/release-namespace=${namespace}`,
        "--overwrite",
      );
    }
    try {
      const policies = new Policies(env.kubeConfig, namespace);
      await policies.create("survivor", {
        destinationName: "survivor",
        accessPolicy: samplePolicy("survivor"),
      });
      const helm = (...args: string[]) =>
        run(env.helm, [...args, "--kubeconfig", env.kubeconfigPath, "--namespace", namespace]);
      const { stdout } = await helm(
        "install",
        "keep",
        chartDir,
        "--set",
        "serviceMonitor.enabled=true,prometheusRule.enabled=true,dashboard.enabled=true",
      );
      assert.match(stdout, /STATUS: deployed/);
      assert.match(stdout, /NOTES:/);
      assert.match(stdout, /EKS Pod Identity: associate an IAM role with the ServiceAccount/);
      assert.match(stdout, /rollout status deployment\/keep-log-destination-policy-controller/);
      assert.match(
        stdout,
        /PrometheusRule keep-log-destination-policy-controller holds the alerts/,
      );
      await kubectl("-n", namespace, "get", "deployment/keep-log-destination-policy-controller");

      const uninstall = await helm("uninstall", "keep");
      assert.match(uninstall.stdout, /kept due to the resource policy/);
      assert.match(uninstall.stdout, new RegExp(CRD_NAME.replaceAll(".", "\\.")));
      for (const crd of crds) await kubectl("get", crd);
      assert.equal((await policies.get("survivor")).metadata.name, "survivor");
      await assert.rejects(
        kubectl("-n", namespace, "get", "deployment/keep-log-destination-policy-controller"),
        /NotFound/,
      );
    } finally {
      await deletePolicies(env, [namespace]);
      for (const crd of crds) {
        await kubectl("label", crd, "app.kubernetes.io/managed-by-");
        await kubectl(
          "annotate",
          crd,
          "meta.helm.sh/release-name-",
          "meta.helm.sh/release-namespace-",
          "helm.sh/resource-policy-",
        );
      }
    }
  });

  test("bindings from values: created by helm install, changed in place by later upgrades", async () => {
    // A release of its own that installs no CRD: the tests above installed both, so
    // the bindings are ordinary objects of the release (on a first install without
    // the CRD they are a post-install hook, which the unit tests check).
    const helm = (...args: string[]) =>
      run(env.helm, [...args, "--kubeconfig", env.kubeconfigPath, "--namespace", namespace]);
    const name = `chart-binding-${process.pid}`;
    const bindingsWith = (destinations: string[]) =>
      JSON.stringify([
        { name, spec: { namespaceSelector: { matchLabels: { team: "x" } }, destinations } },
      ]);
    const api = env.kubeConfig.makeApiClient(CustomObjectsApi);
    const read = async () =>
      (await api.getClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: BINDING_PLURAL,
        name,
      })) as { metadata: { uid: string }; spec: { destinations: string[] } };
    const release = "bindings";
    try {
      await helm(
        "install",
        release,
        chartDir,
        "--set",
        "crds.enabled=false",
        "--set-json",
        `bindings=${bindingsWith(["a-*"])}`,
      );
      const installed = await read();
      assert.deepEqual(installed.spec.destinations, ["a-*"]);
      for (const destinations of [["a-*"], ["a-*", "b"], ["c"]]) {
        await helm(
          "upgrade",
          release,
          chartDir,
          "--set",
          "crds.enabled=false",
          "--set-json",
          `bindings=${bindingsWith(destinations)}`,
        );
      }
      const upgraded = await read();
      assert.deepEqual(upgraded.spec.destinations, ["c"]);
      assert.equal(upgraded.metadata.uid, installed.metadata.uid, "never deleted and recreated");
      await helm("uninstall", release);
      await assert.rejects(read(), /404|NotFound|not found/i);
    } finally {
      await helm("uninstall", release).catch(() => undefined);
    }
  });
});
