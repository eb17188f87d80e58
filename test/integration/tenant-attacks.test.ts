// What a tenant can try with nothing but create, update and delete on
// LogDestinationPolicy objects in its own namespace, against the real API
// server and the emulator. Each test asserts at the fault proxy that the
// destinations the tenant was not given got no call, and that Ready=True never
// stands next to a live policy other than the desired one.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CoreV1Api, V1Namespace, V1ObjectMeta } from "@kubernetes/client-node";
import {
  API_VERSION,
  GROUP,
  KIND,
  LAST_APPLIED_ANNOTATION,
  PLURAL,
  REVOKE_FINALIZER,
  VERSION,
} from "../../src/api/names.ts";
import type { LogDestinationPolicy } from "../../src/api/v1alpha1.ts";
import { DENY_ALL_POLICY } from "../../src/controller/phases/deletion.ts";
import { canonicalJson } from "../../src/policy/index.ts";
import { type TestEnv } from "../support/env.ts";
import { callsFor, createDestination, putPolicyDirectly, storedPolicy } from "../support/aws.ts";
import { Policies, samplePolicy, waitFor } from "../support/policies.ts";
import { appliedSample, sampleObject, suite, unique } from "../support/setup.ts";

const PUT = "PutDestinationPolicy";
const DESCRIBE = "DescribeDestinations";
const ROLE_ACCOUNT = "111111111111";

