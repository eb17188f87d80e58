// The RBAC proof: the chart's ServiceAccount, ClusterRole (or Roles) and bindings
// are applied to the real API server, the controller runs under a token of that
// ServiceAccount from the TokenRequest API with the flags the chart's Deployment
// passes, and the main scenarios pass. SubjectAccessReviews over every resource
// and verb the API server serves then show that the account may do exactly what
// the chart grants: nothing on Secrets, nothing beyond the listed verbs.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { Agent, request, type RequestOptions } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  KubeConfig,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
} from "@kubernetes/client-node";
import {
  BINDING_PLURAL,
  GRANT_FINALIZER,
  GRANT_KIND,
  GRANT_PLURAL,
  GROUP,
  PLURAL,
  REVOKE_FINALIZER,
  VERSION,
} from "../../src/api/names.ts";
import { scrape, startController, type RunningController } from "../support/controller.ts";
import { asToken, getTestEnv, newNamespace, type TestEnv } from "../support/env.ts";
import {
  deletePolicies,
  leaseRules,
  METRICS_AUTH_RULES,
  METRICS_READER_RULES,
  NAMESPACE_RULES,
  POLICY_RULES,
  TENANCY_RULES,
  run,
  type PolicyRule,
  type Values,
} from "../support/chart.ts";
import {
  installRbac as installChartRbac,
  scraperAccount,
  tokenFor,
  type Installed,
} from "../support/rbac.ts";
import { createDestination, storedPolicy } from "../support/aws.ts";
import { installCrd, Policies, samplePolicy, waitFor } from "../support/policies.ts";
import { canonicalJson } from "../../src/policy/index.ts";
import type { LogDestinationGrant } from "../../src/api/grant.ts";
import { sampleObject, unique } from "../support/setup.ts";

const PUT = "PutDestinationPolicy";
const scratch = await mkdtemp(join(tmpdir(), "ldpc-rbac-"));
after(() => rm(scratch, { recursive: true, force: true }));

const installRbac = (env: TestEnv, release: string, namespace: string, values: Values) =>
  installChartRbac(env, release, namespace, values, scratch);

/** Waits until the authorizer has seen the new bindings (it learns them through a watch). */
async function waitUntilAllowed(env: TestEnv, user: string, namespace: string): Promise<void> {
  await waitFor(
    `${user} may list LogDestinationPolicies`,
    async () =>
      await allowed(env, user, { group: GROUP, resource: PLURAL, verb: "list", namespace }),
    10_000,
  );
}

interface Attributes {
  group: string;
  resource: string;
  name?: string;
  subresource?: string;
  verb: string;
  namespace?: string;
}

/**
 * SubjectAccessReviews over a keep-alive HTTPS agent with the admin's client
 * certificate: the sweeps below send about two thousand, which client-node's
 * serializer would make CPU-bound.
 */
const reviewers = new WeakMap<TestEnv, (body: string) => Promise<string>>();

