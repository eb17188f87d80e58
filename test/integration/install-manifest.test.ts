// install.yaml on the real API server: `kubectl apply --server-side` creates the
// namespace, CRDs, RBAC, Deployment, Service and admission policies; then the
// built controller runs with the flags and environment of the rendered
// Deployment, under a token of the ServiceAccount install.yaml creates, so the
// rendered RBAC is proven enough: every example reaches Ready.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { CoreV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import {
  API_VERSION,
  GRANT_FINALIZER,
  GRANT_KIND,
  GROUP,
  KIND,
  LAST_APPLIED_ANNOTATION,
  PLURAL,
  VERSION,
} from "../../src/api/names.ts";
import {
  applyExampleBindings,
  applyObjects,
  EXAMPLES_NAMESPACE_LABELS,
  expectedPolicy,
  loadExamples,
} from "../../env/examples.ts";
import { INSTALL_FILE, INSTALL_NAMESPACE } from "../../scripts/install-manifest.ts";
import { createDestination, storedPolicy } from "../support/aws.ts";
import {
  deletePolicies,
  NAMESPACE_RULES,
  POLICY_RULES,
  root,
  run,
  TENANCY_RULES,
  type K8sObject,
  type PolicyRule,
} from "../support/chart.ts";
import { startController, type RunningController } from "../support/controller.ts";
import { asToken, getTestEnv, newNamespace, type TestEnv } from "../support/env.ts";
import { Policies, waitFor } from "../support/policies.ts";

interface Container {
  args?: string[];
  env?: { name: string; value?: string }[];
}

const installPath = join(root, INSTALL_FILE);
const objects = parseAllDocuments(await readFile(installPath, "utf8"))
  .map((doc) => doc.toJS() as K8sObject | null)
  .filter((o): o is K8sObject => o !== null);
const examples = loadExamples();
const scratch = await mkdtemp(join(tmpdir(), "ldpc-install-"));

const ofKind = (kind: string) => objects.filter((o) => o.kind === kind);
const one = (kind: string): K8sObject => {
  const [found, ...rest] = ofKind(kind);
  assert.ok(found, kind);
  assert.equal(rest.length, 0, `one ${kind}`);
  return found;
};
const container = (): Container => {
  const deployment = one("Deployment") as unknown as {
    spec: { template: { spec: { containers: Container[] } } };
  };
  const [first] = deployment.spec.template.spec.containers;
  assert.ok(first);
  return first;
};

/** Every object of install.yaml but the CRDs and the namespace, which other tests share or cannot delete. */
const removable = () =>
  objects.filter((o) => o.kind !== "CustomResourceDefinition" && o.kind !== "Namespace");

