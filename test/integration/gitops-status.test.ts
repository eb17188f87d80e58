// What Flux, Helm's --wait and Argo CD read from the controller's conditions,
// checked with the real kstatus library and the Lua VM Argo CD embeds: first over
// an object in every reason of the outcome table, then over objects the
// controller reconciled into the reasons that used to read InProgress forever.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { EventsV1Api } from "@kubernetes/client-node";
import { statusCases } from "../../scripts/argocd.ts";
import { GRANT_KIND, KIND } from "../../src/api/names.ts";
import type { LogDestinationPolicy } from "../../src/api/v1alpha1.ts";
import { OUTCOMES, type Reason } from "../../src/controller/outcomes.ts";
import { canonicalJson, utf8ByteLength } from "../../src/policy/index.ts";
import { newNamespace } from "../support/env.ts";
import { argocdHealthOf, healthTests, kstatusOf } from "../support/gitops.ts";
import { createDestination, putPolicyDirectly } from "../support/aws.ts";
import { Policies, samplePolicy, waitFor } from "../support/policies.ts";
import { appliedSample, sampleObject, suite, unique } from "../support/setup.ts";

describe("every reason of the outcome table, on a policy and on a grant", () => {
  test("reads in the kstatus library as the table declares", async () => {
    const cases = statusCases();
    const reasons = new Set(Object.keys(OUTCOMES));
    // Both kinds, since a grant reports its policy's reasons as well as its own.
    for (const kind of [KIND, GRANT_KIND]) {
      const covered = cases
        .filter((c) => c.object.kind === kind)
        .flatMap((c) => {
          const conditions = (c.object.status as LogDestinationPolicy["status"])?.conditions;
          return conditions?.map((x) => x.reason) ?? [];
        });
      assert.deepEqual(new Set(covered.filter((r) => reasons.has(r))), reasons, kind);
    }
    const results = await kstatusOf(cases.map((c) => c.object));
    assert.deepEqual(
      results.map((r, i) => [cases[i]?.name, r.error ?? r.status]),
      cases.map((c) => [c.name, c.kstatus]),
    );
  });

  test("passes the Argo CD health check's fixtures, which cover every reason", async () => {
    const tests = await healthTests();
    const inputs = new Set(tests.map((t) => t.inputPath));
    for (const c of statusCases()) assert.ok(inputs.has(`testdata/${c.name}.yaml`), c.name);
    const results = await argocdHealthOf(tests.map((t) => t.object));
    assert.deepEqual(
      results.map((r, i) => [tests[i]?.inputPath, r.error ?? r.status, r.message]),
      tests.map((t) => [t.inputPath, t.healthStatus.status, t.healthStatus.message]),
    );
  });
});