async function reviewer(env: TestEnv): Promise<(body: string) => Promise<string>> {
  let send = reviewers.get(env);
  if (send) return send;
  const cluster = env.kubeConfig.getCurrentCluster();
  assert.ok(cluster);
  const options: RequestOptions = {};
  await env.kubeConfig.applyToHTTPSOptions(options);
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const url = new URL("/apis/authorization.k8s.io/v1/subjectaccessreviews", cluster.server);
  send = (body: string) =>
    new Promise<string>((resolve, reject) => {
      const req = request(
        url,
        { ...options, agent, method: "POST", headers: { "Content-Type": "application/json" } },
        (res) => {
          let text = "";
          res.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
          res.on("end", () => {
            if (res.statusCode === 201 || res.statusCode === 200) resolve(text);
            else reject(new Error(`SubjectAccessReview: HTTP ${res.statusCode ?? 0}: ${text}`));
          });
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  reviewers.set(env, send);
  after(() => {
    agent.destroy();
  });
  return send;
}

async function allowed(env: TestEnv, user: string, attributes: Attributes): Promise<boolean> {
  const namespace = user.split(":")[2] ?? "";
  const send = await reviewer(env);
  const body = JSON.stringify({
    apiVersion: "authorization.k8s.io/v1",
    kind: "SubjectAccessReview",
    spec: {
      user,
      groups: [
        "system:serviceaccounts",
        `system:serviceaccounts:${namespace}`,
        "system:authenticated",
      ],
      resourceAttributes: attributes,
    },
  });
  const review = JSON.parse(await send(body)) as { status?: { allowed?: boolean } };
  return review.status?.allowed === true;
}

interface ApiResource {
  name: string;
  namespaced: boolean;
  verbs: string[];
}

/** Every resource and subresource the API server serves, with its verbs, from discovery. */
async function discover(env: TestEnv): Promise<Attributes[]> {
  const raw = async (path: string) =>
    JSON.parse(
      (await run(env.kubectl, ["--kubeconfig", env.kubeconfigPath, "get", "--raw", path])).stdout,
    ) as unknown;
  const groups = (await raw("/apis")) as {
    groups: { name: string; preferredVersion: { groupVersion: string } }[];
  };
  const lists: [string, string][] = [
    ["", "/api/v1"],
    ...groups.groups.map((g): [string, string] => [
      g.name,
      `/apis/${g.preferredVersion.groupVersion}`,
    ]),
  ];
  const out: Attributes[] = [];
  for (const [group, path] of lists) {
    const { resources } = (await raw(path)) as { resources: ApiResource[] };
    for (const r of resources) {
      const [resource = "", subresource] = r.name.split("/");
      // RBAC-only verbs that discovery does not list.
      const extra =
        group === "rbac.authorization.k8s.io" && !subresource && resource.endsWith("roles")
          ? ["bind", "escalate"]
          : group === "" &&
              ["users", "groups", "serviceaccounts"].includes(resource) &&
              !subresource
            ? ["impersonate"]
            : [];
      for (const verb of [...r.verbs, ...extra]) {
        out.push({
          group,
          resource,
          verb,
          ...(subresource ? { subresource } : {}),
          namespace: r.namespaced ? "NS" : "",
        });
      }
    }
  }
  return out;
}

function key(a: Attributes): string {
  return `${a.group}/${a.resource}${a.subresource ? `/${a.subresource}` : ""} ${a.verb} @${a.namespace ?? ""}`;
}

/** What the rules allow, as keys, for the given namespaces ("" is cluster-wide). */
function granted(rules: PolicyRule[], namespaces: string[]): Set<string> {
  const out = new Set<string>();
  for (const rule of rules) {
    for (const group of rule.apiGroups ?? []) {
      for (const full of rule.resources ?? []) {
        const [resource = "", subresource] = full.split("/");
        for (const verb of rule.verbs) {
          for (const namespace of namespaces) {
            out.add(
              key({ group, resource, verb, namespace, ...(subresource ? { subresource } : {}) }),
            );
          }
        }
      }
    }
  }
  return out;
}

/**
 * Every (resource, verb, namespace) the user may do that a ServiceAccount with no
 * binding at all may not: what the chart's RBAC adds to the cluster's defaults.
 */
async function sweep(
  env: TestEnv,
  user: string,
  baseline: string,
  namespaces: string[],
): Promise<{ extra: Set<string>; probes: number }> {
  const attributes = (await discover(env)).flatMap((a) =>
    a.namespace === "NS" ? namespaces.map((namespace) => ({ ...a, namespace })) : [a],
  );
  const extra = new Set<string>();
  const queue = [...attributes];
  const worker = async () => {
    for (let a = queue.pop(); a; a = queue.pop()) {
      const [mine, base] = await Promise.all([allowed(env, user, a), allowed(env, baseline, a)]);
      if (mine && !base) extra.add(key(a));
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  return { extra, probes: attributes.length };
}

describe("the chart's RBAC under the ServiceAccount's own token", () => {
  let env: TestEnv;
  let namespace: string;
  let installed: Installed;
  let controller: RunningController;
  let policies: Policies;
  let user: string;
  const puts = async (destination: string) =>
    (await env.proxy.calls(PUT)).filter((c) => c.destination === destination).length;

  before(async () => {
    env = await getTestEnv();
    await installCrd(env);
    namespace = await newNamespace(env.kubeConfig, "chart-rbac");
    installed = await installRbac(env, "rbac", namespace, {});
    user = `system:serviceaccount:${namespace}:${installed.serviceAccount}`;
    await waitUntilAllowed(env, user, "");
    policies = new Policies(env.kubeConfig, namespace);
    controller = await startController(env, {
      args: [...installed.args, "--kubeconfig", installed.kubeconfig, "--aws-max-attempts", "2"],
    });
  });

  after(async () => {
    assert.equal(await controller.stop(), 0);
    await deletePolicies(env, [namespace]);
  });

  test("the chart renders a ClusterRole with the rules the controller needs, one for namespaces, one for tenancy, one for reviewing scrapes, a metrics-reader role, and no Lease Role", () => {
    const roles = installed.objects.filter((o) => o.kind === "ClusterRole" || o.kind === "Role");
    assert.deepEqual(
      roles.map((r) => [r.kind, (r as unknown as { rules: PolicyRule[] }).rules]),
      [
        ["ClusterRole", POLICY_RULES],
        ["ClusterRole", NAMESPACE_RULES],
        ["ClusterRole", TENANCY_RULES],
        ["ClusterRole", METRICS_AUTH_RULES],
        ["ClusterRole", METRICS_READER_RULES],
      ],
    );
    assert.ok(installed.args.includes("--require-binding=true"));
    assert.ok(installed.args.includes("--metrics-secure"));
  });

  test("with the account's own token the controller reviews scrapes: a metrics-reader token reads /metrics, another gets 403", async () => {
    const reader = await scraperAccount(
      env,
      namespace,
      "scraper",
      `${installed.serviceAccount}-metrics-reader`,
    );
    const other = await scraperAccount(env, namespace, "not-a-scraper");
    const ok = await scrape(controller.metricsUrl, { token: reader.token });
    assert.equal(ok.status, 200, ok.body);
    assert.match(ok.body, /^log_destination_policy_build_info\{/m);
    const refused = await scrape(controller.metricsUrl, { token: other.token });
    assert.equal(refused.status, 403, refused.body);
  });

  test("with the account's own token the controller lists and watches bindings and namespaces: a binding decides", async () => {
    const name = unique("unbound");
    // The test binding selects the other tests' namespace; this one no binding selects.
    const other = new Policies(
      env.kubeConfig,
      await newNamespace(env.kubeConfig, "chart-rbac-unbound", {}),
    );
    await other.create(name, { destinationName: name, accessPolicy: samplePolicy(name) });
    await other.waitForReason(name, "NotPermitted");
    assert.equal(await puts(name), 0);
    await deletePolicies(env, [other.namespace]);
  });

  test("a valid policy becomes Ready with one AWS call and a Normal event", async () => {
    const name = unique("valid");
    await createDestination(env, name);
    const policy = samplePolicy(name);
    await policies.create(name, { destinationName: name, accessPolicy: policy });
    const obj = await policies.waitForReason(name, "Applied", 15_000);
    assert.equal(policies.condition(obj, "Ready")?.status, "True");
    assert.equal(await storedPolicy(env, name), canonicalJson(policy));
    await sleep(1000);
    assert.equal(await puts(name), 1);
    await waitForEvent(name, "Applied", "Normal");
  });

  test("a real change makes exactly one more AWS call", async () => {
    const name = unique("change");
    await createDestination(env, name);
    await policies.create(name, { destinationName: name, accessPolicy: samplePolicy(name) });
    await policies.waitForReason(name, "Applied", 15_000);
    const before = await puts(name);
    const updated = samplePolicy(name, ["111111111111", "444444444444"]);
    await policies.patchSpec(name, { accessPolicy: updated });
    await waitFor(
      "the change applied",
      async () => (await storedPolicy(env, name)) === canonicalJson(updated),
    );
    await policies.waitForReason(name, "Applied");
    await sleep(1000);
    assert.equal((await puts(name)) - before, 1);
  });

  test("an invalid spec stalls with InvalidSpec, makes no AWS call and records a Warning event", async () => {
    const name = unique("invalid");
    await policies.create(name, {
      destinationName: name,
      accessPolicyJson: '{"Version": "2012-10-17", "Statement": [',
    });
    const obj = await policies.waitForReason(name, "InvalidSpec");
    assert.equal(policies.condition(obj, "Stalled")?.status, "True");
    assert.equal(await puts(name), 0);
    await waitForEvent(name, "InvalidSpec", "Warning");
  });

  test("deletionPolicy Revoke holds a finalizer, and deleting the object revokes the policy first", async () => {
    const name = unique("revoke");
    await sampleObject(env, policies, name, { deletionPolicy: "Revoke" });
    await policies.waitForReason(name, "Applied", 15_000);
    await waitFor("the revoke finalizer", async () =>
      ((await policies.get(name)).metadata.finalizers ?? []).includes(REVOKE_FINALIZER),
    );
    await policies.delete(name);
    await waitFor("the object is gone", async () => {
      try {
        await policies.get(name);
        return false;
      } catch {
        return true;
      }
    });
    assert.match((await storedPolicy(env, name)) ?? "", /"Effect":"Deny"/);
  });

  test("with the account's own token, grants may be listed, watched and patched (metadata and status), and not created, replaced or deleted", async () => {
    const name = unique("grant");
    const admin = env.kubeConfig.makeApiClient(CustomObjectsApi);
    await admin.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: GRANT_PLURAL,
      namespace,
      body: grantBody(name),
    });
    const asController = controllerClient(installed.kubeconfig);
    const grant = { group: GROUP, version: VERSION, plural: GRANT_PLURAL, namespace, name };
    const list = (await asController.listNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: GRANT_PLURAL,
      namespace,
    })) as { items: { metadata: { name: string } }[] };
    assert.ok(list.items.some((g) => g.metadata.name === name));
    // The grant watch under this token: the reflector listed, and then watches.
    assert.ok(controller.logs.some((l) => l.msg === "listed LogDestinationGrant objects"));
    const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
    assert.equal(
      await code(
        asController.patchNamespacedCustomObject(
          { ...grant, body: { metadata: { finalizers: [GRANT_FINALIZER] } } },
          merge,
        ),
      ),
      200,
    );
    assert.equal(
      await code(
        asController.patchNamespacedCustomObjectStatus(
          { ...grant, body: { status: { observedGeneration: 1 } } },
          merge,
        ),
      ),
      200,
    );
    // What the controller never does: create or delete grants, replace one whole, or read one alone.
    const current = (await admin.getNamespacedCustomObject(grant)) as object;
    const refused = {
      create: await code(
        asController.createNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          plural: GRANT_PLURAL,
          namespace,
          body: grantBody(unique("forged")),
        }),
      ),
      update: await code(asController.replaceNamespacedCustomObject({ ...grant, body: current })),
      "update status": await code(
        asController.replaceNamespacedCustomObjectStatus({ ...grant, body: current }),
      ),
      delete: await code(asController.deleteNamespacedCustomObject(grant)),
      "delete all": await code(
        asController.deleteCollectionNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          plural: GRANT_PLURAL,
          namespace,
        }),
      ),
      get: await code(asController.getNamespacedCustomObject(grant)),
    };
    assert.deepEqual(refused, {
      create: 403,
      update: 403,
      "update status": 403,
      delete: 403,
      "delete all": 403,
      get: 403,
    });
    await admin.patchNamespacedCustomObject(
      { ...grant, body: { metadata: { finalizers: null } } },
      merge,
    );
    await admin.deleteNamespacedCustomObject(grant);
  });

  test("with the account's own token the controller admits a grant: its finalizer, its status and the merged policy in AWS", async () => {
    const name = unique("shared");
    await createDestination(env, name);
    await policies.create(name, {
      destinationName: name,
      grants: { from: { namespaceSelector: {} } },
    });
    const api = env.kubeConfig.makeApiClient(CustomObjectsApi);
    const grant = { group: GROUP, version: VERSION, plural: GRANT_PLURAL, namespace, name };
    await api.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: GRANT_PLURAL,
      namespace,
      body: {
        ...grantBody(name),
        spec: { policyRef: { name }, principals: { accounts: ["444455556666"] } },
      },
    });
    await waitFor(
      "the grant is Applied, holding its finalizer",
      async () => {
        const g = (await api.getNamespacedCustomObject(grant)) as LogDestinationGrant;
        return (
          (g.metadata.finalizers ?? []).includes(GRANT_FINALIZER) &&
          (g.status?.conditions ?? []).some((c) => c.type === "Ready" && c.reason === "Applied")
        );
      },
      20_000,
    );
    assert.match((await storedPolicy(env, name)) ?? "", /444455556666/);
    // Deleting it removes its principals, then its finalizer, with the same token.
    await api.deleteNamespacedCustomObject(grant);
    await waitFor(
      "the grant is gone",
      () =>
        api.getNamespacedCustomObject(grant).then(
          () => false,
          () => true,
        ),
      20_000,
    );
    assert.doesNotMatch((await storedPolicy(env, name)) ?? "", /444455556666/);
  });

  test("the controller hit no permission error", () => {
    const denied = controller.logs.filter((l) =>
      /forbidden|\b403\b|could not record event|could not write/i.test(JSON.stringify(l)),
    );
    assert.deepEqual(denied, []);
  });

  test("the account can read no Secret and write nothing beyond the listed verbs", async (t) => {
    for (const verb of ["get", "list", "watch"]) {
      for (const ns of ["", namespace, "kube-system"]) {
        assert.equal(
          await allowed(env, user, { group: "", resource: "secrets", verb, namespace: ns }),
          false,
        );
      }
    }
    // A ServiceAccount with no binding at all shows what every account may do anyway.
    const core = env.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({
      namespace,
      body: { metadata: { name: "baseline" } },
    });
    const baseline = `system:serviceaccount:${namespace}:baseline`;
    const started = Date.now();
    const { extra, probes } = await sweep(env, user, baseline, [namespace, ""]);
    assert.ok(probes > 300, `${probes} resource/verb/scope combinations probed`);
    assert.deepEqual(
      [...extra].sort(),
      [
        ...new Set([
          ...granted(POLICY_RULES, [namespace, ""]),
          ...granted(NAMESPACE_RULES, [""]),
          ...granted(TENANCY_RULES, [""]),
          ...granted(METRICS_AUTH_RULES, [""]),
        ]),
      ].sort(),
    );
    t.diagnostic(`${probes} resource/verb/scope combinations probed in ${Date.now() - started} ms`);
  });

  test("the sweep finds a grant beyond the chart's, so its empty difference means something", async () => {
    const rbac = env.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    const core = env.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: "wider" } } });
    await rbac.createNamespacedRole({
      namespace,
      body: {
        metadata: { name: "wider" },
        rules: [
          { apiGroups: [""], resources: ["secrets"], verbs: ["get"] },
          { apiGroups: [GROUP], resources: [PLURAL], verbs: ["delete"] },
        ],
      },
    });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: {
        metadata: { name: "wider" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "wider" },
        subjects: [{ kind: "ServiceAccount", name: "wider", namespace }],
      },
    });
    const wider = `system:serviceaccount:${namespace}:wider`;
    await waitFor("the wider grant is seen", () =>
      allowed(env, wider, { group: "", resource: "secrets", verb: "get", namespace }),
    );
    const { extra } = await sweep(env, wider, `system:serviceaccount:${namespace}:baseline`, [
      namespace,
    ]);
    assert.deepEqual(
      [...extra].sort(),
      [`${GROUP}/${PLURAL} delete @${namespace}`, `/secrets get @${namespace}`].sort(),
    );
  });

  function grantBody(name: string) {
    return {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: GRANT_KIND,
      metadata: { name, namespace },
      spec: {
        policyRef: { namespace, name: "shared" },
        principals: { accounts: ["444455556666"] },
      },
    };
  }

  async function waitForEvent(name: string, reason: string, type: string): Promise<void> {
    const events = env.kubeConfig.makeApiClient(EventsV1Api);
    await waitFor(`a ${type} ${reason} event for ${name}`, async () => {
      const list = await events.listNamespacedEvent({ namespace });
      return list.items.some(
        (e) =>
          e.regarding?.name === name &&
          e.reason === reason &&
          e.type === type &&
          e.reportingController === "logs.gitops.dev/log-destination-policy-controller",
      );
    });
  }
});

