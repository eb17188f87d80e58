// Graceful shutdown: SIGTERM stops new work, lets an attempt under way finish
// within the grace period, never starts a retry, records what it cut short as
// Interrupted, and exits 0.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { getTestEnv, newNamespace, type TestEnv } from "../support/env.ts";
import { startController, type RunningController } from "../support/controller.ts";
import { createDestination, storedPolicy } from "../support/aws.ts";
import { installCrd, Policies, samplePolicy, waitFor } from "../support/policies.ts";
import { canonicalJson } from "../../src/policy/index.ts";
import { unique } from "../support/setup.ts";

const PUT = "PutDestinationPolicy";

describe("graceful shutdown", () => {
  let env: TestEnv;
  let policies: Policies;

  before(async () => {
    env = await getTestEnv();
    await installCrd(env);
  });

  // Each test starts its own controller; a namespace of its own keeps that
  // controller from picking up the objects an earlier test left unfinished.
  beforeEach(async () => {
    policies = new Policies(env.kubeConfig, await newNamespace(env.kubeConfig, "shutdown"));
  });

  after(async () => {
    await env.proxy.clearFaults();
  });

  function start(args: string[]): Promise<RunningController> {
    return startController(env, {
      args: ["--watch-namespace", policies.namespace, ...args],
    });
  }

  /** Holds every put for `name` at the proxy for `ms` before it goes on to the emulator. */
  function slowPuts(name: string, ms: number): Promise<void> {
    return env.proxy.inject({ operation: PUT, fault: { kind: "latency", ms }, destination: name });
  }

  /** Waits until the proxy has a put for `name` that has not been answered yet. */
  async function putInFlight(name: string): Promise<void> {
    await waitFor(`a ${PUT} for ${name} in flight`, async () =>
      (await env.proxy.calls(PUT)).some((c) => c.destination === name && c.status === 0),
    );
  }

  async function sigterm(
    controller: RunningController,
  ): Promise<{ code: number | null; ms: number }> {
    const sentAt = Date.now();
    const code = await controller.stop(30_000);
    return { code, ms: Date.now() - sentAt };
  }

  test("a put held past the grace period is aborted at its end, recorded as Interrupted, and the process exits 0", async (t) => {
    const name = unique("held");
    await createDestination(env, name);
    const controller = await start(["--shutdown-grace-period", "3s"]);
    await slowPuts(name, 10_000);
    try {
      await policies.create(name, { destinationName: name, accessPolicy: samplePolicy(name) });
      await putInFlight(name);
      const { code, ms } = await sigterm(controller);
      t.diagnostic(`exited ${code} ${ms} ms after SIGTERM; grace period 3 s, put held 10 s`);
      assert.equal(code, 0);
      assert.ok(ms >= 3_000 && ms < 3_000 + 3_000, `exited ${ms} ms after SIGTERM (grace 3 s)`);
      const obj = await policies.get(name);
      assert.equal(policies.condition(obj, "Ready")?.reason, "Interrupted");
      assert.equal(policies.condition(obj, "Ready")?.status, "False");
      assert.equal(policies.condition(obj, "Reconciling")?.status, "True");
      assert.equal(obj.status?.observedGeneration, obj.metadata.generation);
      assert.ok(
        controller.logs.some((l) => l.msg?.includes("did not finish within the grace period")),
      );
    } finally {
      await env.proxy.clearFaults();
    }
  });

  test("a put that keeps failing with ServiceUnavailable gets no further retry after SIGTERM, and ends Interrupted", async (t) => {
    const name = unique("unavailable");
    await createDestination(env, name);
    const controller = await start([
      "--shutdown-grace-period",
      "20s",
      "--aws-max-attempts",
      "20",
      "--aws-max-retry-time",
      "60s",
    ]);
    await env.proxy.inject({
      operation: PUT,
      fault: { kind: "error", name: "ServiceUnavailableException" },
      count: Infinity,
      destination: name,
    });
    try {
      await policies.create(name, { destinationName: name, accessPolicy: samplePolicy(name) });
      await waitFor("two failed attempts", async () => {
        const calls = (await env.proxy.calls(PUT)).filter((c) => c.destination === name);
        return calls.length >= 2;
      });
      const sentAt = Date.now();
      const { code, ms } = await sigterm(controller);
      const attempts = (await env.proxy.calls(PUT)).filter((c) => c.destination === name).length;
      t.diagnostic(`exited ${code} ${ms} ms after SIGTERM; ${attempts} attempts in all`);
      assert.equal(code, 0);
      assert.ok(ms < 3_000, `exited ${ms} ms after SIGTERM, long before the 20 s grace period`);
      const later = (await env.proxy.calls(PUT)).filter(
        (c) => c.destination === name && c.at > sentAt + 50,
      );
      assert.equal(later.length, 0, "no attempt was made after SIGTERM");
      const obj = await policies.get(name);
      assert.equal(policies.condition(obj, "Ready")?.reason, "Interrupted");
      assert.equal(policies.condition(obj, "Reconciling")?.status, "True");
    } finally {
      await env.proxy.clearFaults();
    }
  });

  test("a put under way finishes within the grace period, and queued work is not started", async (t) => {
    const first = unique("finishes");
    const queued = unique("queued");
    await createDestination(env, first);
    await createDestination(env, queued);
    const controller = await start([
      "--shutdown-grace-period",
      "10s",
      "--max-concurrent-reconciles",
      "1",
    ]);
    await slowPuts(first, 2_000);
    try {
      await policies.create(first, { destinationName: first, accessPolicy: samplePolicy(first) });
      await putInFlight(first);
      // With one worker busy, this one waits in the queue.
      await policies.create(queued, {
        destinationName: queued,
        accessPolicy: samplePolicy(queued),
      });
      await waitFor(
        "the second object waiting in the queue",
        async () => (await controller.metric("workqueue_depth")) >= 1,
      );
      const { code, ms } = await sigterm(controller);
      t.diagnostic(`exited ${code} ${ms} ms after SIGTERM; the held put took 2 s`);
      assert.equal(code, 0);
      assert.ok(ms < 10_000, `exited ${ms} ms after SIGTERM`);
      const obj = await policies.get(first);
      assert.equal(policies.condition(obj, "Ready")?.reason, "Applied");
      assert.equal(await storedPolicy(env, first), canonicalJson(samplePolicy(first)));
      const untouched = await policies.get(queued);
      assert.equal(untouched.status?.conditions, undefined, "the queued object was not reconciled");
      assert.equal((await env.proxy.calls(PUT)).filter((c) => c.destination === queued).length, 0);
    } finally {
      await env.proxy.clearFaults();
    }
  });
});
