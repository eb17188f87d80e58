import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, resolveConfig } from "../../src/cli/config.ts";

describe("configuration", () => {
  test("defaults follow controller-runtime's flags", () => {
    const c = resolveConfig({}, {});
    assert.equal(c.maxConcurrentReconciles, 32);
    assert.deepEqual(c.metricsBindAddress, { host: "0.0.0.0", port: 8080 });
    assert.deepEqual(c.healthProbeBindAddress, { host: "0.0.0.0", port: 8081 });
    assert.equal(c.watchNamespace, undefined);
    assert.equal(c.logLevel, "info");
  });

  test("flags win over environment variables, which win over defaults", () => {
    const env = {
      LDPC_MAX_CONCURRENT_RECONCILES: "8",
      LDPC_WATCH_NAMESPACE: "a, b",
      AWS_REGION: "eu-west-1",
    };
    const c = resolveConfig({ maxConcurrentReconciles: "2" }, env);
    assert.equal(c.maxConcurrentReconciles, 2);
    assert.deepEqual(c.watchNamespace, ["a", "b"]);
    assert.equal(c.awsRegion, "eu-west-1");
  });

  test("durations and disabled addresses are understood", () => {
    const c = resolveConfig(
      { awsMaxRetryTime: "1.5s", shutdownGracePeriod: "2m", metricsBindAddress: "0" },
      {},
    );
    assert.equal(c.awsMaxRetryTime, 1500);
    assert.equal(c.shutdownGracePeriod, 120_000);
    assert.equal(c.metricsBindAddress, undefined);
  });

  test("metrics are plain HTTP by default, and --metrics-secure with a certificate folder secures them", () => {
    assert.equal(resolveConfig({}, {}).metricsSecure, false);
    const c = resolveConfig({ metricsSecure: true }, { LDPC_METRICS_CERT_DIR: "/certs" });
    assert.equal(c.metricsSecure, true);
    assert.equal(c.metricsCertDir, "/certs");
  });

  test("a certificate folder without --metrics-secure is refused, naming both flags", () => {
    assert.throws(
      () => resolveConfig({ metricsCertDir: "/certs" }, {}),
      /--metrics-cert-dir \(LDPC_METRICS_CERT_DIR\): needs --metrics-secure/,
    );
  });

  test("a bad value names the flag and its environment variable", () => {
    assert.throws(
      () => resolveConfig({ maxConcurrentReconciles: "0" }, {}),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message.includes("--max-concurrent-reconciles (LDPC_MAX_CONCURRENT_RECONCILES)"),
    );
    assert.throws(
      () => resolveConfig({}, { LDPC_AWS_MAX_RETRY_TIME: "soon" }),
      /--aws-max-retry-time.*not a duration/,
    );
    assert.throws(
      () => resolveConfig({ metricsBindAddress: "localhost" }, {}),
      /--metrics-bind-address.*host:port/,
    );
  });
});
