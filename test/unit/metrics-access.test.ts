// Who may read the secured /metrics: the decision from the API server's
// TokenReview and SubjectAccessReview answers (a fake reviewer here), its
// cache, and the bounds on what an unauthenticated client can make it do.
import assert from "node:assert/strict";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "node:https";
import { describe, test } from "node:test";
import { Registry } from "prom-client";
import {
  bearerToken,
  MetricsAccess,
  type AccessReviewer,
  type UserInfo,
} from "../../src/metrics/access.ts";
import {
  derInteger,
  selfSignedCertificate,
  type KeyAndCert,
} from "../../src/metrics/self-signed.ts";
import { servingCertificate, watchServingCertificate } from "../../src/metrics/serving-cert.ts";
import { closeServer, serveMetrics } from "../../src/metrics/server.ts";
import { TtlCache } from "../../src/util/ttl-cache.ts";

const READER: UserInfo = {
  username: "system:serviceaccount:monitoring:prometheus",
  uid: "u-1",
  groups: ["system:serviceaccounts", "system:authenticated"],
  extra: { "authentication.kubernetes.io/pod-name": ["prometheus-0"] },
};
const STRANGER: UserInfo = { username: "system:serviceaccount:team-a:app" };

/** Tokens "reader" and "stranger" authenticate; only the reader may get /metrics. */
class FakeReviewer implements AccessReviewer {
  readonly tokenReviews: string[] = [];
  readonly accessReviews: { user: UserInfo; path: string; verb: string }[] = [];
  fail = false;
  hang = false;
  #release: (() => void)[] = [];

  async authenticate(token: string, signal: AbortSignal): Promise<UserInfo | undefined> {
    this.tokenReviews.push(token);
    await this.#wait(signal);
    if (this.fail) throw new Error("connect ECONNREFUSED");
    return token === "reader" ? READER : token === "stranger" ? STRANGER : undefined;
  }

  async authorize(
    user: UserInfo,
    req: { path: string; verb: string },
    signal: AbortSignal,
  ): Promise<boolean> {
    this.accessReviews.push({ user, ...req });
    await this.#wait(signal);
    return user.username === READER.username && req.path === "/metrics" && req.verb === "get";
  }

  /** Lets the reviews that wait go on. */
  release(): void {
    for (const go of this.#release.splice(0)) go();
  }

  #wait(signal: AbortSignal): Promise<void> {
    if (!this.hang) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#release.push(resolve);
      signal.addEventListener("abort", () => {
        reject(signal.reason as Error);
      });
    });
  }
}

function setup(options: ConstructorParameters<typeof MetricsAccess>[2] = {}) {
  const reviewer = new FakeReviewer();
  const clock = { current: 0, now: () => clock.current };
  const errors: unknown[] = [];
  const access = new MetricsAccess(reviewer, clock, options, (err) => errors.push(err));
  return { reviewer, clock, access, errors };
}

