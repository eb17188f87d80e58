// Watch recovery against a real kube-apiserver of this file's own (restarting
// the shared one would disturb other test files): an API server restart, the
// 410 Gone that follows it, and a watch that goes silent.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { CoreV1Api, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import {
  API_VERSION,
  GRANT_KIND,
  GRANT_PLURAL,
  GROUP,
  KIND,
  PLURAL,
  VERSION,
} from "../../src/api/names.ts";
import { canonicalJson } from "../../src/policy/index.ts";
import { startControlPlane, type ControlPlane } from "../../env/controlplane.ts";
import { startController, type LogLine, type RunningController } from "../support/controller.ts";
import { newNamespace, type TestEnv } from "../support/env.ts";
import { etcdCompact, etcdDelete, etcdGet, etcdPut, policyKey } from "../support/etcd.ts";
import { localEnvFrom } from "../../env/local-env.ts";
import { environmentFor } from "../../env/variables.ts";
import { createDestination, storedPolicy } from "../support/aws.ts";
import { installCrd, Policies, samplePolicy, waitFor } from "../support/policies.ts";
import { apiServerPort, kubeconfigThrough, TcpProxy } from "../support/tcp-proxy.ts";
import { unique } from "../support/setup.ts";

const timeOf = (line: LogLine) => Date.parse(String(line.time));

