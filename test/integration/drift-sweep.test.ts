// Drift verification in sweeps: one DescribeDestinations sweep per region and
// interval covers every object, and a round in which nothing changed writes
// nothing to the API server. Counted at the fault proxy and in resourceVersions.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { EventsV1Api } from "@kubernetes/client-node";
import { canonicalJson } from "../../src/policy/index.ts";
import { callsFor, createDestination, putPolicyDirectly, storedPolicy } from "../support/aws.ts";
import { samplePolicy, waitFor } from "../support/policies.ts";
import { DRIFT_EVERY_2S, suite } from "../support/setup.ts";

const N = 60;
const SWEEPS = "log_destination_policy_drift_sweeps_total";

describe("drift sweeps", () => {
  const { env, policies, controller } = suite(["sweep"], DRIFT_EVERY_2S);
  // Every destination of this file shares the prefix, and only they do.
  const prefix = `sweep${process.pid}-`;
  const names = Array.from({ length: N }, (_, i) => `${prefix}d${String(i).padStart(2, "0")}`);

  before(async () => {
    for (const name of names) await createDestination(env, name);
    await Promise.all(
      names.map((name) =>
        policies.create(name, { destinationName: name, accessPolicy: samplePolicy(name) }),
      ),
    );
    for (const name of names) await policies.waitForReason(name, "Applied", 60_000);
  });

  const resourceVersions = async () =>
    new Map((await policies.list()).map((o) => [o.metadata.name, o.metadata.resourceVersion]));
  const arns = async () => {
    return (await policies.list()).map((o) => o.status?.destinationArn);
  };
  const events = async () =>
    (
      await env.kubeConfig
        .makeApiClient(EventsV1Api)
        .listNamespacedEvent({ namespace: policies.namespace })
    ).items.length;
  const sweeps = () => controller.metric(SWEEPS, { result: "success" });
  const describes = async () =>
    (await env.proxy.calls("DescribeDestinations")).filter((c) =>
      c.destination?.startsWith(prefix),
    );

  test("a round in which nothing changed reads once per sweep and writes nothing", async () => {
    // Events are written in the background: one Applied event per object first.
    await waitFor("an Applied event per object", async () => (await events()) >= N, 30_000);
    // A put tells nothing of the destination's ARN: the first sweep reads it, and
    // status records it once. From then on nothing is left to write.
    await waitFor(
      "every destination ARN in status",
      async () => (await arns()).every((arn) => arn !== undefined),
      30_000,
    );
    const versions = await resourceVersions();
    const eventCount = await events();
    const describedBefore = (await describes()).length;
    const sweptBefore = await sweeps();
    // Two more sweeps: at least one whole round began after the snapshot.
    await waitFor("two sweeps", async () => (await sweeps()) >= sweptBefore + 2, 30_000);
    const swept = (await sweeps()) - sweptBefore;
    const calls = (await describes()).slice(describedBefore);

    assert.deepEqual(await resourceVersions(), versions, "no object was written");
    assert.equal(await events(), eventCount, "no event was written");
    assert.ok(
      calls.every((c) => c.destination === `${prefix}d`),
      "no object was read on its own; each sweep asked for the shared prefix",
    );
    // moto answers a sweep with one page; a sweep may be under way at either end.
    assert.ok(
      calls.length >= swept - 1 && calls.length <= swept + 1,
      `${calls.length} DescribeDestinations for ${swept} sweeps of ${N} objects`,
    );
  });

  test("a sweep that finds drift hands over what it read: the object is corrected without reading it again", async () => {
    const name = names[7] ?? "";
    await putPolicyDirectly(env, name, samplePolicy(name, ["999999999999"]));
    await waitFor(
      "drift corrected",
      async () => (await storedPolicy(env, name)) === canonicalJson(samplePolicy(name)),
      30_000,
    );
    await policies.waitForReason(name, "Applied");
    assert.deepEqual(
      await callsFor(env, name, "DescribeDestinations"),
      [],
      "the correction used the sweep's answer",
    );
    assert.equal((await callsFor(env, name, "PutDestinationPolicy")).length, 2);
  });
});
