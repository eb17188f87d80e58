// The client-side AWS rate limit, counted where AWS would count it: at the
// fault proxy in front of the emulator, by each call's arrival time.
//
// The criterion: a token bucket of rate r and burst b grants at most b + r·T
// tokens in any interval of length T, so any 1-s window of grants holds at most
// b + r calls. Arrival at the proxy lags each grant by the request's latency;
// as long as latencies differ by less than 1/r (100 ms here, against a few ms
// on loopback), a 1-s window of arrivals still holds at most b + r calls. A
// client's first call also sets the client up, which would stretch that lag, so
// one object is applied before the burst.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ProxyCall } from "../../env/fault-proxy-client.ts";
import { createDestination } from "../support/aws.ts";
import { samplePolicy, waitFor } from "../support/policies.ts";
import { suite, unique } from "../support/setup.ts";

const RATE = 10;
const BURST = 10;
const OBJECTS = 200;
const PUT = "PutDestinationPolicy";
const LIMITED = [
  "--aws-rate-limit",
  String(RATE),
  "--aws-burst",
  String(BURST),
  "--max-concurrent-reconciles",
  "20",
];

/** The most calls that arrived within any window of `windowMs`, sliding over every call. */
function busiestWindow(calls: ProxyCall[], windowMs: number): number {
  const at = calls.map((c) => c.at).sort((a, b) => a - b);
  let most = 0;
  let start = 0;
  for (let end = 0; end < at.length; end++) {
    while ((at[end] ?? 0) - (at[start] ?? 0) >= windowMs) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

async function inBatches<T>(items: T[], size: number, work: (item: T) => Promise<unknown>) {
  for (let i = 0; i < items.length; i += size)
    await Promise.all(items.slice(i, i + size).map(work));
}

describe("the AWS rate limit", () => {
  const { env, policies, controller } = suite(["rate"], LIMITED, { clearsFaults: true });

  test(`a burst of ${OBJECTS} changes never exceeds ${RATE} calls/s with a burst of ${BURST}`, async (t) => {
    const warmUp = unique("warm-up");
    await createDestination(env, warmUp);
    await policies.create(warmUp, { destinationName: warmUp, accessPolicy: samplePolicy(warmUp) });
    await policies.waitForReason(warmUp, "Applied");
    const names = Array.from({ length: OBJECTS }, () => unique("burst"));
    await inBatches(names, 20, (n) => createDestination(env, n));
    const startedAt = Date.now();
    await inBatches(names, 20, (n) =>
      policies.create(n, { destinationName: n, accessPolicy: samplePolicy(n) }),
    );
    await waitFor(
      "every object applied",
      async () => {
        const calls = await env.proxy.calls(PUT);
        return names.every((n) => calls.some((c) => c.destination === n && c.status === 200));
      },
      60_000,
    );
    const mine = new Set(names);
    const calls = (await env.proxy.calls()).filter(
      (c) => c.at >= startedAt && mine.has(c.destination ?? ""),
    );
    const at = calls.map((c) => c.at).sort((a, b) => a - b);
    const spanMs = (at.at(-1) ?? 0) - (at[0] ?? 0);
    const perSecond = busiestWindow(calls, 1_000);
    const perFiveSeconds = busiestWindow(calls, 5_000);
    t.diagnostic(
      `${calls.length} calls over ${spanMs} ms (${((calls.length * 1000) / spanMs).toFixed(2)}/s); ` +
        `busiest 1-s window ${perSecond} (bound ${BURST + RATE}), busiest 5-s window ` +
        `${perFiveSeconds} (bound ${BURST + 5 * RATE})`,
    );
    assert.equal(calls.filter((c) => c.operation === PUT).length, OBJECTS, "one put per object");
    // The bucket bounds when calls leave the controller; the proxy sees when they
    // arrive, a few milliseconds later and not always by the same amount. A full
    // bucket drained at a window's start can therefore show one call more than
    // the bound in a window measured at the proxy, never two.
    const jitter = 1;
    assert.ok(perSecond <= BURST + RATE + jitter, `${perSecond} calls in one second`);
    assert.ok(
      perFiveSeconds <= BURST + 5 * RATE + jitter,
      `${perFiveSeconds} calls in five seconds`,
    );
    // Paced, not just bounded: the last calls had to wait for refills.
    assert.ok(spanMs >= ((calls.length - BURST) / RATE) * 1000 - 100, `all done in ${spanMs} ms`);
    assert.ok(
      (await controller.metric("log_destination_policy_aws_rate_limit_wait_seconds_count")) > 0,
    );
  });

  test("a throttled put is retried no sooner than a second later", async (t) => {
    const name = unique("throttled");
    await createDestination(env, name);
    await env.proxy.inject({
      operation: PUT,
      fault: { kind: "error", name: "ThrottlingException", message: "Rate exceeded" },
      count: 2,
      destination: name,
    });
    await policies.create(name, { destinationName: name, accessPolicy: samplePolicy(name) });
    await policies.waitForReason(name, "Applied", 20_000);
    const attempts = (await env.proxy.calls(PUT))
      .filter((c) => c.destination === name)
      .map((c) => c.at);
    const gaps = attempts.slice(1).map((at, i) => at - (attempts[i] ?? 0));
    t.diagnostic(`attempts ${attempts.length}, gaps ${gaps.join(", ")} ms`);
    assert.equal(attempts.length, 3);
    for (const gap of gaps) assert.ok(gap >= 1_000, `retried after ${gap} ms`);
  });
});