describe("who may read the secured /metrics", () => {
  const cases: {
    name: string;
    header: string | undefined;
    status: number;
    tokenReviews: number;
    accessReviews: number;
  }[] = [
    {
      name: "a scrape without an Authorization header is refused with 401 and reviews nothing",
      header: undefined,
      status: 401,
      tokenReviews: 0,
      accessReviews: 0,
    },
    {
      name: "basic credentials are refused with 401 and never sent to the API server",
      header: "Basic cmVhZGVyOnB3",
      status: 401,
      tokenReviews: 0,
      accessReviews: 0,
    },
    {
      name: "an empty bearer token is refused with 401 and reviews nothing",
      header: "Bearer ",
      status: 401,
      tokenReviews: 0,
      accessReviews: 0,
    },
    {
      name: "a token longer than the limit is refused with 401 and reviews nothing",
      header: `Bearer ${"a".repeat(9000)}`,
      status: 401,
      tokenReviews: 0,
      accessReviews: 0,
    },
    {
      name: "a token the API server does not authenticate is refused with 401 after one TokenReview",
      header: "Bearer garbage",
      status: 401,
      tokenReviews: 1,
      accessReviews: 0,
    },
    {
      name: "an authenticated user who may not get /metrics is refused with 403",
      header: "Bearer stranger",
      status: 403,
      tokenReviews: 1,
      accessReviews: 1,
    },
    {
      name: "an authenticated user who may get /metrics is let through",
      header: "Bearer reader",
      status: 200,
      tokenReviews: 1,
      accessReviews: 1,
    },
    {
      name: "the scheme is case-insensitive, as HTTP says",
      header: "bearer reader",
      status: 200,
      tokenReviews: 1,
      accessReviews: 1,
    },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const { reviewer, access } = setup();
      const verdict = await access.check(c.header, "/metrics");
      assert.equal(verdict.status, c.status, verdict.reason);
      assert.equal(reviewer.tokenReviews.length, c.tokenReviews);
      assert.equal(reviewer.accessReviews.length, c.accessReviews);
    });
  }

  test("the access review asks for get on /metrics for the user, uid, groups and extra the token review named", async () => {
    const { reviewer, access } = setup();
    await access.check("Bearer reader", "/metrics");
    assert.deepEqual(reviewer.accessReviews, [{ user: READER, path: "/metrics", verb: "get" }]);
  });

  test("a refusal names the user and what was refused, and nothing else", async () => {
    const { access } = setup();
    assert.deepEqual(await access.check("Bearer stranger", "/metrics"), {
      status: 403,
      reason: "system:serviceaccount:team-a:app may not get /metrics",
    });
  });

  test("an allowed token is reviewed again only once its answer has expired", async () => {
    const { reviewer, clock, access } = setup({ allowedTtlMs: 60_000 });
    for (const at of [0, 15_000, 30_000, 45_000, 59_999]) {
      clock.current = at;
      assert.equal((await access.check("Bearer reader", "/metrics")).status, 200);
    }
    assert.equal(reviewer.tokenReviews.length, 1);
    clock.current = 60_000;
    assert.equal((await access.check("Bearer reader", "/metrics")).status, 200);
    assert.equal(reviewer.tokenReviews.length, 2);
  });

  test("a refusal is remembered for a shorter time, so a new binding takes effect soon", async () => {
    const { reviewer, clock, access } = setup({ allowedTtlMs: 60_000, deniedTtlMs: 10_000 });
    await access.check("Bearer stranger", "/metrics");
    clock.current = 9_999;
    await access.check("Bearer stranger", "/metrics");
    assert.equal(reviewer.tokenReviews.length, 1);
    clock.current = 10_000;
    await access.check("Bearer stranger", "/metrics");
    assert.equal(reviewer.tokenReviews.length, 2);
  });

  test("an API server that cannot answer gives 503, and the next scrape asks again", async () => {
    const { reviewer, access, errors } = setup();
    reviewer.fail = true;
    assert.equal((await access.check("Bearer reader", "/metrics")).status, 503);
    assert.equal(errors.length, 1);
    reviewer.fail = false;
    assert.equal((await access.check("Bearer reader", "/metrics")).status, 200);
    assert.equal(reviewer.tokenReviews.length, 2);
  });

  test("a review that hangs is given up after the timeout with 503", async () => {
    const { reviewer, access } = setup({ reviewTimeoutMs: 20 });
    reviewer.hang = true;
    assert.equal((await access.check("Bearer reader", "/metrics")).status, 503);
  });

  test("scrapes that carry the same token at once share one review", async () => {
    const { reviewer, access } = setup();
    reviewer.hang = true;
    const verdicts = Array.from({ length: 5 }, () => access.check("Bearer reader", "/metrics"));
    await Promise.resolve();
    reviewer.release();
    await new Promise((resolve) => setImmediate(resolve));
    reviewer.release();
    assert.deepEqual(
      (await Promise.all(verdicts)).map((v) => v.status),
      [200, 200, 200, 200, 200],
    );
    assert.equal(reviewer.tokenReviews.length, 1);
  });

  test("beyond the reviews allowed at once, a new token is answered 429 without a review", async () => {
    const { reviewer, access } = setup({ maxInFlight: 2 });
    reviewer.hang = true;
    const first = access.check("Bearer a", "/metrics");
    const second = access.check("Bearer b", "/metrics");
    const third = await access.check("Bearer c", "/metrics");
    assert.equal(third.status, 429);
    assert.deepEqual(reviewer.tokenReviews, ["a", "b"]);
    reviewer.release();
    assert.deepEqual([(await first).status, (await second).status], [401, 401]);
  });

  test("many different tokens do not grow the cache past its bound", async () => {
    const { reviewer, access } = setup({ maxEntries: 3 });
    for (const token of ["a", "b", "c", "d", "reader"])
      await access.check(`Bearer ${token}`, "/metrics");
    await access.check("Bearer reader", "/metrics");
    assert.equal(reviewer.tokenReviews.length, 5, "the newest entry is still there");
    await access.check("Bearer a", "/metrics");
    assert.equal(reviewer.tokenReviews.length, 6, "the oldest entry was forgotten");
  });
});