describe("watch recovery", () => {
  let plane: ControlPlane;
  let env: TestEnv;
  let policies: Policies;

  before(async () => {
    plane = await startControlPlane();
    env = localEnvFrom(environmentFor(plane.state()));
    await installCrd(env);
    policies = new Policies(env.kubeConfig, await newNamespace(env.kubeConfig, "watch"));
  });

  after(async () => {
    await plane.stop();
  });

  async function appliedAt(name: string, generation?: number): Promise<number> {
    let at = 0;
    await waitFor(
      `${name} applied`,
      async () => {
        const obj = await policies.get(name);
        const ok =
          policies.condition(obj, "Ready")?.reason === "Applied" &&
          obj.status?.observedGeneration === obj.metadata.generation &&
          (generation === undefined || obj.metadata.generation === generation);
        if (ok) at = Date.now();
        return ok;
      },
      60_000,
    );
    return at;
  }

  /** A LogDestinationPolicy as the API server stores it, for writing to etcd directly. */
  function stored(name: string, spec: Record<string, unknown>): Record<string, unknown> {
    return {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: {
        name,
        namespace: policies.namespace,
        uid: randomUUID(),
        generation: 1,
        creationTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      },
      spec,
    };
  }

  test("objects created, changed or deleted while the API server restarts are reconciled once it is back, through a 410 relist", async (t) => {
    const controller = await startController(env, {
      args: ["--watch-namespace", policies.namespace],
    });
    const [kept, gone, during, afterwards] = [
      unique("kept"),
      unique("gone"),
      unique("during"),
      unique("after"),
    ];
    for (const name of [kept, gone, during, afterwards]) await createDestination(env, name);
    await policies.create(kept, { destinationName: kept, accessPolicy: samplePolicy(kept) });
    await policies.create(gone, { destinationName: gone, accessPolicy: samplePolicy(gone) });
    await appliedAt(kept);
    await appliedAt(gone);
    const changed = samplePolicy(kept, ["333333333333"]);

    const { stoppedAt, readyAt } = await plane.restartApiServer({
      // What another API server replica would have written meanwhile.
      whileDown: async () => {
        const current = (await etcdGet(plane.etcdUrl, policyKey(policies.namespace, kept))) as
          { spec: Record<string, unknown>; metadata: { generation?: number } } | undefined;
        assert.ok(current);
        current.spec = { ...current.spec, accessPolicy: changed };
        current.metadata.generation = (current.metadata.generation ?? 1) + 1;
        await etcdPut(plane.etcdUrl, policyKey(policies.namespace, kept), current);
        await etcdPut(
          plane.etcdUrl,
          policyKey(policies.namespace, during),
          stored(during, { destinationName: during, accessPolicy: samplePolicy(during) }),
        );
        await etcdDelete(plane.etcdUrl, policyKey(policies.namespace, gone));
        // As etcd does every few minutes: the controller's last resourceVersion
        // is gone from the history too, not only from the new watch cache.
        await etcdCompact(plane.etcdUrl);
        // Long enough for the controller to fail a few times and back off.
        await sleep(3_000);
      },
    });
    await policies.create(afterwards, {
      destinationName: afterwards,
      accessPolicy: samplePolicy(afterwards),
    });

    const done = Math.max(
      await appliedAt(kept, 2),
      await appliedAt(during),
      await appliedAt(afterwards),
    );
    const recovery = done - readyAt;
    const restartLines = controller.logs.filter((l) => timeOf(l) >= stoppedAt);
    const failures = restartLines.filter((l) => l.msg === "watch failed; restarting").length;
    const relisted = restartLines.some((l) => l.msg === "watch expired (410 Gone); relisting");
    t.diagnostic(
      `API server down ${readyAt - stoppedAt} ms; every change reconciled ${recovery} ms after it was ready; ` +
        `${failures} failed watch attempts, 410 relist: ${String(relisted)}`,
    );
    assert.equal(await storedPolicy(env, kept), canonicalJson(changed));
    // The object deleted meanwhile was dropped by the relist: three remain Applied, not four.
    assert.equal(
      await controller.metric("log_destination_policy_resources", { reason: "Applied" }),
      3,
    );
    assert.ok(failures >= 1, "the controller saw the outage");
    assert.ok(relisted, "the watch's old resourceVersion expired and the controller relisted");
    assert.ok(recovery < 15_000, `recovered ${recovery} ms after the API server was ready`);
    assert.equal(await controller.stop(), 0);
  });

  test("a silent watch is noticed by the watchdog and restarted, and a change made meanwhile is reconciled", async (t) => {
    const silenceMs = 4_000;
    const proxy = await TcpProxy.start(await apiServerPort(env.kubeconfigPath));
    const kubeconfig = await kubeconfigThrough(
      env.kubeconfigPath,
      proxy.port,
      join(tmpdir(), `ldpc-watch-${process.pid}-kubeconfig`),
    );
    const controller: RunningController = await startController(env, {
      args: [
        "--kubeconfig",
        kubeconfig,
        "--watch-namespace",
        policies.namespace,
        "--watch-silence-timeout",
        `${silenceMs / 1000}s`,
        // The binding watch would be quiet here, and its watchdog's restarts
        // would reset the frozen connection the watches share before the
        // others noticed it. The grant and namespace watches run always, so
        // the heartbeat below keeps them busy too.
        "--require-binding=false",
      ],
    });
    try {
      const target = unique("target");
      const heartbeat = unique("heartbeat");
      await createDestination(env, target);
      await createDestination(env, heartbeat);
      await policies.create(target, {
        destinationName: target,
        accessPolicy: samplePolicy(target),
      });
      await policies.create(heartbeat, {
        destinationName: heartbeat,
        accessPolicy: samplePolicy(heartbeat),
      });
      // A grant of a policy that accepts none: it gives the grant watch events
      // and sends nothing to AWS.
      await policies.api.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: GRANT_PLURAL,
        namespace: policies.namespace,
        body: {
          apiVersion: API_VERSION,
          kind: GRANT_KIND,
          metadata: { name: heartbeat },
          spec: { policyRef: { name: heartbeat }, principals: { accounts: ["444455556666"] } },
        },
      });
      await appliedAt(target);
      // Annotation changes keep every watch busy without causing reconciles, so
      // a healthy watch never goes quiet for the silence timeout.
      let beats = 0;
      const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
      const core = env.kubeConfig.makeApiClient(CoreV1Api);
      const beat = setInterval(() => {
        const body = { metadata: { annotations: { "test/beat": String(++beats) } } };
        const object = { group: GROUP, version: VERSION, namespace: policies.namespace, body };
        void Promise.all([
          policies.api.patchNamespacedCustomObject(
            { ...object, plural: PLURAL, name: heartbeat },
            merge,
          ),
          policies.api.patchNamespacedCustomObject(
            { ...object, plural: GRANT_PLURAL, name: heartbeat },
            merge,
          ),
          core.patchNamespace({ name: policies.namespace, body }, merge),
        ]).catch(() => undefined);
      }, 500);
      const silentLines = () =>
        controller.logs.filter((l) => l.msg === "watch silent for too long; restarting");
      try {
        await sleep(2 * silenceMs);
        assert.equal(silentLines().length, 0, "a busy, healthy watch is left alone");

        const frozen = proxy.freeze();
        const changedAt = Date.now();
        const changed = samplePolicy(target, ["444444444444"]);
        const patched = await policies.patchSpec(target, { accessPolicy: changed });
        const appliedTime = await appliedAt(target, patched.metadata.generation);
        const silent = silentLines()[0];
        assert.ok(silent, "the watchdog restarted the frozen watch");
        const noticedAt = timeOf(silent);
        t.diagnostic(
          `${frozen} connections frozen; watchdog restarted the watch ${noticedAt - changedAt} ms ` +
            `after the change; reconciled ${appliedTime - changedAt} ms after it ` +
            `(silence timeout ${silenceMs} ms)`,
        );
        assert.ok(frozen >= 1);
        assert.ok(noticedAt > changedAt, "the change waited for the watchdog");
        assert.ok(appliedTime - changedAt < silenceMs + 3_000);
        assert.equal(await storedPolicy(env, target), canonicalJson(changed));
        assert.ok(
          (await controller.metric("log_destination_policy_watch_restarts_total", {
            reason: "silent",
          })) >= 1,
        );
      } finally {
        clearInterval(beat);
      }
      assert.equal(await controller.stop(), 0);
    } catch (err) {
      // The controller's own account of what happened, for whoever reads the failure.
      for (const l of controller.logs.slice(-30)) t.diagnostic(JSON.stringify(l).slice(0, 300));
      throw err;
    } finally {
      await proxy.close();
    }
  });
});