describe("the chart's namespaced RBAC under the ServiceAccount's own token", () => {
  let env: TestEnv;
  let home: string;
  let watched: string[];
  let outside: string;
  let installed: Installed;
  let controller: RunningController;
  let user: string;

  before(async () => {
    env = await getTestEnv();
    await installCrd(env);
    home = await newNamespace(env.kubeConfig, "chart-rbac-home");
    watched = [
      await newNamespace(env.kubeConfig, "chart-rbac-a"),
      await newNamespace(env.kubeConfig, "chart-rbac-b"),
    ];
    outside = await newNamespace(env.kubeConfig, "chart-rbac-outside");
    installed = await installRbac(env, "scoped", home, { watchNamespaces: watched });
    user = `system:serviceaccount:${home}:${installed.serviceAccount}`;
    for (const ns of watched) await waitUntilAllowed(env, user, ns);
    controller = await startController(env, {
      args: [...installed.args, "--kubeconfig", installed.kubeconfig],
    });
  });

  after(async () => {
    assert.equal(await controller.stop(), 0);
    await deletePolicies(env, [...watched, outside]);
  });

  test("the controller watches only its namespaces and applies policies there", async () => {
    assert.ok(installed.args.includes(`--watch-namespace=${watched.join(",")}`));
    for (const ns of watched) {
      const policies = new Policies(env.kubeConfig, ns);
      const name = `scoped-${ns}`;
      await createDestination(env, name);
      await policies.create(name, { destinationName: name, accessPolicy: samplePolicy(name) });
      await policies.waitForReason(name, "Applied", 15_000);
    }
    // An object outside the watched namespaces is left alone.
    const name = `scoped-${outside}`;
    await new Policies(env.kubeConfig, outside).create(name, {
      destinationName: name,
      accessPolicy: samplePolicy(name),
    });
    await sleep(2000);
    const obj = (await env.kubeConfig.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace: outside,
      name,
    })) as { status?: { conditions?: unknown } };
    // The CRD defaults status to {observedGeneration: 0}; no controller wrote conditions.
    assert.equal(obj.status?.conditions, undefined);
    assert.deepEqual(
      controller.logs.filter((l) => /forbidden|\b403\b/i.test(JSON.stringify(l))),
      [],
    );
  });

  test("the account may act in the watched namespaces only, and cluster-wide only read bindings and namespaces", async () => {
    const core = env.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({
      namespace: home,
      body: { metadata: { name: "baseline" } },
    });
    const baseline = `system:serviceaccount:${home}:baseline`;
    const { extra } = await sweep(env, user, baseline, [watched[0] ?? "", outside, home, ""]);
    assert.deepEqual(
      [...extra].sort(),
      [
        ...granted(POLICY_RULES, watched.slice(0, 1)),
        ...granted(NAMESPACE_RULES, [""]),
        ...granted(TENANCY_RULES, [""]),
        ...granted(METRICS_AUTH_RULES, [""]),
      ].sort(),
    );
    // Cluster-wide, only what tenancy needs (reading bindings and namespaces'
    // labels) and the reviews of scrapes; the metrics-reader role is bound to no one.
    const sa = installed.serviceAccount;
    assert.deepEqual(
      installed.objects
        .filter((o) => o.kind === "ClusterRole" || o.kind === "ClusterRoleBinding")
        .map((o) => `${o.kind} ${o.metadata.name}`)
        .sort(),
      [
        `ClusterRole ${sa}-metrics-auth`,
        `ClusterRole ${sa}-metrics-reader`,
        `ClusterRole ${sa}-namespaces`,
        `ClusterRole ${sa}-tenancy`,
        `ClusterRoleBinding ${sa}-metrics-auth`,
        `ClusterRoleBinding ${sa}-namespaces`,
        `ClusterRoleBinding ${sa}-tenancy`,
      ],
    );
  });
});

