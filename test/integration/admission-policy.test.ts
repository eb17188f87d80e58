// The chart's ValidatingAdmissionPolicy on the real API server: it rejects at
// apply time the YAML policies the controller would refuse as UnsafePolicy,
// and nothing the controller accepts; it keeps the controller's records (its
// annotations, and the finalizers of policies and grants) the controller's.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { getTestEnv, newNamespace, type TestEnv } from "../support/env.ts";
import { installCrd, Policies, waitFor } from "../support/policies.ts";
import { GRANT_LIMITS } from "../../src/api/grant.ts";
import { GRANT_FINALIZER, GRANT_KIND, GRANT_PLURAL, GROUP, VERSION } from "../../src/api/names.ts";
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { kubectlApply, renderChart, run, type K8sObject } from "../support/chart.ts";
import { readShapeTable } from "../support/public-access-table.ts";

const statement = (principal: unknown, condition?: unknown) => ({
  Sid: "Open",
  Effect: "Allow",
  Principal: principal,
  Action: "logs:PutSubscriptionFilter",
  Resource: "*",
  ...(condition === undefined ? {} : { Condition: condition }),
});
const policyOf = (...statements: unknown[]) => ({ Version: "2012-10-17", Statement: statements });

const refused: [string, unknown][] = [
  ['"Principal": "*" with no condition', policyOf(statement("*"))],
  [
    '"Principal": "*" with an unrelated condition',
    policyOf(statement("*", { IpAddress: { "aws:SourceIp": "10.0.0.0/8" } })),
  ],
  ['{"AWS": "*"}', policyOf(statement({ AWS: "*" }))],
  ['a principal list that includes "*"', policyOf(statement({ AWS: ["111111111111", "*"] }))],
  ["a single statement object", { Version: "2012-10-17", Statement: statement("*") }],
];

const accepted: [string, unknown][] = [
  [
    "an organization ID condition",
    policyOf(statement("*", { StringEquals: { "aws:PrincipalOrgID": "o-abc123def4" } })),
  ],
  [
    "a ForAnyValue:StringLike org-path condition",
    policyOf(
      statement("*", { "ForAnyValue:StringLike": { "aws:PrincipalOrgPaths": ["o-a/r-b/*"] } }),
    ),
  ],
  ["account IDs", policyOf(statement({ AWS: ["111111111111"] }))],
  ["a Deny for everyone", policyOf({ ...statement("*"), Effect: "Deny" })],
];