describe("install.yaml on a real API server", () => {
  let env: TestEnv;
  let applied: string;
  let warnings: string;
  let controller: RunningController | undefined;
  const namespaces = new Map<string, string>();
  const kubectl = (...args: string[]) =>
    run(env.kubectl, ["--kubeconfig", env.kubeconfigPath, ...args]);

  before(async () => {
    env = await getTestEnv();
    // --force-conflicts only because other test files applied the same CRDs with
    // other field managers and labels; on a fresh cluster the README's command suffices.
    const out = await kubectl("apply", "--server-side", "--force-conflicts", "-f", installPath);
    applied = out.stdout;
    warnings = out.stderr;
    await kubectl(
      "wait",
      "--for=condition=Established",
      "--timeout=30s",
      ...ofKind("CustomResourceDefinition").map((crd) => `crd/${crd.metadata.name}`),
    );
  });

  after(async () => {
    try {
      if (controller) assert.equal(await controller.stop(), 0);
      await deletePolicies(env, [...namespaces.values()]);
    } finally {
      // The admission policies are cluster-wide: left behind, they would refuse
      // the records that later test files' controllers, running as admin, write.
      const file = join(scratch, "remove.json");
      await writeFile(file, JSON.stringify({ apiVersion: "v1", kind: "List", items: removable() }));
      await kubectl("delete", "--ignore-not-found", "--wait=false", "-f", file);
      await waitUntilAdmissionPoliciesGone();
      await rm(scratch, { recursive: true, force: true });
    }
  });

  /** An admin's write of a controller record is admitted again once the API server has dropped the policies. */
  async function waitUntilAdmissionPoliciesGone(): Promise<void> {
    const file = join(scratch, "probe.json");
    await writeFile(
      file,
      JSON.stringify({
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: {
          name: "admission-probe",
          namespace: "default",
          annotations: { [LAST_APPLIED_ANNOTATION]: "probe" },
        },
        spec: {
          destinationName: "probe",
          accessPolicyJson: '{"Version":"2012-10-17","Statement":[]}',
        },
      }),
    );
    await waitFor("the admission policies are no longer enforced", async () => {
      await kubectl("create", "--dry-run=server", "-f", file);
      return true;
    });
  }

  test("holds the namespace first, then the CRDs, RBAC, ServiceAccount, Deployment, Service and admission policies", () => {
    const kinds = objects.map((o) => o.kind);
    assert.equal(kinds[0], "Namespace");
    assert.equal(objects[0]?.metadata.name, INSTALL_NAMESPACE);
    const first = (kind: string) => kinds.indexOf(kind);
    const last = (kind: string) => kinds.lastIndexOf(kind);
    for (const kind of [
      "CustomResourceDefinition",
      "ClusterRole",
      "ClusterRoleBinding",
      "ServiceAccount",
      "Deployment",
      "Service",
      "ValidatingAdmissionPolicy",
      "ValidatingAdmissionPolicyBinding",
    ])
      assert.ok(first(kind) > 0, `install.yaml has a ${kind}`);
    assert.ok(last("CustomResourceDefinition") < first("ClusterRole"));
    assert.ok(last("ClusterRoleBinding") < first("ServiceAccount"));
    assert.ok(first("ServiceAccount") < first("Deployment"));
    assert.ok(first("Deployment") < first("Service"));
    assert.ok(last("Service") < first("ValidatingAdmissionPolicy"));
    assert.equal(ofKind("CustomResourceDefinition").length, 3);
    for (const o of objects.slice(1)) {
      const scoped = o.metadata.namespace;
      if (scoped !== undefined)
        assert.equal(scoped, INSTALL_NAMESPACE, `${o.kind} ${o.metadata.name}`);
      assert.equal(
        o.metadata.annotations?.["helm.sh/hook"],
        undefined,
        `${o.kind} is no Helm hook`,
      );
    }
  });

  test("carries the chart's RBAC for grants and namespaces, and its admission protection of grants", () => {
    const rules = ofKind("ClusterRole")
      .filter((r) => !r.metadata.name.includes("-metrics-"))
      .map((r) => [r.metadata.name, (r as unknown as { rules: PolicyRule[] }).rules]);
    assert.deepEqual(rules, [
      ["log-destination-policy-controller", POLICY_RULES],
      ["log-destination-policy-controller-namespaces", NAMESPACE_RULES],
      ["log-destination-policy-controller-tenancy", TENANCY_RULES],
    ]);
    const records = ofKind("ValidatingAdmissionPolicy").find((p) =>
      p.metadata.name.endsWith("-records"),
    ) as unknown as { spec: { matchConstraints: { resourceRules: { resources: string[] }[] } } };
    assert.deepEqual(records.spec.matchConstraints.resourceRules[0]?.resources, [
      "logdestinationpolicies",
      "logdestinationgrants",
    ]);
  });

  test("runs the image of the chart's appVersion", async () => {
    const chart = await readFile(
      join(root, "charts", "log-destination-policy-controller", "Chart.yaml"),
      "utf8",
    );
    const appVersion = /^appVersion: "?([^"\n]+)"?$/m.exec(chart)?.[1];
    const deployment = one("Deployment") as unknown as {
      spec: { template: { spec: { containers: { image: string }[] } } };
    };
    assert.equal(
      deployment.spec.template.spec.containers[0]?.image,
      `ghcr.io/gitops-dev/log-destination-policy-controller:${appVersion ?? "?"}`,
    );
  });

  test("kubectl apply --server-side creates every object, and each one is then on the server", async () => {
    for (const o of objects) {
      assert.match(
        applied,
        new RegExp(`${o.kind.toLowerCase()}[./][^ ]*${o.metadata.name} serverside-applied`),
        `${o.kind} ${o.metadata.name}`,
      );
    }
    const { stdout } = await kubectl("get", "-f", installPath, "-o", "name");
    assert.equal(stdout.trim().split("\n").length, objects.length, stdout);
  });

  test("the namespace enforces the restricted Pod Security Standard, and the Deployment's pods meet it", async () => {
    const namespace = objects[0] as unknown as { metadata: { labels: Record<string, string> } };
    assert.equal(namespace.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
    // The PodSecurity admission plugin warns about a Deployment whose pods it would refuse.
    assert.doesNotMatch(warnings, /PodSecurity/);
    const deployment = structuredClone(one("Deployment")) as unknown as {
      metadata: { name: string };
      spec: { template: { spec: { hostNetwork?: boolean } } };
    };
    deployment.metadata.name = "pod-security-probe";
    deployment.spec.template.spec.hostNetwork = true;
    const probe = join(scratch, "privileged.json");
    await writeFile(probe, JSON.stringify(deployment));
    const { stderr } = await kubectl("apply", "--dry-run=server", "-f", probe);
    assert.match(
      stderr,
      /would violate PodSecurity "restricted/,
      "so the silence above means something",
    );
  });

  test("with the ServiceAccount's own token and the Deployment's flags, the built controller brings every example to Ready", async () => {
    const sa = one("ServiceAccount");
    const token = await env.kubeConfig
      .makeApiClient(CoreV1Api)
      .createNamespacedServiceAccountToken({
        name: sa.metadata.name,
        namespace: INSTALL_NAMESPACE,
        body: { spec: { audiences: [], expirationSeconds: 3600 } },
      });
    assert.ok(token.status?.token, "TokenRequest returned no token");
    const asAccount = asToken(env.kubeConfig, token.status.token);
    const kubeconfig = join(scratch, "service-account.kubeconfig");
    await writeFile(kubeconfig, asAccount.exportConfig());
    // The authorizer learns the new bindings through a watch.
    await waitFor("the ServiceAccount may list LogDestinationPolicies cluster-wide", async () => {
      await asAccount
        .makeApiClient(CustomObjectsApi)
        .listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL });
      return true;
    });

    const destinations = new Set<string>();
    for (const { objects: inFile } of examples) {
      for (const { spec } of inFile) {
        const region = spec.region ?? env.region;
        if (destinations.has(`${region}/${spec.destinationName}`)) continue;
        destinations.add(`${region}/${spec.destinationName}`);
        await createDestination(env, spec.destinationName, region);
      }
    }
    await applyExampleBindings(env);
    for (const { file } of examples)
      namespaces.set(
        file,
        await newNamespace(
          env.kubeConfig,
          `install-${file.replace(/\.ya?ml$/, "")}`,
          EXAMPLES_NAMESPACE_LABELS,
        ),
      );

    // The bind addresses are the test's own, and so is the namespace list: the API server is
    // shared with other test files, whose older objects would own the examples' destinations.
    // Every other flag is the Deployment's.
    const { args = [], env: variables = [] } = container();
    const flags = args.filter(
      (a) => !/^--(metrics-bind-address|health-probe-bind-address)=/.test(a),
    );
    assert.ok(flags.length >= 5, flags.join(" "));
    controller = await startController(env, {
      built: true,
      args: [
        ...flags,
        "--kubeconfig",
        kubeconfig,
        "--watch-namespace",
        [...namespaces.values()].join(","),
      ],
      env: Object.fromEntries(
        variables.flatMap((v) => (v.value === undefined ? [] : [[v.name, v.value]])),
      ),
    });

    for (const example of examples) {
      const namespace = namespaces.get(example.file) ?? "";
      const policies = new Policies(env.kubeConfig, namespace);
      await applyObjects(env, example.objects, namespace);
      for (const object of example.objects) {
        const name = object.metadata.name;
        const ready = await policies.waitForReason(name, "Applied", 30_000);
        assert.equal(policies.condition(ready, "Ready")?.status, "True", name);
        const region = object.spec.region ?? env.region;
        assert.equal(
          await storedPolicy(env, object.spec.destinationName, region),
          expectedPolicy(object),
          `${example.file}: ${object.spec.destinationName} in ${region}`,
        );
      }
    }
    assert.deepEqual(
      controller.logs.filter((l) =>
        /forbidden|\b403\b|could not record event|could not write/i.test(JSON.stringify(l)),
      ),
      [],
    );
  });

  test("the installed admission policy refuses a controller record written by anyone but the installed ServiceAccount", async () => {
    const file = join(scratch, "forged.json");
    await writeFile(
      file,
      JSON.stringify({
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: {
          name: "forged",
          namespace: "default",
          annotations: { [LAST_APPLIED_ANNOTATION]: "{}" },
        },
        spec: {
          destinationName: "central-logs",
          accessPolicyJson: '{"Version":"2012-10-17","Statement":[]}',
        },
      }),
    );
    // The API server loads a new policy through a watch.
    await waitFor("the admin's forged record is refused", () =>
      kubectl("create", "--dry-run=server", "-f", file).then(
        () => false,
        (err: unknown) =>
          String(err).includes("is written only by the log-destination-policy-controller"),
      ),
    );
    const grant = join(scratch, "forged-grant.json");
    await writeFile(
      grant,
      JSON.stringify({
        apiVersion: API_VERSION,
        kind: GRANT_KIND,
        metadata: { name: "forged", namespace: "default", finalizers: [GRANT_FINALIZER] },
        spec: { policyRef: { name: "central-logs" }, principals: { accounts: ["444455556666"] } },
      }),
    );
    const refusal = await kubectl("create", "--dry-run=server", "-f", grant).then(
      () => "",
      (err: unknown) => String(err),
    );
    assert.match(refusal, /remove-grant is added only by the log-destination-policy-controller/);
  });
});