describe("the chart's RBAC without bindings under the ServiceAccount's own token", () => {
  let env: TestEnv;
  let namespace: string;
  let installed: Installed;
  let controller: RunningController;

  before(async () => {
    env = await getTestEnv();
    await installCrd(env);
    namespace = await newNamespace(env.kubeConfig, "chart-rbac-unbound-mode");
    installed = await installRbac(env, "nobind", namespace, {
      tenancy: { requireBinding: false },
      watchNamespaces: [namespace],
    });
    const user = `system:serviceaccount:${namespace}:${installed.serviceAccount}`;
    await waitUntilAllowed(env, user, namespace);
    controller = await startController(env, {
      args: [...installed.args, "--kubeconfig", installed.kubeconfig],
    });
  });

  after(async () => {
    assert.equal(await controller.stop(), 0);
    await deletePolicies(env, [namespace]);
  });

  test("the controller still lists and watches namespaces, whose labels spec.grants.from selects, and not bindings", async () => {
    assert.ok(installed.args.includes("--require-binding=false"));
    const asController = controllerClient(installed.kubeconfig);
    const core = asToken(
      env.kubeConfig,
      await tokenFor(env, namespace, installed.serviceAccount),
    ).makeApiClient(CoreV1Api);
    assert.equal(await code(core.listNamespace({ limit: 1 })), 200);
    assert.equal(await code(core.readNamespace({ name: namespace })), 403);
    assert.equal(
      await code(
        asController.listClusterCustomObject({
          group: GROUP,
          version: VERSION,
          plural: BINDING_PLURAL,
        }),
      ),
      403,
    );
    await waitFor("the controller listed namespaces", () =>
      Promise.resolve(controller.logs.some((l) => l.msg === "listed Namespace objects")),
    );
    assert.deepEqual(
      controller.logs.filter((l) => /forbidden|\b403\b/i.test(JSON.stringify(l))),
      [],
    );
  });
});