describe("the admission policy shipped in the chart", () => {
  let env: TestEnv;
  let policies: Policies;
  let objects: K8sObject[] = [];
  let controllerUser = "";
  let seq = 0;

  /** Installs the rendered policy and waits until a public policy with `probe` set is refused. */
  async function deploy(
    values: Record<string, unknown>,
    probe: Record<string, unknown> = {},
  ): Promise<void> {
    if (objects.length > 0) await remove();
    const rendered = await renderChart(env.helm, {
      watchNamespaces: [policies.namespace],
      ...values,
    });
    objects = rendered.filter((o) => o.kind.startsWith("ValidatingAdmissionPolicy"));
    assert.equal(objects.length, 6);
    const account = rendered.find((o) => o.kind === "ServiceAccount");
    controllerUser = `system:serviceaccount:${account?.metadata.namespace ?? ""}:${account?.metadata.name ?? ""}`;
    await kubectlApply(env, objects);
    // Policies compile asynchronously: wait until a known-bad object is refused.
    const deadline = Date.now() + 20_000;
    for (;;) {
      if ((await attempt(policyOf(statement("*")), probe, true)).refused) return;
      if (Date.now() > deadline) throw new Error("the admission policy never took effect");
      await sleep(200);
    }
  }

  async function remove(): Promise<void> {
    for (const o of objects) {
      await run(env.kubectl, [
        "--kubeconfig",
        env.kubeconfigPath,
        "delete",
        "--ignore-not-found",
        o.kind,
        o.metadata.name,
      ]);
    }
    objects = [];
  }

  /** Creates the object straight through the API, so admission sees exactly this metadata and spec. */
  function createObject(
    metadata: Record<string, unknown>,
    spec: Record<string, unknown>,
    dryRun: boolean,
  ): Promise<object> {
    return policies.api.createNamespacedCustomObject({
      group: "logs.gitops.dev",
      version: "v1alpha1",
      plural: "logdestinationpolicies",
      namespace: policies.namespace,
      body: {
        apiVersion: "logs.gitops.dev/v1alpha1",
        kind: "LogDestinationPolicy",
        metadata,
        spec,
      },
      ...(dryRun ? { dryRun: "All" } : {}),
    }) as Promise<object>;
  }

  /** A Role and RoleBinding giving the controller's ServiceAccount these verbs on one resource. */
  function controllerRbac(name: string, resource: string, verbs: string[]): K8sObject[] {
    return [
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name, namespace: policies.namespace },
        rules: [{ apiGroups: [GROUP], resources: [resource], verbs }],
      },
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name, namespace: policies.namespace },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
        subjects: [
          {
            kind: "ServiceAccount",
            name: controllerUser.split(":")[3] ?? "",
            namespace: controllerUser.split(":")[2] ?? "",
          },
        ],
      },
    ];
  }

  async function attempt(
    accessPolicy: unknown,
    extra: Record<string, unknown> = {},
    dryRun = false,
  ) {
    const name = `adm-${++seq}`;
    try {
      await createObject({ name }, { destinationName: name, accessPolicy, ...extra }, dryRun);
      return { refused: false, message: "" };
    } catch (err) {
      const e = err as { code?: number; body?: unknown };
      if (e.code !== 422 && e.code !== 403) throw err;
      return { refused: true, message: String(e.body) };
    }
  }

  before(async () => {
    env = await getTestEnv();
    await installCrd(env);
    policies = new Policies(env.kubeConfig, await newNamespace(env.kubeConfig, "admission"));
    await deploy({});
  });

  // The policy is cluster-scoped: never leave it behind for other test files.
  after(async () => {
    await remove();
  });

  for (const [shape, policy] of refused) {
    test(`a policy with ${shape} is rejected at admission naming the statement`, async () => {
      const result = await attempt(policy);
      assert.ok(result.refused, "rejected");
      assert.match(result.message, /Sid: Open/);
      assert.match(result.message, /spec\.allowPublicAccess: true/);
    });
  }

  for (const row of readShapeTable()) {
    test(`shape ${row.number} of docs/public-access.md (${row.why}) is ${row.admission}`, async () => {
      const result = await attempt(policyOf(row.statement));
      assert.equal(result.refused ? "refused" : "admitted", row.admission, result.message);
    });
  }

  test("a structured policy far larger than AWS takes is refused at admission, naming the field and the limit", async () => {
    // Every node within the CRD's own bounds, about 640 KB in all.
    const actions = Array.from({ length: 64 }, (_, i) => `logs:${"x".repeat(90)}${String(i)}`);
    const big = policyOf(
      ...Array.from({ length: 100 }, () => ({
        ...statement({ AWS: "111111111111" }),
        Action: actions,
      })),
    );
    const result = await attempt(big, {}, true);
    assert.ok(result.refused, "rejected");
    assert.match(result.message, /spec\.accessPolicy: .* more than the 10240 .*5120-byte limit/);
    const nested = policyOf({ ...statement({ AWS: "111111111111" }), Action: [["logs:*"]] });
    assert.match(
      (await attempt(nested, {}, true)).message,
      /nested deeper than an IAM policy allows/,
    );
  });

  test("the largest policies AWS takes pass the size bound, in either Statement form", async () => {
    // 5120 bytes of canonical JSON spent on accounts, on short strings, and on conditions.
    const accounts = Array.from({ length: 330 }, (_, i) => String(100000000000 + i));
    const shortActions = Array.from({ length: 1240 }, (_, i) => String(i % 10));
    const conditions = Object.fromEntries(
      Array.from({ length: 150 }, (_, i) => [`aws:SourceAccount${String(i)}`, ["1", "2"]]),
    );
    for (const policy of [
      policyOf(statement({ AWS: accounts })),
      { Version: "2012-10-17", Statement: { ...statement({ AWS: accounts }), Sid: "One" } },
      policyOf({ ...statement({ AWS: "111111111111" }), Action: shortActions }),
      policyOf(statement({ AWS: "111111111111" }, { StringEquals: conditions })),
    ]) {
      const result = await attempt(policy, {}, true);
      assert.equal(result.refused, false, result.message);
    }
  });

  test("only the controller's ServiceAccount may add its record annotation or revoke finalizer", async () => {
    const policy = policyOf(statement({ AWS: "111111111111" }));
    const create = (metadata: Record<string, unknown>) =>
      createObject(
        { name: `rec-${++seq}`, ...metadata },
        { destinationName: "d", accessPolicy: policy },
        true,
      ).then(
        () => "",
        (err: unknown) => String((err as { body?: unknown }).body),
      );
    const forged = { annotations: { "logs.gitops.dev/last-applied-policy": "{}" } };
    assert.match(await create(forged), /written only by the log-destination-policy-controller/);
    assert.match(
      await create({ finalizers: ["logs.gitops.dev/revoke-policy"] }),
      /added only by the log-destination-policy-controller/,
    );
    assert.equal(await create({ annotations: { "team.example.com/owner": "a" } }), "");

    // The controller itself, impersonated with just enough RBAC for the request.
    await kubectlApply(env, controllerRbac("records-test", "logdestinationpolicies", ["create"]));
    const manifest = JSON.stringify({
      apiVersion: "logs.gitops.dev/v1alpha1",
      kind: "LogDestinationPolicy",
      metadata: { name: `rec-${++seq}`, namespace: policies.namespace, ...forged },
      spec: { destinationName: "d", accessPolicy: policy },
    });
    const dir = await mkdtemp(join(tmpdir(), "ldpc-records-"));
    try {
      await writeFile(join(dir, "object.json"), manifest);
      const out = await run(env.kubectl, [
        "--kubeconfig",
        env.kubeconfigPath,
        `--as=${controllerUser}`,
        "create",
        "--dry-run=server",
        "-f",
        join(dir, "object.json"),
      ]);
      assert.match(out.stdout, /created/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("only the controller's ServiceAccount may add the remove-grant finalizer to a grant, and anyone who may edit the grant may remove it", async () => {
    const name = `grant-${++seq}`;
    const grant = {
      group: GROUP,
      version: VERSION,
      plural: GRANT_PLURAL,
      namespace: policies.namespace,
      name,
    };
    const body = (metadata: Record<string, unknown>) => ({
      apiVersion: `${GROUP}/${VERSION}`,
      kind: GRANT_KIND,
      metadata: { name, ...metadata },
      spec: { policyRef: { name: "shared" }, principals: { accounts: ["444455556666"] } },
    });
    const refusal = (call: Promise<unknown>) =>
      call.then(
        () => "",
        (err: unknown) => String((err as { body?: unknown }).body),
      );
    const create = (metadata: Record<string, unknown>) =>
      refusal(
        policies.api.createNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          plural: GRANT_PLURAL,
          namespace: policies.namespace,
          body: body(metadata),
          dryRun: "All",
        }),
      );
    assert.match(
      await create({ finalizers: [GRANT_FINALIZER] }),
      /metadata\.finalizers: logs\.gitops\.dev\/remove-grant is added only by the log-destination-policy-controller \(it adds it once the grant is admitted\)/,
    );
    assert.match(
      await create({ annotations: { "logs.gitops.dev/last-applied-policy": "{}" } }),
      /written only by the log-destination-policy-controller/,
    );
    // The policy kind's finalizer means nothing on a grant, and is not the controller's there.
    assert.equal(await create({ finalizers: ["logs.gitops.dev/revoke-policy"] }), "");
    await policies.api.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: GRANT_PLURAL,
      namespace: policies.namespace,
      body: body({}),
    });
    const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
    const addFinalizer = { metadata: { finalizers: [GRANT_FINALIZER] } };
    assert.match(
      await refusal(
        policies.api.patchNamespacedCustomObject({ ...grant, body: addFinalizer }, merge),
      ),
      /remove-grant is added only by the log-destination-policy-controller/,
    );

    // The controller, impersonated with just enough RBAC for kubectl patch (which reads first).
    await kubectlApply(env, controllerRbac("grant-records-test", GRANT_PLURAL, ["get", "patch"]));
    const patch = JSON.stringify(addFinalizer);
    await waitFor("the impersonated controller adds the finalizer", async () => {
      const out = await run(env.kubectl, [
        "--kubeconfig",
        env.kubeconfigPath,
        `--as=${controllerUser}`,
        "patch",
        "--namespace",
        policies.namespace,
        `${GRANT_PLURAL}.${GROUP}`,
        name,
        "--type=merge",
        `--patch=${patch}`,
      ]).then(
        () => true,
        () => false,
      );
      return out;
    });
    const held = (await policies.api.getNamespacedCustomObject(grant)) as {
      metadata: { finalizers?: string[] };
    };
    assert.deepEqual(held.metadata.finalizers, [GRANT_FINALIZER]);
    // Removing it is allowed: the document is rebuilt from the grants that exist.
    assert.equal(
      await refusal(
        policies.api.patchNamespacedCustomObject(
          { ...grant, body: { metadata: { finalizers: null } } },
          merge,
        ),
      ),
      "",
    );
    await policies.api.deleteNamespacedCustomObject(grant);
  });

  test("a grant's principals are checked at admission by the CRD generated from GRANT_LIMITS, naming the field and the limit", async () => {
    const create = (principals: Record<string, unknown>) =>
      policies.api
        .createNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          plural: GRANT_PLURAL,
          namespace: policies.namespace,
          body: {
            apiVersion: `${GROUP}/${VERSION}`,
            kind: GRANT_KIND,
            metadata: { name: `spec-${++seq}` },
            spec: { policyRef: { name: "shared" }, principals },
          },
          dryRun: "All",
        })
        .then(
          () => "",
          (err: unknown) => String((err as { body?: unknown }).body),
        );
    const accounts = (n: number) => Array.from({ length: n }, (_, i) => String(100000000000 + i));
    const orgs = (n: number) =>
      Array.from({ length: n }, (_, i) => `o-${String(i).padStart(10, "a")}`);
    const paths = (n: number) => orgs(n).map((o) => `${o}/r-ab12/`);
    assert.equal(
      await create({
        accounts: accounts(GRANT_LIMITS.accounts),
        organizationIds: orgs(GRANT_LIMITS.organizationIds),
        organizationPaths: paths(GRANT_LIMITS.organizationPaths),
      }),
      "",
    );
    assert.match(
      await create({ accounts: accounts(GRANT_LIMITS.accounts + 1) }),
      new RegExp(
        `spec\\.principals\\.accounts: Too many: ${String(GRANT_LIMITS.accounts + 1)}: must have at most ${String(GRANT_LIMITS.accounts)} items`,
      ),
    );
    assert.match(
      await create({ organizationIds: orgs(GRANT_LIMITS.organizationIds + 1) }),
      new RegExp(
        `spec\\.principals\\.organizationIds: Too many: .*at most ${String(GRANT_LIMITS.organizationIds)} items`,
      ),
    );
    assert.match(
      await create({ organizationPaths: paths(GRANT_LIMITS.organizationPaths + 1) }),
      new RegExp(
        `spec\\.principals\\.organizationPaths: Too many: .*at most ${String(GRANT_LIMITS.organizationPaths)} items`,
      ),
    );
    assert.match(
      await create({ accounts: ["1234"] }),
      /spec\.principals\.accounts\[0\]: Invalid value/,
    );
    assert.match(
      await create({ organizationPaths: ["*/r-ab12/"] }),
      /spec\.principals\.organizationPaths\[0\]: Invalid value/,
    );
    assert.match(
      await create({ accounts: ["444455556666", "444455556666"] }),
      /spec\.principals\.accounts\[1\]: Duplicate value/,
    );
    assert.match(
      await create({}),
      /spec\.principals: Required value: name at least one account, organization ID or organization path/,
    );
  });

  for (const [shape, policy] of accepted) {
    test(`a policy with ${shape} is admitted`, async () => {
      assert.equal((await attempt(policy)).refused, false);
    });
  }

  test("spec.allowPublicAccess admits a public policy", async () => {
    assert.equal(
      (await attempt(policyOf(statement("*")), { allowPublicAccess: true })).refused,
      false,
    );
  });

  test("the JSON-string form is left to the controller", async () => {
    const result = await attempt(undefined, {
      accessPolicyJson: JSON.stringify(policyOf(statement("*"))),
    });
    assert.equal(result.refused, false);
  });

  test("with the override forbidden, spec.allowPublicAccess no longer admits it", async () => {
    await deploy({ controller: { denyPublicAccessOverride: true } }, { allowPublicAccess: true });
    const result = await attempt(policyOf(statement("*")), { allowPublicAccess: true });
    assert.ok(result.refused);
    assert.match(result.message, /does not allow spec\.allowPublicAccess/);
  });
});
