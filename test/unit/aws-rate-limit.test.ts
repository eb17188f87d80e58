import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { ThrottlingException } from "@aws-sdk/client-cloudwatch-logs";
import { setImmediate } from "node:timers/promises";
import { AwsRateLimiter, FairTokenBucket, rateLimitKey } from "../../src/aws/rate-limit.ts";
import { FakeClock } from "./fakes/clock.ts";
import { accountOfArn } from "../../src/util/arn.ts";
import { withRetries, DEFAULT_RETRY_POLICY } from "../../src/aws/retry.ts";
import { fastClock } from "../support/fast-clock.ts";

/** Runs the clock's timers until none is left, letting promises settle between them. */
async function runAll(clock: FakeClock): Promise<void> {
  await setImmediate();
  while (clock.pending().length > 0) {
    await clock.next();
    await setImmediate();
  }
}

/** Grant times of takes asked at the given times (sorted), under a fake clock. */
async function grants(rate: number, burst: number, requestTimes: number[]): Promise<number[]> {
  const clock = new FakeClock();
  const bucket = new FairTokenBucket({ ratePerSecond: rate, burst }, clock);
  const at: number[] = [];
  const pending: Promise<unknown>[] = [];
  for (const t of requestTimes) {
    while ((clock.pending()[0]?.at ?? Infinity) <= t) {
      await clock.next();
      await setImmediate();
    }
    clock.current = t;
    pending.push(bucket.take("ns").then((waited) => at.push(t + waited)));
  }
  await runAll(clock);
  await Promise.all(pending);
  return at;
}

