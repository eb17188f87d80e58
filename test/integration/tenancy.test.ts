// Tenancy against the real API server and the emulator: cluster-scoped
// LogDestinationPolicyBindings decide which namespaces may manage which
// destinations, regions, roles and principals. Every refusal is checked at the
// fault proxy: a refused object makes no AWS call of any kind, and its message
// names what it asked for, never what AWS holds.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import type { LogDestinationPolicyBinding } from "../../src/api/binding.ts";
import { BINDING_PLURAL, GROUP, VERSION } from "../../src/api/names.ts";
import { canonicalJson } from "../../src/policy/index.ts";
import { getTestEnv, newNamespace, type TestEnv } from "../support/env.ts";
import { startController, type RunningController } from "../support/controller.ts";
import { callsFor, createDestination, putPolicyDirectly, storedPolicy } from "../support/aws.ts";
import {
  applyBinding,
  deleteBinding,
  installCrd,
  Policies,
  samplePolicy,
  waitFor,
} from "../support/policies.ts";
import { unique } from "../support/setup.ts";

const TEAM_LABEL = "tenancy.ldpc.test/team";
const NOT_PERMITTED = "NotPermitted";

describe("tenancy through LogDestinationPolicyBindings", () => {
  let env: TestEnv;
  let controller: RunningController;
  /** Namespaces by role: payments and audit are bound, stranger is not. */
  let payments: Policies;
  let audit: Policies;
  let stranger: Policies;
  const run = `${process.pid}`;
  const team = (name: string) => `${name}-${run}`;
  const bindingName = (name: string) => `tenancy-${name}-${run}`;
  const dest = (name: string) => `${name}-${run}`;
  const calls = async (destination: string) => (await callsFor(env, destination)).length;
  const reevaluations = () =>
    controller.metric("log_destination_policy_tenancy_reevaluations_total");

  before(async () => {
    env = await getTestEnv();
    await installCrd(env);
    const labelled = (t: string) => newNamespace(env.kubeConfig, t, { [TEAM_LABEL]: team(t) });
    payments = new Policies(env.kubeConfig, await labelled("payments"));
    audit = new Policies(env.kubeConfig, await labelled("audit"));
    stranger = new Policies(env.kubeConfig, await labelled("stranger"));
    await applyBinding(env.kubeConfig, bindingName("payments"), {
      namespaceSelector: { matchLabels: { [TEAM_LABEL]: team("payments") } },
      destinations: [`${dest("payments")}-*`],
      regions: [env.region],
      principals: { accounts: ["111111111111", "444444444444"] },
    });
    await applyBinding(env.kubeConfig, bindingName("audit"), {
      namespaceSelector: {
        matchExpressions: [{ key: TEAM_LABEL, operator: "In", values: [team("audit")] }],
      },
      destinations: [`${dest("audit")}-*`],
    });
    controller = await startController(env, {
      args: [
        "--watch-namespace",
        [payments.namespace, audit.namespace, stranger.namespace].join(","),
        "--allowed-role-arns",
        "arn:aws:iam::*:role/ldp-*",
      ],
    });
  });

  after(async () => {
    assert.equal(await controller.stop(), 0);
    for (const name of ["payments", "audit", "moving", "invalid"]) {
      await deleteBinding(env.kubeConfig, bindingName(name)).catch(() => undefined);
    }
  });

  /** Creates the object, waits for NotPermitted, and returns the message; asserts no AWS call. */
  async function refused(
    policies: Policies,
    name: string,
    spec: Record<string, unknown>,
  ): Promise<string> {
    const destination = String(spec.destinationName);
    await policies.create(name, spec);
    const obj = await policies.waitForReason(name, NOT_PERMITTED);
    assert.equal(policies.condition(obj, "Ready")?.status, "False");
    assert.equal(policies.condition(obj, "Stalled")?.status, "True");
    assert.equal(await calls(destination), 0, `no AWS call of any kind for ${destination}`);
    const message = policies.condition(obj, "Ready")?.message ?? "";
    assert.match(message, /No AWS call was made/);
    return message;
  }

  test("each binding reports whether the controller enforces it", async () => {
    const api = env.kubeConfig.makeApiClient(CustomObjectsApi);
    const read = (name: string) =>
      api.getClusterCustomObject({
        group: GROUP,
        version: VERSION,
        plural: BINDING_PLURAL,
        name,
      }) as Promise<LogDestinationPolicyBinding>;
    const ready = (b: LogDestinationPolicyBinding) =>
      b.status?.conditions?.find((c) => c.type === "Ready");
    await waitFor("the payments binding is Ready", async () => {
      const b = await read(bindingName("payments"));
      return (
        ready(b)?.reason === "Accepted" && b.status?.observedGeneration === b.metadata.generation
      );
    });
    // The API server accepts more labels than the controller does: refused, and said so.
    const labels = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`l${i}`, "x"]));
    await applyBinding(env.kubeConfig, bindingName("invalid"), {
      namespaceSelector: { matchLabels: labels },
      destinations: ["*"],
    });
    await waitFor("the invalid binding is refused", async () => {
      const b = await read(bindingName("invalid"));
      return ready(b)?.status === "False" && ready(b)?.reason === "InvalidSpec";
    });
    const b = await read(bindingName("invalid"));
    assert.match(
      ready(b)?.message ?? "",
      /spec\.namespaceSelector\.matchLabels: at most 64 labels/,
    );
    assert.equal(b.status?.conditions?.find((c) => c.type === "Stalled")?.status, "True");
  });

  test("an object the binding permits is applied", async () => {
    const name = unique(`${dest("payments")}-ok`);
    await createDestination(env, name);
    await payments.create("ok", { destinationName: name, accessPolicy: samplePolicy(name) });
    await payments.waitForReason("ok", "Applied");
    assert.equal(await storedPolicy(env, name), canonicalJson(samplePolicy(name)));
  });

  test("a namespace that no binding selects may manage nothing, not even a destination nobody claims", async () => {
    const name = unique("central-security-logs");
    await createDestination(env, name);
    const message = await refused(stranger, "grab", {
      destinationName: name,
      accessPolicy: samplePolicy(name, ["999999999999"]),
    });
    assert.match(
      message,
      new RegExp(`No LogDestinationPolicyBinding selects namespace ${stranger.namespace}`),
    );
    assert.equal(await storedPolicy(env, name), undefined, "the destination is untouched");
  });

  test("a destination outside the binding's globs is refused, naming the field and the binding", async () => {
    const name = unique("central-security-logs");
    await createDestination(env, name);
    const message = await refused(payments, "outside-globs", {
      destinationName: name,
      accessPolicy: samplePolicy(name),
    });
    assert.match(message, /^spec\.destinationName: ".*" is not permitted/);
    assert.match(message, new RegExp(`is not permitted by binding ${bindingName("payments")} \\(`));
    assert.equal(await storedPolicy(env, name), undefined);
  });

  test("a region outside the binding is refused", async () => {
    const name = unique(`${dest("payments")}-region`);
    const message = await refused(payments, "other-region", {
      destinationName: name,
      region: "eu-west-2",
      accessPolicy: samplePolicy(name),
    });
    assert.match(message, /^spec\.region: "eu-west-2" is not permitted/);
  });

  test("a role the binding does not list is refused, even when --allowed-role-arns allows it", async () => {
    const name = unique(`${dest("payments")}-role`);
    const assumed = (await env.proxy.calls("sts.AssumeRole")).length;
    const message = await refused(payments, "with-role", {
      destinationName: name,
      roleArn: "arn:aws:iam::222222222222:role/ldp-payments",
      accessPolicy: samplePolicy(name),
    });
    assert.match(message, /^spec\.roleArn: "arn:aws:iam::222222222222:role\/ldp-payments"/);
    assert.equal((await env.proxy.calls("sts.AssumeRole")).length, assumed, "no AssumeRole");
  });

  test("an account outside the binding's principals is refused", async () => {
    const name = unique(`${dest("payments")}-account`);
    const message = await refused(payments, "stranger-account", {
      destinationName: name,
      accessPolicy: samplePolicy(name, ["111111111111", "999999999999"]),
    });
    assert.match(
      message,
      /^spec\.accessPolicy\.Statement\[0\]: account "999999999999" is not permitted/,
    );
  });

  test("spec.allowPublicAccess is not self-service: a binding must allow it", async () => {
    const name = unique(`${dest("audit")}-public`);
    const message = await refused(audit, "public", {
      destinationName: name,
      allowPublicAccess: true,
      accessPolicy: {
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Principal: "*", Action: "logs:PutSubscriptionFilter", Resource: "*" },
        ],
      },
    });
    assert.match(message, /access for every AWS account is not permitted/);
  });

  test("Observe on a destination outside the binding reads nothing and shows nothing of the live policy", async () => {
    const name = unique("central-security-logs");
    await createDestination(env, name);
    await putPolicyDirectly(env, name, samplePolicy(name, ["777777777777"]));
    const message = await refused(payments, "peek", {
      destinationName: name,
      mode: "Observe",
      accessPolicy: samplePolicy(name),
    });
    assert.doesNotMatch(message, /777777777777/);
    assert.equal((await callsFor(env, name, "DescribeDestinations")).length, 0);
  });

  test("an older object retargeted to a destination outside its binding neither takes nor blocks it", async () => {
    // audit's object is the older one; payments' object owns the target afterwards.
    const old = unique(`${dest("audit")}-old`);
    await createDestination(env, old);
    await audit.create("old", { destinationName: old, accessPolicy: samplePolicy(old) });
    await audit.waitForReason("old", "Applied");
    const target = unique(`${dest("payments")}-owned`);
    await createDestination(env, target);
    const owned = samplePolicy(target, ["444444444444"]);
    await payments.create("owner", { destinationName: target, accessPolicy: owned });
    await payments.waitForReason("owner", "Applied");
    const before = await calls(target);

    await audit.patchSpec("old", {
      destinationName: target,
      accessPolicy: samplePolicy(target, ["999999999999"]),
    });
    await audit.waitForReason("old", NOT_PERMITTED);
    assert.equal(await calls(target), before, "no call for the target from the refused object");
    assert.equal(await storedPolicy(env, target), canonicalJson(owned));
    const owner = await payments.get("owner");
    assert.equal(payments.condition(owner, "Ready")?.reason, "Applied", "no Conflict");
  });

  test("deleting a binding at run time refuses its objects without an AWS call; the policy stays", async () => {
    const labels = { [TEAM_LABEL]: team("moving") };
    const moving = new Policies(
      env.kubeConfig,
      await newNamespace(env.kubeConfig, "moving", labels),
    );
    // A controller of its own, since it watches only the namespaces it was started with.
    const own = await startController(env, { args: ["--watch-namespace", moving.namespace] });
    try {
      await applyBinding(env.kubeConfig, bindingName("moving"), {
        namespaceSelector: { matchLabels: labels },
        destinations: [`${dest("moving")}-*`],
      });
      const names = [unique(`${dest("moving")}-a`), unique(`${dest("moving")}-b`)];
      for (const name of names) {
        await createDestination(env, name);
        await moving.create(name, {
          destinationName: name,
          accessPolicy: samplePolicy(name),
          deletionPolicy: "Revoke",
        });
        await moving.waitForReason(name, "Applied");
      }
      const callsBefore = await Promise.all(names.map(calls));
      const counted = await own.metric("log_destination_policy_tenancy_reevaluations_total");

      await deleteBinding(env.kubeConfig, bindingName("moving"));
      for (const name of names) {
        const obj = await moving.waitForReason(name, NOT_PERMITTED);
        assert.match(
          moving.condition(obj, "Ready")?.message ?? "",
          /a policy applied earlier stays in AWS as it is/,
        );
        assert.equal(await storedPolicy(env, name), canonicalJson(samplePolicy(name)));
      }
      assert.deepEqual(await Promise.all(names.map(calls)), callsBefore);
      // Exactly the objects of the namespace the binding selected were decided again.
      assert.equal(
        (await own.metric("log_destination_policy_tenancy_reevaluations_total")) - counted,
        names.length,
      );

      // Deleting a refused object with deletionPolicy Revoke revokes nothing.
      const [first] = names;
      assert.ok(first);
      await moving.delete(first);
      await moving.waitUntilGone(first);
      assert.equal(await storedPolicy(env, first), canonicalJson(samplePolicy(first)));
      assert.equal(await calls(first), callsBefore[0]);
    } finally {
      assert.equal(await own.stop(), 0);
    }
  });

  test("relabelling a namespace re-evaluates its objects: they gain and lose permission", async () => {
    const name = unique(`${dest("audit")}-relabel`);
    await createDestination(env, name);
    const counted = await reevaluations();
    await stranger.create("relabel", { destinationName: name, accessPolicy: samplePolicy(name) });
    await stranger.waitForReason("relabel", NOT_PERMITTED);
    const objects = (await stranger.list()).length;

    const core = env.kubeConfig.makeApiClient(CoreV1Api);
    const relabel = (value: string) =>
      core.patchNamespace(
        { name: stranger.namespace, body: { metadata: { labels: { [TEAM_LABEL]: value } } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    await relabel(team("audit"));
    await stranger.waitForReason("relabel", "Applied");
    assert.equal(await storedPolicy(env, name), canonicalJson(samplePolicy(name)));
    await waitFor(
      "the namespace's objects re-evaluated",
      async () => (await reevaluations()) - counted >= objects,
    );
    assert.equal((await reevaluations()) - counted, objects, "only that namespace's objects");

    const puts = await calls(name);
    await relabel(team("stranger"));
    await stranger.waitForReason("relabel", NOT_PERMITTED);
    assert.equal(await calls(name), puts);
  });
});
