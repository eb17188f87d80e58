import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { ThrottlingException } from "@aws-sdk/client-cloudwatch-logs";
import { AwsRateLimiter, rateLimitKey, TokenBucket } from "../../src/aws/rate-limit.ts";
import { accountOfArn } from "../../src/util/arn.ts";
import { withRetries, DEFAULT_RETRY_POLICY } from "../../src/aws/retry.ts";
import { fastClock } from "../support/fast-clock.ts";

/** Grant times of `requests` reservations made at the given times, under a fake clock. */
function grants(rate: number, burst: number, requestTimes: number[]): number[] {
  let now = 0;
  const bucket = new TokenBucket({ ratePerSecond: rate, burst }, () => now);
  return requestTimes.map((t) => {
    now = t;
    return t + bucket.reserve();
  });
}

describe("the AWS rate limit", () => {
  test("a full bucket grants the burst at once, then one token per 1/rate", () => {
    const at = grants(10, 3, [0, 0, 0, 0, 0, 0]);
    assert.deepEqual(at, [0, 0, 0, 100, 200, 300]);
  });

  test("an idle bucket refills up to the burst and no further", () => {
    const at = grants(10, 2, [0, 0, 10_000, 10_000, 10_000]);
    assert.deepEqual(at, [0, 0, 10_000, 10_000, 10_100]);
  });

  // Waits are rounded up to whole milliseconds, so a grant may come up to 1 ms late.
  test("any interval of length T holds at most burst + rate·(T + 1 ms) grants, whatever the demand", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 120 }),
        (rate, burst, times) => {
          const at = grants(
            rate,
            burst,
            times.sort((a, b) => a - b),
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
      { numRuns: 300 },
    );
  });

  test("waiters are served in the order they asked, and an abort ends a wait", async (t) => {
    fastClock(t);
    const bucket = new TokenBucket({ ratePerSecond: 20, burst: 1 });
    const order: number[] = [];
    const waits = [1, 2, 3].map((n) =>
      bucket.take().then(() => {
        order.push(n);
      }),
    );
    await Promise.all(waits);
    assert.deepEqual(order, [1, 2, 3]);
    const aborted = new AbortController();
    const pending = bucket.take(aborted.signal);
    aborted.abort(new Error("shutdown"));
    await assert.rejects(pending, /shutdown/);
  });

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

  test("a background call takes a token only when one is free and no reservation waits", () => {
    let now = 0;
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 1 }, () => now);
    assert.equal(bucket.untilFree(), 0);
    assert.equal(bucket.reserve(), 0);
    assert.equal(bucket.reserve(), 100);
    assert.equal(bucket.reserve(), 200);
    // Two reservations wait: a background call must wait for them and one more token.
    assert.equal(bucket.untilFree(), 300);
    now = 250;
    assert.equal(bucket.untilFree(), 50);
    now = 300;
    assert.equal(bucket.untilFree(), 0);
  });

  test("foreground calls that arrive while a background call waits go before it", async () => {
    const limiter = new AwsRateLimiter({ ratePerSecond: 50, burst: 1 });
    const key = rateLimitKey("us-east-1");
    const order: string[] = [];
    await limiter.take(key);
    const background = limiter.take(key, undefined, "background").then(() => order.push("bg"));
    const foreground = [1, 2, 3].map((i) => limiter.take(key).then(() => order.push(`fg${i}`)));
    await Promise.all([background, ...foreground]);
    assert.deepEqual(order, ["fg1", "fg2", "fg3", "bg"]);
  });
});

describe("idle buckets", () => {
  test("a bucket unused for the idle time, and full again, is dropped; a busy one stays", async () => {
    let now = 0;
    const limiter = new AwsRateLimiter({ ratePerSecond: 5, burst: 5 }, () => now);
    for (let i = 0; i < 200; i++) await limiter.take(`default/zz-r${i}-1`);
    await limiter.take("default/us-east-1");
    assert.equal(limiter.size, 201);
    now = 10 * 60_000;
    await limiter.take("default/us-east-1");
    now = 15 * 60_000;
    limiter.sweep(15 * 60_000);
    assert.equal(limiter.size, 1, "only the bucket used within the idle time stays");
  });
});