describe("the AWS rate limit", () => {
  test("a full bucket grants the burst at once, then one token per 1/rate", async () => {
    assert.deepEqual(await grants(10, 3, [0, 0, 0, 0, 0, 0]), [0, 0, 0, 100, 200, 300]);
  });

  test("an idle bucket refills up to the burst and no further", async () => {
    assert.deepEqual(
      await grants(10, 2, [0, 0, 10_000, 10_000, 10_000]),
      [0, 0, 10_000, 10_000, 10_100],
    );
  });

  // Waits are rounded up to whole milliseconds, so a grant may come up to 1 ms late.
  test("any interval of length T holds at most burst + rate·(T + 1 ms) grants, whatever the demand", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 60 }),
        async (rate, burst, times) => {
          const at = (
            await grants(
              rate,
              burst,
              times.sort((a, b) => a - b),
            )
          ).sort((a, b) => a - b);
          for (let i = 0; i < at.length; i++) {
            for (let j = i; j < at.length; j++) {
              const span = (at[j] ?? 0) - (at[i] ?? 0);
              const count = j - i + 1;
              if (count > burst + (rate * (span + 1)) / 1000 + 1e-9) return false;
            }
          }
          return true;
        },
      ),
      { numRuns: 100 },
    );
  });

  test("waiters of one namespace are served in the order they asked, and an abort ends a wait", async () => {
    const clock = new FakeClock();
    const bucket = new FairTokenBucket({ ratePerSecond: 20, burst: 1 }, clock);
    const order: number[] = [];
    const waits = [1, 2, 3].map((n) =>
      bucket.take("ns").then(() => {
        order.push(n);
      }),
    );
    await runAll(clock);
    await Promise.all(waits);
    assert.deepEqual(order, [1, 2, 3]);
    const aborted = new AbortController();
    const pending = bucket.take("ns", "foreground", aborted.signal);
    aborted.abort(new Error("shutdown"));
    await assert.rejects(pending, /shutdown/);
    assert.equal(bucket.waiting, 0, "the aborted wait left nothing behind");
    await runAll(clock);
    assert.equal(await bucket.take("other"), 0, "its token went to nobody and is still there");
  });

  // Each row: waiters already queued per namespace, then one more namespace asks.
  const floods: { name: string; queued: Record<string, number>; grantsBefore: number }[] = [
    { name: "one namespace with 200 waiting", queued: { flood: 200 }, grantsBefore: 1 },
    { name: "one namespace with 1,000 waiting", queued: { flood: 1_000 }, grantsBefore: 1 },
    { name: "two namespaces flooding", queued: { a: 300, b: 300 }, grantsBefore: 2 },
    { name: "a flood and a trickle", queued: { flood: 500, small: 2 }, grantsBefore: 2 },
  ];
  for (const row of floods) {
    test(`a namespace that asks behind ${row.name} is served within one round (${row.grantsBefore} grants)`, async () => {
      const clock = new FakeClock();
      const bucket = new FairTokenBucket({ ratePerSecond: 2, burst: 1 }, clock);
      await bucket.take("warm-up");
      const served: string[] = [];
      const waits: Promise<unknown>[] = [];
      for (const [ns, n] of Object.entries(row.queued)) {
        for (let i = 0; i < n; i++) waits.push(bucket.take(ns).then(() => served.push(ns)));
      }
      const late = bucket.take("late").then(() => served.push("late"));
      while (!served.includes("late")) {
        await clock.next();
        await setImmediate();
      }
      assert.ok(
        served.indexOf("late") <= row.grantsBefore,
        `served after ${String(served.indexOf("late"))} grants`,
      );
      await late;
      const waiting = bucket.waiting;
      assert.equal(waiting, waits.length - served.length + 1);
    });
  }

  test("buckets are per account and region; a role's ARN names its account", async () => {
    assert.equal(rateLimitKey("eu-west-1"), "default/eu-west-1");
    assert.equal(
      rateLimitKey("eu-west-1", "arn:aws:iam::111122223333:role/x"),
      "111122223333/eu-west-1",
    );
    assert.equal(accountOfArn("arn:aws:iam::not-an-account:role/x"), undefined);
    const limiter = new AwsRateLimiter({ ratePerSecond: 1, burst: 1 });
    assert.equal(await limiter.take("a/eu-west-1"), 0);
    assert.equal(await limiter.take("b/eu-west-1"), 0, "another account has its own bucket");
    assert.equal(await limiter.take("a/us-east-1"), 0, "another region has its own bucket");
    const unlimited = new AwsRateLimiter({ ratePerSecond: 0, burst: 1 });
    for (let i = 0; i < 100; i++) assert.equal(await unlimited.take("a/eu-west-1"), 0);
  });

  test("a throttled call waits at least the throttle delay before its retry", async (t) => {
    fastClock(t);
    const attempts: number[] = [];
    await withRetries(
      "PutDestinationPolicy",
      () => {
        attempts.push(performance.now());
        if (attempts.length === 1) {
          throw new ThrottlingException({
            message: "Rate exceeded",
            $metadata: { httpStatusCode: 400 },
          });
        }
        return Promise.resolve();
      },
      { ...DEFAULT_RETRY_POLICY, minDelayMs: 10, throttleMinDelayMs: 1_000 },
      undefined,
    );
    assert.equal(attempts.length, 2);
    const gap = (attempts[1] ?? 0) - (attempts[0] ?? 0);
    assert.ok(gap >= 1_000, `retried after ${gap.toFixed(0)} ms`);
  });

  test("foreground calls that arrive while a background call waits go before it", async () => {
    const clock = new FakeClock();
    const limiter = new AwsRateLimiter({ ratePerSecond: 50, burst: 1 }, { clock });
    const key = rateLimitKey("us-east-1");
    const order: string[] = [];
    await limiter.take(key);
    const background = limiter.take(key, { priority: "background" }).then(() => order.push("bg"));
    const foreground = [1, 2, 3].map((i) =>
      limiter.take(key, { flow: `ns${String(i % 2)}` }).then(() => order.push(`fg${String(i)}`)),
    );
    await runAll(clock);
    await Promise.all([background, ...foreground]);
    assert.deepEqual(order, ["fg1", "fg2", "fg3", "bg"]);
  });

  test("a retry waits at the end of its namespace's line, behind the other namespace's next call", async () => {
    const clock = new FakeClock();
    const limiter = new AwsRateLimiter({ ratePerSecond: 1, burst: 1 }, { clock });
    const key = rateLimitKey("us-east-1");
    const order: string[] = [];
    await limiter.take(key, { flow: "a" });
    const first = [
      limiter.take(key, { flow: "a" }).then(() => order.push("a1")),
      limiter.take(key, { flow: "a" }).then(() => order.push("a2")),
      limiter.take(key, { flow: "b" }).then(() => order.push("b1")),
    ];
    await clock.next();
    await setImmediate();
    // a1 failed and retries: its second attempt asks again.
    const retry = limiter.take(key, { flow: "a" }).then(() => order.push("a1-retry"));
    const b2 = limiter.take(key, { flow: "b" }).then(() => order.push("b2"));
    await runAll(clock);
    await Promise.all([...first, retry, b2]);
    assert.deepEqual(order, ["a1", "b1", "a2", "b2", "a1-retry"]);
  });
});

describe("bounded buckets", () => {
  test("buckets are capped, the least recently used dropped first, never one somebody waits at", async () => {
    const clock = new FakeClock();
    const limiter = new AwsRateLimiter({ ratePerSecond: 1, burst: 1 }, { clock, maxBuckets: 3 });
    await limiter.take("default/busy");
    const waiting = limiter.take("default/busy");
    for (let i = 0; i < 10; i++) await limiter.take(`default/r${String(i)}`);
    assert.equal(limiter.size, 3);
    assert.equal(limiter.drop("default/busy"), false, "a bucket with a waiter stays");
    await runAll(clock);
    assert.equal(await waiting, 1_000);
    assert.equal(limiter.drop(rateLimitKey("r9")), true, "dropped with its clients");
    assert.equal(limiter.drop(rateLimitKey("r9")), false, "already gone");
    assert.equal(limiter.size, 2);
  });
});
