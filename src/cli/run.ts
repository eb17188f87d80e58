// Assembles the controller from its parts and runs it until SIGTERM or SIGINT.
import { hostname } from "node:os";
import { DestinationPolicyClient } from "../aws/destinations.ts";
import { DEFAULT_RETRY_POLICY } from "../aws/retry.ts";
import { PolicyController } from "../controller/controller.ts";
import { loadKubeConfig } from "../kube/client.ts";
import { KubeEventRecorder } from "../kube/events.ts";
import { KubePolicyWriter } from "../kube/resources.ts";
import { PolicyWatcher } from "../kube/watch.ts";
import type { Logger } from "../logger.ts";
import { ControllerMetrics } from "../metrics/metrics.ts";
import { closeServer, serveMetrics, serveProbes } from "../metrics/server.ts";
import type { Config } from "./config.ts";

export const FIELD_MANAGER = "log-destination-policy-controller";
const REPORTING_CONTROLLER = "logs.gitops.dev/log-destination-policy-controller";
// After the grace period, status writes of aborted reconciles get this long to land.
const FLUSH_MS = 5_000;

export async function runController(
  config: Config,
  log: Logger,
  stopSignal: AbortSignal,
): Promise<void> {
  const kc = loadKubeConfig(config.kubeconfig);
  const metrics = new ControllerMetrics();
  const aws = new DestinationPolicyClient({
    retry: {
      ...DEFAULT_RETRY_POLICY,
      maxAttempts: config.awsMaxAttempts,
      maxElapsedMs: config.awsMaxRetryTime,
    },
    observer: metrics.awsObserver(),
  });
  const events = new KubeEventRecorder(kc, REPORTING_CONTROLLER, hostname(), (err: unknown) => {
    log.warn({ err: String(err) }, "could not record event");
  });
  const cache = { get: (namespace: string, name: string) => watcher.get(namespace, name) };
  const controller = new PolicyController(
    cache,
    aws,
    new KubePolicyWriter(kc, FIELD_MANAGER),
    events,
    metrics,
    log,
    {
      concurrency: config.maxConcurrentReconciles,
      defaultRegion: config.awsRegion,
      defaultDriftIntervalMs: config.driftDetectionInterval,
      denyPublicAccessOverride: config.denyPublicAccessOverride,
    },
  );
  const watcher = new PolicyWatcher(kc, config.watchNamespace, {
    upsert: (obj) => {
      controller.upsert(obj);
    },
    remove: (obj) => {
      controller.remove(obj);
    },
    error: (err, namespace, retryInMs) => {
      log.warn({ err: String(err), namespace, retryInMs }, "watch failed; restarting");
    },
  });

  const servers = [];
  if (config.metricsBindAddress) {
    const { server, address } = await serveMetrics(metrics.registry, config.metricsBindAddress);
    servers.push(server);
    log.info({ address: `${address.address}:${address.port}` }, "serving metrics");
  }
  if (config.healthProbeBindAddress) {
    const probes = { healthy: () => true, ready: () => watcher.synced };
    const { server, address } = await serveProbes(probes, config.healthProbeBindAddress);
    servers.push(server);
    log.info({ address: `${address.address}:${address.port}` }, "serving health probes");
  }

  watcher.start();
  const running = controller.run();
  log.info(
    { namespaces: config.watchNamespace ?? "all", concurrency: config.maxConcurrentReconciles },
    "controller started",
  );

  await new Promise<void>((resolve) => {
    if (stopSignal.aborted) resolve();
    stopSignal.addEventListener("abort", () => {
      resolve();
    });
  });
  log.info({ gracePeriodMs: config.shutdownGracePeriod }, "shutting down");
  await watcher.stop();
  // Retries are aborted at once; what is in flight records "Interrupted" in status.
  controller.stop(true);
  const finished = await Promise.race([
    running.then(() => true),
    sleep(config.shutdownGracePeriod + FLUSH_MS).then(() => false),
  ]);
  if (!finished) log.warn("in-flight reconciles did not finish within the grace period");
  await Promise.all(servers.map(closeServer));
  aws.destroy();
  log.info("stopped");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
