import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, resolveConfig } from "../../src/cli/config.ts";

describe("leader election, watch, rate-limit and role flags", () => {
  test("defaults follow controller-runtime: no leader election, 15 s / 10 s / 2 s", () => {
    const c = resolveConfig({}, {});
    assert.equal(c.leaderElect, false);
    assert.equal(c.leaderElectionNamespace, undefined);
    assert.equal(c.leaderElectionId, "log-destination-policy-controller");
    assert.equal(c.leaderElectLeaseDuration, 15_000);
    assert.equal(c.leaderElectRenewDeadline, 10_000);
    assert.equal(c.leaderElectRetryPeriod, 2_000);
    assert.equal(c.watchSilenceTimeout, 300_000);
    assert.equal(c.awsRateLimit, 5);
    assert.equal(c.awsBurst, undefined);
    assert.equal(c.awsMaxClients, 64);
    assert.equal(c.allowedRoleArns, undefined, "no role may be assumed until one is listed");
  });

  test("--leader-elect works bare, with a value, and from the environment", () => {
    assert.equal(resolveConfig({ leaderElect: true }, {}).leaderElect, true);
    assert.equal(resolveConfig({ leaderElect: "false" }, {}).leaderElect, false);
    assert.equal(resolveConfig({}, { LDPC_LEADER_ELECT: "true" }).leaderElect, true);
    assert.throws(() => resolveConfig({ leaderElect: "yes please" }, {}), /--leader-elect/);
  });

  test("lease timings that would let a follower take over before the leader stops are refused", () => {
    assert.throws(
      () => resolveConfig({ leaderElectLeaseDuration: "11s" }, {}),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message.includes("--leader-elect-lease-duration (LDPC_LEADER_ELECT_LEASE_DURATION)"),
    );
    assert.throws(
      () => resolveConfig({ leaderElectRenewDeadline: "2s" }, {}),
      /--leader-elect-renew-deadline/,
    );
    const short = resolveConfig(
      {
        leaderElectLeaseDuration: "6s",
        leaderElectRenewDeadline: "4s",
        leaderElectRetryPeriod: "1s",
      },
      {},
    );
    assert.equal(short.leaderElectLeaseDuration, 6_000);
  });

  test("the allow-list is parsed once, and a bad entry names the flag", () => {
    const c = resolveConfig(
      {},
      {
        LDPC_ALLOWED_ROLE_ARNS: "arn:aws:iam::111122223333:role/a, arn:aws:iam::*:role/ldp-*",
      },
    );
    assert.equal(c.allowedRoleArns?.size, 2);
    assert.ok(c.allowedRoleArns.allows("arn:aws:iam::999988887777:role/ldp-x"));
    assert.throws(
      () => resolveConfig({ allowedRoleArns: "arn:aws:iam::111122223333:role/a,*" }, {}),
      /--allowed-role-arns \(LDPC_ALLOWED_ROLE_ARNS\): "\*" is not an IAM role ARN/,
    );
  });

  test("the rate limit takes fractions and 0; the burst must be a whole number of at least 1", () => {
    assert.equal(resolveConfig({ awsRateLimit: "0.5" }, {}).awsRateLimit, 0.5);
    assert.equal(resolveConfig({ awsRateLimit: "0" }, {}).awsRateLimit, 0);
    assert.equal(resolveConfig({ awsBurst: "20" }, {}).awsBurst, 20);
    assert.throws(() => resolveConfig({ awsRateLimit: "-1" }, {}), /--aws-rate-limit/);
    assert.throws(() => resolveConfig({ awsBurst: "0" }, {}), /--aws-burst/);
    assert.throws(() => resolveConfig({ watchSilenceTimeout: "10ms" }, {}), /at least 1s/);
  });

  test("the client cap is a whole number of at least 1", () => {
    assert.equal(resolveConfig({}, { LDPC_AWS_MAX_CLIENTS: "64" }).awsMaxClients, 64);
    assert.throws(() => resolveConfig({ awsMaxClients: "0" }, {}), /--aws-max-clients/);
    assert.throws(() => resolveConfig({ awsMaxClients: "1.5" }, {}), /--aws-max-clients/);
  });
});