describe("the bearer token of an Authorization header", () => {
  const cases: [string, string | undefined, string | undefined][] = [
    ["a plain bearer token is read", "Bearer abc.def-ghi_jkl", "abc.def-ghi_jkl"],
    ["base64 padding is kept", "Bearer YWJj==", "YWJj=="],
    ["a token with a space inside is no token", "Bearer abc def", undefined],
    ["a missing header is no token", undefined, undefined],
    ["another scheme is no token", "Token abc", undefined],
  ];
  for (const [name, header, token] of cases) {
    test(name, () => {
      assert.equal(bearerToken(header, 8192), token);
    });
  }
});

describe("the TTL cache", () => {
  test("an entry is gone once it has expired", () => {
    const cache = new TtlCache<string, number>(2);
    cache.set("a", 1, 10);
    assert.equal(cache.get("a", 9), 1);
    assert.equal(cache.get("a", 10), undefined);
    assert.equal(cache.size, 0);
  });

  test("a read keeps an entry from being the next one forgotten", () => {
    const cache = new TtlCache<string, number>(2);
    cache.set("a", 1, 100);
    cache.set("b", 2, 100);
    cache.get("a", 0);
    cache.set("c", 3, 100);
    assert.deepEqual(
      ["a", "b", "c"].map((k) => cache.get(k, 0)),
      [1, undefined, 3],
    );
  });

  test("a bound that is not a positive integer is refused", () => {
    assert.throws(() => new TtlCache(0), /maxEntries must be a positive integer, got 0/);
  });
});

describe("the self-signed serving certificate", () => {
  test("encodes integers as DER does: no leading zero byte unless the high bit needs one", () => {
    const hex = (bytes: number[]) => derInteger(Buffer.from(bytes)).toString("hex");
    assert.equal(hex([0x00, 0x12, 0x34]), "02021234");
    assert.equal(hex([0x00, 0x00, 0x92]), "02020092");
    assert.equal(hex([0x92, 0x01]), "0203009201");
    assert.equal(hex([0x00]), "020100");
    assert.equal(hex([0x02]), "020102");
  });

  test("parses whatever its random serial: a hundred in a row", async () => {
    for (let i = 0; i < 100; i++) {
      const pair = await selfSignedCertificate("ldpc", ["localhost"], 1);
      assert.equal(new X509Certificate(pair.cert).subject, "CN=ldpc");
    }
  });

  test("is a parseable, self-verifying leaf certificate for the names asked, with its key", async () => {
    const now = new Date("2026-01-01T00:00:00Z");
    const pair = await selfSignedCertificate("ldpc", ["localhost", "127.0.0.1", "::1"], 365, now);
    const cert = new X509Certificate(pair.cert);
    assert.equal(cert.subject, "CN=ldpc");
    assert.equal(
      cert.subjectAltName,
      "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1",
    );
    assert.equal(cert.ca, false);
    assert.ok(cert.verify(cert.publicKey));
    assert.ok(cert.checkPrivateKey(createPrivateKey(pair.key)));
    assert.equal(new Date(cert.validFrom).toISOString(), "2025-12-31T23:00:00.000Z");
    assert.equal(new Date(cert.validTo).toISOString(), "2027-01-01T00:00:00.000Z");
    assert.deepEqual(cert.keyUsage, ["1.3.6.1.5.5.7.3.1"]);
  });

  test("a validity past 2049 is written as GeneralizedTime and still parses", async () => {
    const pair = await selfSignedCertificate(
      "x",
      ["localhost"],
      30,
      new Date("2060-06-01T00:00:00Z"),
    );
    assert.equal(
      new Date(new X509Certificate(pair.cert).validTo).toISOString(),
      "2060-07-01T00:00:00.000Z",
    );
  });
});