describe("objects the controller reconciled", () => {
  const { env, policies, controller } = suite(["gitops"], ["--min-drift-detection-interval", "1s"]);

  /** Asserts what both readers make of the object as the API server returns it now. */
  async function assertReadAs(name: string, reason: Reason): Promise<void> {
    const object = await policies.get(name);
    const [kstatus] = await kstatusOf([object]);
    const [health] = await argocdHealthOf([object]);
    const rule = OUTCOMES[reason];
    assert.equal(kstatus?.status, rule.kstatus, `${reason}: kstatus ${JSON.stringify(kstatus)}`);
    assert.equal(health?.status, rule.argocd, `${reason}: Argo CD ${JSON.stringify(health)}`);
  }

  test("a lost conflict, Observe with a difference, reported drift and a suspended object settle", async () => {
    const shared = unique("shared");
    await createDestination(env, shared);
    const owner = await policies.create(`${shared}-owner`, {
      destinationName: shared,
      accessPolicy: samplePolicy(shared),
    });
    // creationTimestamp has one-second resolution; the newer object must be newer.
    const created = Date.parse(String(owner.metadata.creationTimestamp));
    await waitFor("a later second", () => Promise.resolve(Date.now() >= created + 1000));
    await policies.create(`${shared}-late`, {
      destinationName: shared,
      accessPolicy: samplePolicy(shared, ["444444444444"]),
    });

    const observed = unique("observe");
    await createDestination(env, observed);
    await putPolicyDirectly(env, observed, samplePolicy(observed, ["999999999999"]));
    await policies.create(observed, {
      destinationName: observed,
      accessPolicy: samplePolicy(observed),
      mode: "Observe",
    });

    const drifted = unique("drifted");
    await sampleObject(env, policies, drifted, {
      driftPolicy: "Report",
      driftDetection: { interval: "1s" },
    });
    await policies.waitForReason(drifted, "Applied");
    await assertReadAs(drifted, "Applied");
    await putPolicyDirectly(env, drifted, samplePolicy(drifted, ["999999999999"]));

    const suspended = unique("suspended");
    await policies.create(suspended, {
      destinationName: suspended,
      accessPolicy: samplePolicy(suspended),
      suspend: true,
    });

    const missing = unique("missing");
    await policies.create(missing, {
      destinationName: missing,
      accessPolicy: samplePolicy(missing),
    });

    const expected: [string, Reason][] = [
      [`${shared}-owner`, "Applied"],
      [`${shared}-late`, "Conflict"],
      [observed, "OutOfSync"],
      [drifted, "Drifted"],
      [suspended, "Suspended"],
      [missing, "DestinationNotFound"],
    ];
    for (const [name, reason] of expected) {
      await policies.waitForReason(name, reason);
      await assertReadAs(name, reason);
    }
  });

  test("a new object reads as in progress until the controller has seen it", async () => {
    const elsewhere = new Policies(env.kubeConfig, await newNamespace(env.kubeConfig, "unwatched"));
    await elsewhere.create("new", { destinationName: "new", accessPolicy: samplePolicy("new") });
    const object = await elsewhere.get("new");
    assert.deepEqual(object.status, { observedGeneration: 0 });
    assert.equal((await kstatusOf([object]))[0]?.status, "InProgress");
    assert.equal((await argocdHealthOf([object]))[0]?.status, "Progressing");
  });

  test("kubectl explain shows the policy's structure, and admission refuses a wrong Effect in either Statement form", async () => {
    // The API server publishes a new CRD's OpenAPI a moment after it is established.
    let explained = "";
    await waitFor("kubectl explain to know the kind", async () => {
      explained = await kubectl("explain", "ldp.spec.accessPolicy.Statement");
      return true;
    });
    for (const field of ["Sid", "Effect", "Principal", "Action", "Resource", "Condition"]) {
      assert.match(explained, new RegExp(`^\\s+${field}\\s+<`, "m"), field);
    }
    assert.match(await kubectl("explain", "ldp.spec.accessPolicy"), /Version\s+<string>/);
    const statement = {
      Effect: "Permit",
      Principal: { AWS: "111111111111" },
      Action: "logs:PutSubscriptionFilter",
      Resource: "*",
    };
    for (const [form, Statement, path] of [
      [
        "list",
        [statement],
        /spec\.accessPolicy\.Statement\[0\]\.Effect: Unsupported value: "Permit"/,
      ],
      ["object", statement, /spec\.accessPolicy\.Statement\.Effect: Unsupported value: "Permit"/],
    ] as const) {
      await assert.rejects(
        policies.create(unique("permit"), {
          destinationName: "x",
          accessPolicy: { Version: "2012-10-17", Statement },
        }),
        (err: { body?: unknown }) =>
          path.test((JSON.parse(String(err.body)) as { message: string }).message),
        form,
      );
    }
    // Every shape IAM allows still passes: strings or lists, maps of conditions, "*".
    const name = unique("shapes");
    await policies.create(name, {
      destinationName: name,
      accessPolicy: {
        Version: "2008-10-17",
        Id: "shapes",
        Statement: {
          Sid: "Everything",
          Effect: "Deny",
          NotPrincipal: "*",
          NotAction: ["logs:PutSubscriptionFilter", "logs:DeleteSubscriptionFilter"],
          NotResource: "*",
          Condition: {
            Bool: { "aws:SecureTransport": false },
            NumericLessThan: { "s3:max-keys": 10 },
          },
        },
      },
    });
  });

  test("a suspended object records every new generation, so no Ready=True outlives a spec change", async () => {
    const name = unique("resumed");
    await appliedSample(env, policies, name);
    await policies.patchSpec(name, { suspend: true });
    const first = await policies.waitForReason(name, "Suspended");
    assert.equal(policies.condition(first, "Ready")?.status, "False");
    await policies.patchSpec(name, { accessPolicy: samplePolicy(name, ["555555555555"]) });
    const second = await policies.waitForReason(name, "Suspended");
    assert.ok((second.metadata.generation ?? 0) > (first.metadata.generation ?? 0));
    await assertReadAs(name, "Suspended");
    await policies.patchSpec(name, { suspend: false });
    await policies.waitForReason(name, "Applied");
    await assertReadAs(name, "Applied");
  });

  const kubectl = async (...args: string[]) =>
    (
      await promisify(execFile)(env.kubectl, [
        "--kubeconfig",
        env.kubeconfigPath,
        "--namespace",
        policies.namespace,
        ...args,
      ])
    ).stdout;

  test("status and kubectl show the effective region, the account and the size; a policy near the limit warns", async () => {
    const name = unique("live");
    await createDestination(env, name);
    // About 85 % of the limit: a team that lists its senders one by one.
    const accounts = Array.from({ length: 300 }, (_, i) => String(100000000000 + i));
    const policy = samplePolicy(name, accounts);
    const bytes = utf8ByteLength(canonicalJson(policy));
    const near = await controller.metric("log_destination_policy_policies_near_size_limit");
    await policies.create(name, {
      destinationName: name,
      accessPolicy: policy,
      driftDetection: { interval: "1s" },
    });
    await policies.waitForReason(name, "Applied");
    // The first drift check reads the destination's ARN.
    await waitFor("the destination ARN in status", async () => {
      return (await policies.get(name)).status?.destinationArn !== undefined;
    });
    const status = (await policies.get(name)).status ?? {};
    assert.equal(status.region, env.region, "no spec.region: the controller's default");
    assert.equal(status.policySizeBytes, bytes);
    assert.deepEqual(status.grantedAccounts, accounts);
    assert.equal(status.grantedOrganizations, undefined);
    const arn = new RegExp(`^arn:aws:logs:${env.region}:(\\d{12}):destination:${name}$`).exec(
      status.destinationArn ?? "",
    );
    assert.ok(arn, status.destinationArn);
    assert.equal(status.accountId, arn[1]);

    const wide = await kubectl("get", "ldp", name, "-o", "wide", "--no-headers");
    for (const column of [name, env.region, "Enforce", "True", "Applied", String(bytes)]) {
      assert.ok(wide.split(/\s+/).includes(column), `${column} in: ${wide}`);
    }
    assert.match(wide, /is applied to destination/, "-o wide shows the message");
    assert.match(await kubectl("get", "aws", "-o", "name"), new RegExp(`/${name}$`, "m"));

    // The gauge follows the status write of the same reconcile.
    await waitFor(
      "the object counted near the size limit",
      async () =>
        (await controller.metric("log_destination_policy_policies_near_size_limit")) === near + 1,
    );
    const events = env.kubeConfig.makeApiClient(EventsV1Api);
    await waitFor("a PolicyNearSizeLimit warning", async () => {
      const list = await events.listNamespacedEvent({ namespace: policies.namespace });
      return list.items.some(
        (e) =>
          e.regarding?.name === name &&
          e.reason === "PolicyNearSizeLimit" &&
          e.type === "Warning" &&
          (e.note ?? "").includes("aws:PrincipalOrgID"),
      );
    });
    await policies.delete(name);
    await waitFor("the object forgotten by the size gauge", async () => {
      return (await controller.metric("log_destination_policy_policies_near_size_limit")) === near;
    });
  });

  test("a policy just applied names its destination's ARN and account with no read of the destination", async () => {
    const name = unique("located");
    await appliedSample(env, policies, name, { driftDetection: { interval: "0" } });
    await waitFor("the destination ARN in status", async () => {
      return (await policies.get(name)).status?.destinationArn !== undefined;
    });
    const status = (await policies.get(name)).status ?? {};
    const arn = new RegExp(`^arn:aws:logs:${env.region}:(\\d{12}):destination:${name}$`).exec(
      status.destinationArn ?? "",
    );
    assert.ok(arn, status.destinationArn);
    assert.equal(status.accountId, arn[1]);
    const reads = (await env.proxy.calls("DescribeDestinations")).filter(
      (c) => c.destination === name,
    );
    assert.equal(reads.length, 0, "the ARN comes from the writer's identity, not a read");
    await policies.delete(name);
  });
});
