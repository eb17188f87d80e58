// Secured /metrics on the real API server: the controller runs under the
// chart's ServiceAccount token with the flags the chart passes, so its reviews
// use only the chart's RBAC. A TokenRequest token bound to the chart's
// metrics-reader ClusterRole scrapes; others are refused. Then the real
// Prometheus scrapes with the settings the chart's ServiceMonitor renders.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { selfSignedCertificate } from "../../src/metrics/self-signed.ts";
import { scrape, startController, type RunningController } from "../support/controller.ts";
import { getTestEnv, newNamespace, type TestEnv } from "../support/env.ts";
import { deletePolicies, renderChart, type Values } from "../support/chart.ts";
import { installCrd, waitFor } from "../support/policies.ts";
import {
  scrapeSettings,
  startPrometheus,
  type MonitorEndpoint,
  type RunningPrometheus,
} from "../support/prometheus.ts";
import { installRbac, scraperAccount, type Installed } from "../support/rbac.ts";

const RELEASE = "secure";
const CERT_SECRET = "ldpc-metrics-cert";

const scratch = await mkdtemp(join(tmpdir(), "ldpc-metrics-secure-"));
after(() => rm(scratch, { recursive: true, force: true }));

describe("secured /metrics under the chart's RBAC", () => {
  let env: TestEnv;
  let namespace: string;
  let installed: Installed;
  let reader: { user: string; token: string };
  let stranger: { user: string; token: string };
  let selfSigned: RunningController;
  let mounted: RunningController;
  let certPem: string;
  let serverName: string;
  let prometheus: RunningPrometheus | undefined;

  const monitorEndpoint = async (values: Values): Promise<MonitorEndpoint> => {
    const objects = await renderChart(
      env.helm,
      { ...values, serviceMonitor: { enabled: true } },
      { release: RELEASE, namespace, kubeVersion: env.kubernetesVersion },
    );
    const monitor = objects.find((o) => o.kind === "ServiceMonitor") as unknown as {
      spec: { endpoints: MonitorEndpoint[] };
    };
    const [endpoint] = monitor.spec.endpoints;
    assert.ok(endpoint);
    return endpoint;
  };

  before(async () => {
    env = await getTestEnv();
    await installCrd(env);
    namespace = await newNamespace(env.kubeConfig, "metrics-secure");
    installed = await installRbac(env, RELEASE, namespace, {}, scratch);
    const role = `${installed.serviceAccount}-metrics-reader`;
    reader = await scraperAccount(env, namespace, "prometheus", role);
    stranger = await scraperAccount(env, namespace, "stranger");
    const base = [...installed.args, "--kubeconfig", installed.kubeconfig];
    base.push("--watch-namespace", namespace);
    assert.ok(installed.args.includes("--metrics-secure"));
    selfSigned = await startController(env, { args: base, metricsToken: reader.token });

    // A kubernetes.io/tls Secret as cert-manager's SelfSigned issuer writes it,
    // for the Service name the ServiceMonitor verifies.
    serverName = `${installed.serviceAccount}-metrics.${namespace}.svc`;
    const pair = await selfSignedCertificate(serverName, [serverName, "127.0.0.1"], 1);
    certPem = pair.cert;
    const certDir = join(scratch, "certs");
    await mkdir(certDir);
    await writeFile(join(certDir, "tls.crt"), pair.cert);
    await writeFile(join(certDir, "tls.key"), pair.key);
    await writeFile(join(certDir, "ca.crt"), pair.cert);
    const withSecret = await renderChart(
      env.helm,
      { metrics: { certSecret: CERT_SECRET } },
      { release: RELEASE, namespace, kubeVersion: env.kubernetesVersion },
    );
    const deployment = withSecret.find((o) => o.kind === "Deployment") as unknown as {
      spec: { template: { spec: { containers: { args: string[] }[] } } };
    };
    const args = (deployment.spec.template.spec.containers[0]?.args ?? [])
      .filter((a) => !/^--(metrics-bind-address|health-probe-bind-address)=/.test(a))
      .map((a) => (a.startsWith("--metrics-cert-dir=") ? `--metrics-cert-dir=${certDir}` : a));
    assert.ok(args.includes(`--metrics-cert-dir=${certDir}`));
    mounted = await startController(env, {
      args: [...args, "--kubeconfig", installed.kubeconfig, "--watch-namespace", namespace],
      metricsToken: reader.token,
    });
  });

  after(async () => {
    await prometheus?.stop();
    assert.equal(await selfSigned.stop(), 0);
    assert.equal(await mounted.stop(), 0);
    await deletePolicies(env, [namespace]);
  });

  test("metrics are served over HTTPS", () => {
    assert.match(selfSigned.metricsUrl, /^https:\/\/127\.0\.0\.1:\d+\/metrics$/);
  });

  test("a token bound to metrics-reader scrapes /metrics: 200", async () => {
    const res = await scrape(selfSigned.metricsUrl, { token: reader.token });
    assert.equal(res.status, 200, res.body);
    assert.match(res.body, /^log_destination_policy_build_info\{/m);
  });

  test("a token of an account without the binding gets 403, naming the account", async () => {
    const res = await scrape(selfSigned.metricsUrl, { token: stranger.token });
    assert.equal(res.status, 403);
    assert.equal(res.body, `${stranger.user} may not get /metrics\n`);
  });

  test("a scrape without a token gets 401 and a Bearer challenge", async () => {
    const res = await scrape(selfSigned.metricsUrl);
    assert.equal(res.status, 401);
    assert.equal(res.headers["www-authenticate"], 'Bearer realm="metrics"');
  });

  test("a garbage token gets 401", async () => {
    const res = await scrape(selfSigned.metricsUrl, { token: "not-a-token" });
    assert.equal(res.status, 401);
    const forged = `${reader.token.slice(0, -4)}AAAA`;
    assert.equal((await scrape(selfSigned.metricsUrl, { token: forged })).status, 401);
  });

  test("the health probes stay plain HTTP without a token, as the kubelet calls them", async () => {
    for (const path of ["/healthz", "/readyz"]) {
      const res = await fetch(`${selfSigned.healthUrl}${path}`);
      assert.equal(res.status, 200, path);
    }
  });

  test("with a mounted certificate, a client that trusts its CA verifies the server and scrapes", async () => {
    const res = await scrape(mounted.metricsUrl, { token: reader.token, ca: certPem });
    assert.equal(res.status, 200, res.body);
    assert.equal((await scrape(mounted.metricsUrl, { token: stranger.token })).status, 403);
  });

  test("the controller's reviews hit no permission error under the chart's RBAC", () => {
    const denied = [...selfSigned.logs, ...mounted.logs].filter((l) =>
      /forbidden|\b403\b|could not review/i.test(JSON.stringify(l)),
    );
    assert.deepEqual(denied, []);
  });

  test("the real Prometheus scrapes both with the ServiceMonitor's settings, and the targets are up", async () => {
    const tokenFile = join(scratch, "prometheus.token");
    await writeFile(tokenFile, reader.token);
    const selfSignedEndpoint = await monitorEndpoint({});
    const mountedEndpoint = await monitorEndpoint({ metrics: { certSecret: CERT_SECRET } });
    assert.equal(selfSignedEndpoint.tlsConfig?.insecureSkipVerify, true);
    assert.equal(mountedEndpoint.tlsConfig?.serverName, serverName);
    const address = (url: string) => new URL(url).host;
    const files = {
      bearerTokenFile: tokenFile,
      secretKeys: { [`${CERT_SECRET}/ca.crt`]: join(scratch, "certs", "ca.crt") },
    };
    prometheus = await startPrometheus({
      targets: [
        {
          job: "self-signed",
          address: address(selfSigned.metricsUrl),
          settings: scrapeSettings(selfSignedEndpoint, files),
        },
        {
          job: "mounted",
          address: address(mounted.metricsUrl),
          settings: scrapeSettings(mountedEndpoint, files),
        },
      ],
    });
    const running = prometheus;
    let seen = "";
    await waitFor(
      "both targets up",
      async () => {
        const targets = await running.targets();
        seen = JSON.stringify(targets.map((x) => [x.labels.job, x.health, x.lastError]));
        return targets.length === 2 && targets.every((x) => x.health === "up");
      },
      30_000,
      () => seen,
    );
    const result = await running.query('log_destination_policy_build_info{job="mounted"}');
    assert.equal(result.data?.result.length, 1);
  });
});