describe("the secured metrics server", () => {
  test("serves HTTPS that a client trusting the certificate verifies, with the access check's status codes", async () => {
    const registry = new Registry();
    const tls = await selfSignedCertificate("ldpc", ["localhost", "127.0.0.1"], 1);
    const { access } = setup();
    const { server, address } = await serveMetrics(
      registry,
      { host: "127.0.0.1", port: 0 },
      { tls, access },
    );
    try {
      const get = (path: string, headers: Record<string, string> = {}, method = "GET") =>
        new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
          (resolve, reject) => {
            const req = request(
              { host: "127.0.0.1", port: address.port, path, method, headers, ca: tls.cert },
              (res) => {
                let body = "";
                res.setEncoding("utf8").on("data", (c: string) => (body += c));
                res.on("end", () => {
                  resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
                });
              },
            );
            req.on("error", reject);
            req.end();
          },
        );
      const none = await get("/metrics");
      assert.equal(none.status, 401);
      assert.equal(none.headers["www-authenticate"], 'Bearer realm="metrics"');
      assert.equal((await get("/metrics", { Authorization: "Bearer garbage" })).status, 401);
      assert.equal((await get("/metrics", { Authorization: "Bearer stranger" })).status, 403);
      const ok = await get("/metrics", { Authorization: "Bearer reader" });
      assert.equal(ok.status, 200);
      assert.match(String(ok.headers["content-type"]), /^text\/plain; version=0\.0\.4/);
      assert.equal((await get("/metrics", { Authorization: "Bearer reader" }, "POST")).status, 405);
      assert.equal((await get("/healthz", { Authorization: "Bearer reader" })).status, 404);
    } finally {
      await closeServer(server);
    }
  });
});

describe("the mounted serving certificate", () => {
  const writePair = async (dir: string, pair: KeyAndCert) => {
    await writeFile(join(dir, "tls.crt"), pair.cert);
    await writeFile(join(dir, "tls.key"), pair.key);
  };
  const until = async (what: string, check: () => boolean) => {
    for (let i = 0; i < 500 && !check(); i++) await sleep(10);
    assert.ok(check(), what);
  };

  test("is read from tls.crt and tls.key, and a missing or mismatched file is refused by name", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ldpc-certs-"));
    try {
      await assert.rejects(servingCertificate(dir), /--metrics-cert-dir: cannot read .*tls\.crt/);
      const [a, b] = [
        await selfSignedCertificate("a", ["localhost"], 1),
        await selfSignedCertificate("b", ["localhost"], 1),
      ];
      await writePair(dir, { cert: a.cert, key: b.key });
      await assert.rejects(servingCertificate(dir), /are not a certificate and its key/);
      await writePair(dir, a);
      assert.deepEqual(await servingCertificate(dir), { ...a, source: "files" });
      assert.equal((await servingCertificate(undefined)).source, "self-signed");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("a renewed pair is handed over once written, and a bad one keeps the old", async () => {
    const dir = await mkdtemp(join(tmpdir(), "ldpc-certs-"));
    const applied: KeyAndCert[] = [];
    const errors: unknown[] = [];
    const first = await selfSignedCertificate("first", ["localhost"], 1);
    await writePair(dir, first);
    const stop = watchServingCertificate(
      dir,
      first,
      (pair) => applied.push(pair),
      (err) => errors.push(err),
      10,
    );
    try {
      const second = await selfSignedCertificate("second", ["localhost"], 1);
      await writeFile(join(dir, "tls.crt"), second.cert);
      await until("the half-written pair is refused", () => errors.length > 0);
      assert.equal(applied.length, 0);
      await writeFile(join(dir, "tls.key"), second.key);
      await until("the renewed pair is handed over", () => applied.length === 1);
      assert.deepEqual(applied, [second]);
    } finally {
      stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
