// Leader election with real controller processes against the real API server:
// only the leader reconciles, a killed leader is replaced within the lease
// duration, a leader on SIGTERM hands the Lease over at once, and a leader cut
// off from the API server stops before anyone else can start.
import assert from "node:assert/strict";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { after, before, describe, test } from "node:test";
import { CoordinationV1Api } from "@kubernetes/client-node";
import { type TestEnv } from "../support/env.ts";
import { startController, type LogLine, type RunningController } from "../support/controller.ts";
import { createDestination } from "../support/aws.ts";
import { Policies, samplePolicy, waitFor } from "../support/policies.ts";
import { apiServerPort, kubeconfigThrough, TcpProxy } from "../support/tcp-proxy.ts";
import { setUp, unique } from "../support/setup.ts";

const PUT = "PutDestinationPolicy";
// The controller's defaults, which these tests keep.
const LEASE_MS = 15_000;
const RENEW_DEADLINE_MS = 10_000;
const RETRY_MS = 2_000;

const timeOf = (line: LogLine) => Date.parse(String(line.time));
/** A reconcile's outcome line: the controller logs one per reconcile, with key and reason. */
const isReconcile = (line: LogLine) => line.key !== undefined && line.reason !== undefined;

function logTime(controller: RunningController, msg: string): number | undefined {
  const line = controller.logs.find((l) => l.msg === msg);
  return line ? timeOf(line) : undefined;
}

function identityOf(controller: RunningController): string {
  const line = controller.logs.find((l) => l.msg === "waiting to become the leader");
  if (typeof line?.identity !== "string") throw new Error("no identity logged yet");
  return line.identity;
}

