import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  InvalidParameterException,
  OperationAbortedException,
  ResourceNotFoundException,
  ServiceUnavailableException,
} from "@aws-sdk/client-cloudwatch-logs";
import { classifyAwsError } from "../../src/aws/errors.ts";
import { withRetries } from "../../src/aws/retry.ts";
import { AwsCallError } from "../../src/aws/errors.ts";

const meta = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });

describe("AWS error classification", () => {
  test("OperationAborted, ServiceUnavailable and throttling are transient", () => {
    assert.equal(
      classifyAwsError(new OperationAbortedException({ message: "conflict", ...meta(400) })).kind,
      "transient",
    );
    assert.equal(
      classifyAwsError(new ServiceUnavailableException({ message: "down", ...meta(500) })).kind,
      "transient",
    );
    assert.equal(
      classifyAwsError(Object.assign(new Error("slow down"), { name: "ThrottlingException" })).kind,
      "transient",
    );
  });

  test("InvalidParameter is invalid and keeps the AWS name and message", () => {
    const c = classifyAwsError(
      new InvalidParameterException({ message: "bad policy", ...meta(400) }),
    );
    assert.deepEqual(
      [c.kind, c.name, c.message],
      ["invalid", "InvalidParameterException", "bad policy"],
    );
  });

  test("a missing destination is not-found and access errors are access-denied", () => {
    assert.equal(
      classifyAwsError(new ResourceNotFoundException({ message: "gone", ...meta(400) })).kind,
      "not-found",
    );
    assert.equal(
      classifyAwsError(Object.assign(new Error("no"), { name: "AccessDeniedException" })).kind,
      "access-denied",
    );
    assert.equal(
      classifyAwsError(Object.assign(new Error("?"), { name: "Whatever", ...meta(403) })).kind,
      "access-denied",
    );
  });

  test("socket errors, also when wrapped as a cause, are transient network errors", () => {
    const reset = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    assert.deepEqual(
      [classifyAwsError(reset).kind, classifyAwsError(reset).name],
      ["transient", "NetworkError"],
    );
    assert.equal(classifyAwsError(new Error("wrapped", { cause: reset })).kind, "transient");
  });

  test("a host name DNS does not know, or a region the SDK's endpoint rules refuse, is unreachable", () => {
    // What Node's resolver throws for a made-up region's endpoint (NXDOMAIN).
    const nxdomain = Object.assign(
      new Error("getaddrinfo ENOTFOUND logs.zz-fake-1.amazonaws.com"),
      {
        code: "ENOTFOUND",
        errno: -3008,
        syscall: "getaddrinfo",
        hostname: "logs.zz-fake-1.amazonaws.com",
      },
    );
    const endpoint = Object.assign(new Error("Invalid Configuration"), { name: "EndpointError" });
    for (const error of [nxdomain, endpoint, new Error("AssumeRole", { cause: nxdomain })]) {
      const c = classifyAwsError(error);
      assert.deepEqual([c.kind, c.name], ["unreachable", "EndpointNotFound"]);
    }
    // A resolver that does not answer may answer later.
    const again = Object.assign(new Error("getaddrinfo EAI_AGAIN"), { code: "EAI_AGAIN" });
    assert.equal(classifyAwsError(again).kind, "transient");
  });

  test("an unreachable region fails at the first attempt, without a retry", async () => {
    const nxdomain = Object.assign(new Error("getaddrinfo ENOTFOUND"), { code: "ENOTFOUND" });
    let attempts = 0;
    await assert.rejects(
      withRetries(
        "PutDestinationPolicy",
        () => {
          attempts++;
          return Promise.reject(nxdomain);
        },
        { maxAttempts: 5, minDelayMs: 1, maxDelayMs: 1, maxElapsedMs: 30_000 },
        undefined,
      ),
      (err: unknown) => err instanceof AwsCallError && err.kind === "unreachable",
    );
    assert.equal(attempts, 1);
  });

  test("an unknown 5xx is transient and anything else is unknown", () => {
    assert.equal(
      classifyAwsError(Object.assign(new Error("x"), { name: "Odd", ...meta(502) })).kind,
      "transient",
    );
    assert.equal(classifyAwsError(new Error("plain")).kind, "unknown");
    assert.equal(classifyAwsError("a string").kind, "unknown");
    assert.equal(classifyAwsError(null).kind, "unknown");
  });
});

describe("the retry loop", () => {
  const fast = { maxAttempts: 4, minDelayMs: 1, maxDelayMs: 2, maxElapsedMs: 5_000 };

  /** An AWS call that always fails with a fresh `error()`, counting how often it was made. */
  const alwaysFailing = (error: () => Error) => {
    const op = {
      calls: 0,
      run: () => {
        op.calls++;
        return Promise.reject(error());
      },
    };
    return op;
  };

  test("transient errors are retried until success and each retry is reported", async () => {
    let calls = 0;
    const retried: string[] = [];
    const result = await withRetries(
      "PutDestinationPolicy",
      () => {
        calls++;
        if (calls < 3)
          return Promise.reject(
            new OperationAbortedException({ message: "conflict", ...meta(400) }),
          );
        return Promise.resolve("ok");
      },
      fast,
      undefined,
      { onRetry: (_op, name) => retried.push(name) },
    );
    assert.equal(result, "ok");
    assert.equal(calls, 3);
    assert.deepEqual(retried, ["OperationAbortedException", "OperationAbortedException"]);
  });

  test("a non-transient error fails at once with its kind and attempt count", async () => {
    const op = alwaysFailing(() => new InvalidParameterException({ message: "bad", ...meta(400) }));
    await assert.rejects(
      withRetries("PutDestinationPolicy", op.run, fast, undefined),
      (err: unknown) => err instanceof AwsCallError && err.kind === "invalid" && err.attempts === 1,
    );
    assert.equal(op.calls, 1);
  });

  test("attempts are bounded and exhaustion reports the last error", async () => {
    const op = alwaysFailing(
      () => new ServiceUnavailableException({ message: "down", ...meta(500) }),
    );
    await assert.rejects(
      withRetries("PutDestinationPolicy", op.run, fast, undefined),
      (err: unknown) =>
        err instanceof AwsCallError && err.kind === "transient" && err.attempts === 4,
    );
    assert.equal(op.calls, 4);
  });

  test("an abort stops the retries", async () => {
    const controller = new AbortController();
    const op = alwaysFailing(
      () => new ServiceUnavailableException({ message: "down", ...meta(500) }),
    );
    const slow = { ...fast, minDelayMs: 10_000, maxDelayMs: 10_000 };
    const pending = withRetries("PutDestinationPolicy", op.run, slow, controller.signal);
    setTimeout(() => {
      controller.abort();
    }, 20);
    await assert.rejects(pending);
    assert.equal(op.calls, 1);
  });
});