describe("a tenant cannot fool the controller", () => {
  let sessionsB: Policies;
  const { env, namespaces, controller } = suite(
    ["victim", "tenant", "team"],
    [
      "--allowed-role-arns",
      `arn:aws:iam::${ROLE_ACCOUNT}:role/ldp-*`,
      "--aws-max-attempts",
      "8",
      "--min-drift-detection-interval",
      "3s",
    ],
    {
      assumesRoles: true,
      clearsFaults: true,
      // Namespaces "<n>" and "<n>-a": objects "a-x" and "x" in them once shared a session name.
      alsoWatch: async (env, [, , team]) => {
        sessionsB = new Policies(env.kubeConfig, await namespaceNamed(env, `${team?.namespace}-a`));
        return [sessionsB];
      },
    },
  );
  const [victim, tenant, sessionsA] = namespaces;

  /** Creates an object the way a tenant may: any annotation, any finalizer. */
  async function createRaw(
    policies: Policies,
    name: string,
    spec: Record<string, unknown>,
    metadata: { annotations?: Record<string, string>; finalizers?: string[] } = {},
  ): Promise<LogDestinationPolicy> {
    return (await policies.api.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace: policies.namespace,
      body: { apiVersion: API_VERSION, kind: KIND, metadata: { name, ...metadata }, spec },
    })) as LogDestinationPolicy;
  }

  /** A destination owned and applied by an object of the victim's namespace. */
  async function victimDestination(): Promise<{ name: string; policy: string }> {
    const name = unique("victim");
    await appliedSample(env, victim, name);
    return { name, policy: canonicalJson(samplePolicy(name)) };
  }

  /** The Ready=True invariant: when Ready is True, AWS holds the desired policy. */
  async function assertReadyMeansLive(policies: Policies, name: string, destination: string) {
    const obj = await policies.get(name);
    if (policies.condition(obj, "Ready")?.status !== "True") return;
    const spec = obj.spec as { accessPolicy: unknown };
    assert.equal(await storedPolicy(env, destination), canonicalJson(spec.accessPolicy));
  }

  for (const suspend of [false, true]) {
    test(`1. a forged record with the revoke finalizer revokes nothing of another team's${suspend ? " (suspended)" : ""}`, async () => {
      const target = await victimDestination();
      const own = unique("own");
      const putsBefore = (await callsFor(env, target.name, PUT)).length;
      const forged = JSON.stringify({
        destinationName: target.name,
        forceUpdate: false,
        policy: samplePolicy(target.name),
        region: env.region,
      });
      const name = unique("forger");
      await createRaw(
        tenant,
        name,
        {
          destinationName: own,
          accessPolicy: samplePolicy(own),
          deletionPolicy: "Revoke",
          suspend,
        },
        { annotations: { [LAST_APPLIED_ANNOTATION]: forged }, finalizers: [REVOKE_FINALIZER] },
      );
      // Its own destination does not exist, so no put ever replaces the forged record.
      if (!suspend) await tenant.waitForReason(name, "DestinationNotFound");
      await tenant.delete(name);
      await tenant.waitUntilGone(name);
      assert.equal(
        (await callsFor(env, target.name, PUT)).length,
        putsBefore,
        "no call to the other team's destination",
      );
      assert.equal(await storedPolicy(env, target.name), target.policy);
      await assertReadyMeansLive(victim, target.name, target.name);
    });
  }

  test("2b. an object that owns a destination again after an older one wrote it reads or puts before Ready=True", async () => {
    const destination = unique("regained");
    await createDestination(env, destination);
    const older = unique("older");
    const elsewhere = unique("elsewhere");
    await createDestination(env, elsewhere);
    // The older object is created first, pointing elsewhere, so it wins ownership later.
    await tenant.create(older, {
      destinationName: elsewhere,
      accessPolicy: samplePolicy(elsewhere, ["888888888888"]),
    });
    const created = Date.parse(String((await tenant.get(older)).metadata.creationTimestamp));
    // creationTimestamp has one-second resolution: the newer object must land in a later second.
    await waitFor("the next second", () => Promise.resolve(Date.now() - created >= 1000));
    await tenant.waitForReason(older, "Applied");
    const newer = unique("newer");
    const mine = samplePolicy(destination);
    await victim.create(newer, { destinationName: destination, accessPolicy: mine });
    await victim.waitForReason(newer, "Applied");
    // The older object is retargeted at the newer one's destination and writes it.
    await tenant.patchSpec(older, {
      destinationName: destination,
      accessPolicy: samplePolicy(destination, ["888888888888"]),
    });
    await tenant.waitForReason(older, "Applied");
    await victim.waitForReason(newer, "Conflict");
    await tenant.delete(older);
    await tenant.waitUntilGone(older);
    await victim.waitForReason(newer, "Applied");
    assert.equal(await storedPolicy(env, destination), canonicalJson(mine));
    await assertReadyMeansLive(victim, newer, destination);
  });

  test("2. a copied record does not make Ready=True while AWS holds another policy", async () => {
    const destination = unique("copied");
    await createDestination(env, destination);
    const desired = samplePolicy(destination);
    const original = unique("original");
    await tenant.create(original, { destinationName: destination, accessPolicy: desired });
    await tenant.waitForReason(original, "Applied");
    const record = (await tenant.get(original)).metadata.annotations?.[LAST_APPLIED_ANNOTATION];
    assert.ok(record);
    await tenant.delete(original);
    await tenant.waitUntilGone(original);
    // Someone changes the live policy; a new object arrives with the old record.
    await putPolicyDirectly(env, destination, samplePolicy(destination, ["999999999999"]));
    const copy = unique("copy");
    await createRaw(
      tenant,
      copy,
      { destinationName: destination, accessPolicy: desired, driftDetection: { interval: "0" } },
      { annotations: { [LAST_APPLIED_ANNOTATION]: record } },
    );
    await tenant.waitForReason(copy, "Applied");
    assert.equal(await storedPolicy(env, destination), canonicalJson(desired));
    await assertReadyMeansLive(tenant, copy, destination);
  });

  test("3. conditions with wildcards, policy variables or account prefixes are refused as public", async () => {
    const shapes: Record<string, unknown>[] = [
      { StringEquals: { "aws:PrincipalOrgID": "${aws:PrincipalOrgID}" } },
      { StringLike: { "aws:PrincipalOrgID": "o-*" } },
      { StringLike: { "aws:PrincipalOrgPaths": "o-*/*" } },
      {
        StringLike: {
          "aws:PrincipalAccount": ["0*", "1*", "2*", "3*", "4*", "5*", "6*", "7*", "8*", "9*"],
        },
      },
    ];
    for (const condition of shapes) {
      const name = unique("wide");
      await createDestination(env, name);
      const policy = {
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: "*",
            Action: "logs:PutSubscriptionFilter",
            Resource: "*",
            Condition: condition,
          },
        ],
      };
      await tenant.create(name, { destinationName: name, accessPolicy: policy });
      const obj = await tenant.waitForReason(name, "UnsafePolicy");
      assert.match(tenant.condition(obj, "Ready")?.message ?? "", /fixed values/);
      assert.equal((await callsFor(env, name)).length, 0, JSON.stringify(condition));
    }
  });

  test("4. a tiny drift interval is raised to the floor: reads of one object stay 3 s apart", async () => {
    const name = unique("rate");
    await sampleObject(env, tenant, name, {
      driftDetection: { interval: "1ms" },
    });
    // Reads of its own, or drift sweeps whose name prefix covers it: this file's
    // controller is the only one running, and moto answers a sweep in one page.
    const readsOf = async () =>
      (await env.proxy.calls(DESCRIBE))
        .filter((c) => c.destination === undefined || name.startsWith(c.destination))
        .map((c) => c.at);
    const createdAt = Date.now();
    await waitFor(
      "three drift reads",
      async () => (await readsOf()).filter((at) => at >= createdAt).length >= 3,
      30_000,
    );
    const reads = (await readsOf()).filter((at) => at >= createdAt);
    for (let i = 1; i < reads.length; i++) {
      const gap = (reads[i] ?? 0) - (reads[i - 1] ?? 0);
      // Timers may fire a little early against the proxy's clock; never by a whole second.
      assert.ok(gap >= 2_500, `reads ${i - 1} and ${i} came ${gap} ms apart`);
    }
    const obj = await tenant.waitForReason(name, "Applied");
    assert.match(tenant.condition(obj, "Ready")?.message ?? "", /below the controller's minimum/);
    await assertReadyMeansLive(tenant, name, name);
  });

  test("5. role patterns stay within one path segment, and session names differ per object", async () => {
    const nested = unique("nested");
    const assumedBefore = (await env.proxy.calls("sts.AssumeRole")).length;
    await tenant.create(nested, {
      destinationName: nested,
      accessPolicy: samplePolicy(nested),
      roleArn: `arn:aws:iam::${ROLE_ACCOUNT}:role/ldp-x/OrganizationAccountAccessRole`,
    });
    await tenant.waitForReason(nested, "RoleNotAllowed");
    assert.equal((await env.proxy.calls("sts.AssumeRole")).length, assumedBefore);
    assert.equal((await callsFor(env, nested)).length, 0);

    // Objects "x" in "<n>-a" and "a-x" in "<n>": both once became "ldp-<n>-a-x".
    const role = `arn:aws:iam::${ROLE_ACCOUNT}:role/ldp-writer`;
    const destination = unique("sessions");
    for (const [policies, name] of [
      [sessionsB, "x"],
      [sessionsA, "a-x"],
    ] as const) {
      await policies.create(name, {
        destinationName: `${destination}-${name}`,
        accessPolicy: samplePolicy(destination),
        roleArn: role,
      });
      await policies.waitForReason(name, "DestinationNotFound");
    }
    const sessions = (await env.proxy.calls("sts.AssumeRole"))
      .slice(assumedBefore)
      .map((c) => c.params ?? {});
    const names = new Set(sessions.map((p) => p.RoleSessionName));
    assert.equal(names.size, 2, JSON.stringify([...names]));
    for (const params of sessions) {
      const tags = new Map(
        [1, 2].map((i) => [params[`Tags.member.${i}.Key`], params[`Tags.member.${i}.Value`]]),
      );
      assert.ok(
        tags.get("ldpc-namespace") === sessionsA.namespace ||
          tags.get("ldpc-namespace") === sessionsB.namespace,
        JSON.stringify(params),
      );
      assert.ok(tags.get("ldpc-name") === "x" || tags.get("ldpc-name") === "a-x");
    }
  });

  test("6. a deleted object is not written once AWS recovers", async () => {
    const name = unique("deleted");
    await createDestination(env, name);
    await env.proxy.inject({
      operation: PUT,
      destination: name,
      fault: { kind: "error", name: "ServiceUnavailableException" },
      count: 3,
    });
    await tenant.create(name, { destinationName: name, accessPolicy: samplePolicy(name) });
    await waitFor("the first put failed", async () => (await callsFor(env, name, PUT)).length >= 1);
    const deletedAt = Date.now();
    await tenant.delete(name);
    await tenant.waitUntilGone(name);
    await waitFor(
      "the reconcile in flight ended",
      () =>
        Promise.resolve(
          controller.logs.some(
            (l) =>
              l.key === `${tenant.namespace}/${name}` &&
              (typeof l.reason === "string" ||
                /deletion|could not write|cut short/.test(l.msg ?? "")),
          ),
        ),
      30_000,
    );
    const landed = (await callsFor(env, name, PUT)).filter((c) => c.status === 200);
    assert.deepEqual(
      landed.map((c) => c.at - deletedAt),
      [],
      "no put landed after the deletion",
    );
    assert.equal(await storedPolicy(env, name), undefined);
  });

  test("7. a failing revoke keeps the finalizer until the deny-all lands", async () => {
    const name = unique("closed");
    await appliedSample(env, tenant, name, { deletionPolicy: "Revoke" });
    await waitFor(
      "finalizer added",
      async () => (await tenant.get(name)).metadata.finalizers?.includes(REVOKE_FINALIZER) ?? false,
    );
    await env.proxy.inject({
      operation: PUT,
      destination: name,
      fault: { kind: "error", name: "AccessDeniedException", status: 400 },
      count: Infinity,
    });
    const putsBefore = (await callsFor(env, name, PUT)).length;
    await tenant.delete(name);
    await waitFor(
      "three failed revokes",
      async () => (await callsFor(env, name, PUT)).length - putsBefore >= 3,
      30_000,
    );
    const held = await tenant.get(name);
    assert.ok(held.metadata.finalizers?.includes(REVOKE_FINALIZER), "the finalizer stays");
    assert.equal(tenant.condition(held, "Ready")?.reason, "RevokeFailed");
    assert.match(
      tenant.condition(held, "Ready")?.message ?? "",
      /finalizer stays until it succeeds/,
    );
    await env.proxy.clearFaults();
    await tenant.waitUntilGone(name, 60_000);
    assert.equal(await storedPolicy(env, name), DENY_ALL_POLICY);
  });

  test("8. oversized policies and made-up regions are refused by the API server", async () => {
    const name = unique("huge");
    const statement = (i: number) => ({
      Sid: `S${i}`,
      Effect: "Allow",
      Principal: { AWS: String(i).padStart(12, "1") },
      Action: "logs:PutSubscriptionFilter",
      Resource: "x".repeat(1000),
    });
    const huge = {
      Version: "2012-10-17",
      Statement: Array.from({ length: 500 }, (_, i) => statement(i)),
    };
    await assert.rejects(
      tenant.create(name, { destinationName: name, accessPolicy: huge }),
      /accessPolicy|Too many|must have at most|longer than/,
    );
    await assert.rejects(
      tenant.create(unique("region"), {
        destinationName: name,
        accessPolicy: samplePolicy(name),
        region: `us-${"a".repeat(200)}-1`,
      }),
      /region/,
    );
    assert.equal((await callsFor(env, name)).length, 0);
  });
});

async function namespaceNamed(env: TestEnv, name: string): Promise<string> {
  const namespace = new V1Namespace();
  namespace.metadata = new V1ObjectMeta();
  namespace.metadata.name = name;
  namespace.metadata.labels = { "ldpc.test/namespace": "true" };
  await env.kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: namespace });
  return name;
}