describe("leader election", () => {
  let env: TestEnv;
  let policies: Policies;
  let leases: CoordinationV1Api;
  const leaseName = `ldpc-le-${process.pid}`;
  const proxies: TcpProxy[] = [];
  /** The current leader and a follower, handed from test to test. */
  let leader: RunningController;
  let follower: RunningController;

  before(async () => {
    ({
      env,
      policies: [policies],
    } = await setUp("leader"));
    leases = env.kubeConfig.makeApiClient(CoordinationV1Api);
  });

  after(async () => {
    await env.proxy.clearFaults();
    await Promise.all(proxies.map((p) => p.close()));
  });

  function candidate(kubeconfig?: string): Promise<RunningController> {
    return startController(env, {
      args: [
        "--leader-elect",
        "--leader-election-namespace",
        policies.namespace,
        "--leader-election-id",
        leaseName,
        "--watch-namespace",
        policies.namespace,
        ...(kubeconfig ? ["--kubeconfig", kubeconfig] : []),
      ],
    });
  }

  async function holder(): Promise<string | undefined> {
    const lease = await leases.readNamespacedLease({
      name: leaseName,
      namespace: policies.namespace,
    });
    return lease.spec?.holderIdentity ?? undefined;
  }

  async function leads(controller: RunningController, timeoutMs = 30_000): Promise<number> {
    await waitFor(
      `${identityOf(controller)} to lead`,
      () => Promise.resolve(logTime(controller, "became the leader") !== undefined),
      timeoutMs,
    );
    return logTime(controller, "became the leader") ?? 0;
  }

  async function createMany(prefix: string, count: number): Promise<string[]> {
    const names = Array.from({ length: count }, () => unique(prefix));
    await Promise.all(names.map((n) => createDestination(env, n)));
    await Promise.all(
      names.map((n) => policies.create(n, { destinationName: n, accessPolicy: samplePolicy(n) })),
    );
    return names;
  }

  async function appliedCount(names: string[]): Promise<number> {
    const objects = await Promise.all(names.map((n) => policies.get(n)));
    return objects.filter(
      (o) =>
        policies.condition(o, "Ready")?.reason === "Applied" &&
        o.status?.observedGeneration === o.metadata.generation,
    ).length;
  }

  test("only the leader reconciles; a follower is ready and stays idle", async (t) => {
    leader = await candidate();
    await leads(leader);
    follower = await candidate();
    assert.equal(await holder(), identityOf(leader));
    const names = await createMany("only", 3);
    await waitFor("all applied", async () => (await appliedCount(names)) === 3);
    assert.ok(leader.logs.some(isReconcile));
    assert.equal(follower.logs.filter(isReconcile).length, 0, "the follower reconciled nothing");
    assert.equal(logTime(follower, "controller started"), undefined);
    assert.equal((await fetch(`${follower.healthUrl}/readyz`)).status, 200);
    assert.equal(await follower.metric("leader_election_master_status"), 0);
    assert.equal(await leader.metric("leader_election_master_status"), 1);
    t.diagnostic(`leader ${identityOf(leader)}, follower ${identityOf(follower)}`);
  });

  test("a leader killed with SIGKILL mid-work is replaced within the lease duration plus the retry period, and no object is missed or reconciled by both", async (t) => {
    const doomed = leader;
    const successor = follower;
    // Slow puts keep the leader busy while it dies.
    await env.proxy.inject({
      operation: PUT,
      fault: { kind: "latency", ms: 300 },
      count: Infinity,
    });
    try {
      const names = await createMany("killed", 40);
      await waitFor("a few objects applied", async () => (await appliedCount(names)) >= 5);
      const killedAt = Date.now();
      process.kill(doomed.pid, "SIGKILL");
      const tookOverAt = await leads(successor);
      const takeover = tookOverAt - killedAt;
      assert.equal(await holder(), identityOf(successor));
      await waitFor("every object applied", async () => (await appliedCount(names)) === 40, 60_000);

      const ofThese = (l: LogLine) =>
        isReconcile(l) && names.some((n) => l.key === `${policies.namespace}/${n}`);
      const byDoomed = doomed.logs.filter(ofThese);
      const bySuccessor = successor.logs.filter(ofThese);
      const lastOfDoomed = Math.max(...byDoomed.map(timeOf));
      const firstOfSuccessor = Math.min(...bySuccessor.map(timeOf));
      // Calls that reached AWS while nobody led: none, so the follower never acted early.
      const meanwhile = (await env.proxy.calls(PUT)).filter(
        (c) => c.at > killedAt + 100 && c.at < tookOverAt,
      );
      const puts = (await env.proxy.calls(PUT)).filter((c) => names.includes(c.destination ?? ""));
      t.diagnostic(
        `takeover ${takeover} ms after SIGKILL (bound ${LEASE_MS + RETRY_MS} ms); ` +
          `${new Set(byDoomed.map((l) => l.key)).size} objects reconciled by the killed leader, ` +
          `${new Set(bySuccessor.map((l) => l.key)).size} by its successor; ` +
          `${puts.length} puts for 40 objects`,
      );
      assert.ok(byDoomed.length >= 5 && bySuccessor.length > 0, "both processes did some work");
      assert.ok(takeover <= LEASE_MS + RETRY_MS, `takeover took ${takeover} ms`);
      assert.ok(lastOfDoomed <= killedAt, "the killed leader reconciled nothing after its death");
      assert.ok(firstOfSuccessor >= tookOverAt, "the successor reconciled nothing before it led");
      assert.equal(meanwhile.length, 0);
      leader = successor;
    } finally {
      await env.proxy.clearFaults();
    }
  });

  test("SIGTERM on the leader hands the lease over in less than two retry periods", async (t) => {
    const next = await candidate();
    const names = await createMany("handover", 2);
    await waitFor("applied", async () => (await appliedCount(names)) === 2);
    const sentAt = Date.now();
    const code = await leader.stop();
    const tookOverAt = await leads(next, 10_000);
    const handover = tookOverAt - sentAt;
    t.diagnostic(`handover ${handover} ms after SIGTERM (bound ${2 * RETRY_MS} ms)`);
    assert.equal(code, 0);
    assert.ok(leader.logs.some((l) => l.msg === "released the leader-election lease"));
    assert.ok(handover < 2 * RETRY_MS, `handover took ${handover} ms`);
    const lastOfOld = Math.max(...leader.logs.filter(isReconcile).map(timeOf));
    assert.ok(lastOfOld < tookOverAt);
    assert.equal(await holder(), identityOf(next));
    leader = next;
  });

  test("a leader cut off from the API server stops reconciling before its lease expires, then exits non-zero", async (t) => {
    // A leader whose every connection to the API server goes through a proxy the test can cut.
    const proxy = await TcpProxy.start(await apiServerPort(env.kubeconfigPath));
    proxies.push(proxy);
    const kubeconfig = await kubeconfigThrough(
      env.kubeconfigPath,
      proxy.port,
      join(tmpdir(), `ldpc-le-${process.pid}-kubeconfig`),
    );
    const cutOff = await candidate(kubeconfig);
    await leader.stop();
    await leads(cutOff, 10_000);
    const standby = await candidate();

    const cutAt = Date.now();
    proxy.block();
    const exited = new Promise<number>((resolve) => {
      const poll = setInterval(() => {
        try {
          process.kill(cutOff.pid, 0);
        } catch {
          clearInterval(poll);
          resolve(Date.now());
        }
      }, 50);
    });
    const tookOverAt = await leads(standby, 40_000);
    await exited;
    const lostAt = logTime(cutOff, "lost the leader-election lease; stopping") ?? Infinity;
    const code = await cutOff.stop();
    t.diagnostic(
      `stopped ${lostAt - cutAt} ms after the cut (renew deadline ${RENEW_DEADLINE_MS} ms); ` +
        `standby led ${tookOverAt - lostAt} ms after that; exit code ${code}`,
    );
    assert.ok(lostAt - cutAt <= RENEW_DEADLINE_MS + 500, "stopped within the renew deadline");
    assert.ok(lostAt < tookOverAt, "stopped before the standby took over");
    assert.notEqual(code, 0);

    // The new leader carries on.
    const names = await createMany("after-cut", 2);
    await waitFor("applied by the standby", async () => (await appliedCount(names)) === 2);
    assert.equal(await holder(), identityOf(standby));
  });
});