describe("the chart's leader election under the ServiceAccount's own token", () => {
  let env: TestEnv;
  let namespace: string;
  let installed: Installed;
  let controller: RunningController;
  let user: string;
  let id: string;

  before(async () => {
    env = await getTestEnv();
    await installCrd(env);
    namespace = await newNamespace(env.kubeConfig, "chart-rbac-lease");
    installed = await installRbac(env, "lease", namespace, { replicaCount: 2 });
    user = `system:serviceaccount:${namespace}:${installed.serviceAccount}`;
    id = installed.args.find((a) => a.startsWith("--leader-election-id="))?.split("=")[1] ?? "";
    await waitUntilAllowed(env, user, "");
    const scraper = await scraperAccount(
      env,
      namespace,
      "scraper",
      `${installed.serviceAccount}-metrics-reader`,
    );
    controller = await startController(env, {
      args: [...installed.args, "--kubeconfig", installed.kubeconfig],
      metricsToken: scraper.token,
    });
  });

  after(async () => {
    assert.equal(await controller.stop(), 0);
    await deletePolicies(env, [namespace]);
  });

  test("the controller takes its Lease, leads and reconciles", async () => {
    assert.ok(installed.args.includes("--leader-elect"));
    assert.ok(installed.args.includes(`--leader-election-namespace=${namespace}`));
    const coordination = env.kubeConfig.makeApiClient(CoordinationV1Api);
    await waitFor("the Lease has a holder", async () => {
      const lease = await coordination.readNamespacedLease({ name: id, namespace });
      return Boolean(lease.spec?.holderIdentity);
    });
    await waitFor(
      "leader_election_master_status 1",
      async () => (await controller.metric("leader_election_master_status")) === 1,
    );
    const policies = new Policies(env.kubeConfig, namespace);
    const name = `leader-${process.pid}`;
    await createDestination(env, name);
    await policies.create(name, { destinationName: name, accessPolicy: samplePolicy(name) });
    await policies.waitForReason(name, "Applied", 20_000);
    assert.deepEqual(
      controller.logs.filter((l) => /forbidden|\b403\b/i.test(JSON.stringify(l))),
      [],
    );
  });

  test("the Lease Role allows creating a Lease, and reading and renewing this Lease only", async () => {
    const lease = (verb: string, ns: string, name?: string) =>
      allowed(env, user, {
        group: "coordination.k8s.io",
        resource: "leases",
        verb,
        namespace: ns,
        ...(name ? { name } : {}),
      });
    assert.deepEqual(leaseRulesOf(installed), leaseRules(id));
    assert.equal(await lease("create", namespace), true);
    assert.equal(await lease("get", namespace, id), true);
    assert.equal(await lease("update", namespace, id), true);
    assert.equal(await lease("get", namespace, "someone-elses-lease"), false);
    assert.equal(await lease("update", namespace, "someone-elses-lease"), false);
    for (const verb of ["list", "watch", "patch", "delete"]) {
      assert.equal(await lease(verb, namespace, id), false, verb);
    }
    assert.equal(await lease("create", "default"), false);
    assert.equal(await lease("get", "default", id), false);
  });
});

function leaseRulesOf(installed: Installed): PolicyRule[] {
  const role = installed.objects.find(
    (o) => o.kind === "Role" && o.metadata.name.endsWith("-leader-election"),
  );
  assert.ok(role);
  return (role as unknown as { rules: PolicyRule[] }).rules;
}

/** A client that authenticates with the ServiceAccount token of a kubeconfig the RBAC install wrote. */
function controllerClient(kubeconfig: string): CustomObjectsApi {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return kc.makeApiClient(CustomObjectsApi);
}

/** The HTTP status of a call: 200 for any success. */
async function code(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (err) {
    const status = (err as { code?: unknown }).code;
    if (typeof status === "number") return status;
    throw err;
  }
}
