// Assembles the controller from its parts and runs it until SIGTERM or SIGINT,
// or, with leader election, until it loses its Lease.
import { readFileSync } from "node:fs";
import type { Server } from "node:http";
import { hostname } from "node:os";
import { DestinationPolicyClient } from "../aws/destinations.ts";
import { DEFAULT_RETRY_POLICY } from "../aws/retry.ts";
import { RoleAllowList } from "../aws/roles.ts";
import { PolicyController } from "../controller/controller.ts";
import { loadKubeConfig, resetConnections } from "../kube/client.ts";
import { KubeEventRecorder } from "../kube/events.ts";
import { KubeLeaseStore, LeaderElector, leaderIdentity, type LostReason } from "../kube/lease.ts";
import { KubeBindingStatusWriter, KubePolicyWriter } from "../kube/resources.ts";
import {
  BINDING_RESOURCE,
  bindingReflector,
  KubeWatchTransport,
  NAMESPACE_RESOURCE,
  namespaceReflector,
  PolicyWatcher,
  type StreamEvent,
} from "../kube/watch.ts";
import { Tenancy } from "../controller/tenancy.ts";
import { trimBinding, trimNamespace } from "../kube/trim.ts";
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "../logger.ts";
import { ControllerMetrics } from "../metrics/metrics.ts";
import { registerBuildInfo } from "../metrics/build-info.ts";
import { ResilienceMetrics } from "../metrics/resilience.ts";
import { closeServer, serveMetrics, serveProbes } from "../metrics/server.ts";
import type { Config } from "./config.ts";
import { pause } from "../util/sleep.ts";

export const FIELD_MANAGER = "log-destination-policy-controller";
const REPORTING_CONTROLLER = "logs.gitops.dev/log-destination-policy-controller";
// After the grace period, status writes of aborted reconciles get this long to land.
const FLUSH_MS = 5_000;
// A leader that lost its Lease gives aborted work this long before it exits.
const LOST_EXIT_MS = 2_000;
// Queued events get this long to be written at shutdown.
const EVENT_FLUSH_MS = 2_000;
const EVENT_DROP_LOG_MS = 10_000;
const SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/** The Lease was lost: the process must exit non-zero and be restarted, as controller-runtime does. */
export class LeadershipLostError extends Error {
  override name = "LeadershipLostError";
}

export async function runController(
  config: Config,
  log: Logger,
  stopSignal: AbortSignal,
  version = "unknown",
): Promise<void> {
  const kc = loadKubeConfig(config.kubeconfig);
  const metrics = new ControllerMetrics();
  const resilience = new ResilienceMetrics(metrics.registry);
  registerBuildInfo(metrics.registry, version);

  let elector: LeaderElector | undefined;
  const leaseName = config.leaderElectionId;
  if (config.leaderElect) {
    const namespace = config.leaderElectionNamespace ?? podNamespace();
    elector = new LeaderElector(
      new KubeLeaseStore(kc, namespace, leaseName),
      {
        identity: leaderIdentity(hostname()),
        leaseDurationMs: config.leaderElectLeaseDuration,
        renewDeadlineMs: config.leaderElectRenewDeadline,
        retryPeriodMs: config.leaderElectRetryPeriod,
      },
      {
        newLeader: (holder) => {
          log.info({ lease: `${namespace}/${leaseName}`, holder }, "leader observed");
        },
        attemptFailed: (err, leading) => {
          log.warn({ err: String(err), leading }, "could not read or update the lease");
          // A request that timed out may sit on a connection that died silently.
          if (err instanceof Error && err.name === "TimeoutError") resetConnections(kc);
        },
      },
    );
    resilience.leaderStatus.set({ name: leaseName }, 0);
  }
  // Once the Lease is lost, nothing this process still has in flight may write.
  const mayWrite = () => elector?.leading ?? true;

  const rate = config.awsRateLimit;
  const aws = new DestinationPolicyClient({
    retry: {
      ...DEFAULT_RETRY_POLICY,
      maxAttempts: config.awsMaxAttempts,
      maxElapsedMs: config.awsMaxRetryTime,
    },
    observer: {
      ...metrics.awsObserver(),
      rateLimited: (_key, seconds) => {
        resilience.rateLimitWait.observe(seconds);
      },
      assumeRole: (outcome) => {
        resilience.assumeRole.inc({ outcome });
      },
    },
    rateLimit: { ratePerSecond: rate, burst: config.awsBurst ?? Math.max(1, Math.ceil(rate)) },
    allowedRoles: config.allowedRoleArns ?? RoleAllowList.parse([]),
    sessionTags: config.roleSessionTags,
    mayCall: mayWrite,
  });
  // Looked up before the first object, so status can name the account of the
  // first policy applied; a failure is retried when an object needs it.
  if (config.awsRegion !== undefined) void aws.account({ region: config.awsRegion });
  let lastDropLog = 0;
  const events = new KubeEventRecorder(
    kc,
    REPORTING_CONTROLLER,
    hostname(),
    (reason, err) => {
      metrics.eventsDropped.inc({ reason });
      // Counted always, logged at most every few seconds: a flood of drops must not flood the log.
      if (Date.now() - lastDropLog < EVENT_DROP_LOG_MS) return;
      lastDropLog = Date.now();
      if (reason === "queue_full")
        log.warn("event queue full; dropping events (counted in metrics)");
      else log.warn({ err: String(err) }, "could not record event");
    },
    {
      // Events wait while reconciles do: their writes would slow the ones that make objects Ready.
      mayRun: (): boolean => controller.waiting === 0,
    },
  );
  // Binding patterns mean what --allowed-role-arns patterns mean: one matcher for both.
  const tenancy = new Tenancy(config.requireBinding, (patterns) => {
    const list = RoleAllowList.parse(patterns);
    return (roleArn) => list.allows(roleArn);
  });
  const cache = {
    get: (namespace: string, name: string) => watcher.get(namespace, name),
    get synced() {
      return watcher.synced && tenancyWatchers.every((w) => w.synced);
    },
  };
  const controller = new PolicyController(
    cache,
    aws,
    fenced(new KubePolicyWriter(kc, FIELD_MANAGER), mayWrite),
    events,
    metrics,
    log,
    {
      concurrency: config.maxConcurrentReconciles,
      defaultRegion: config.awsRegion,
      defaultDriftIntervalMs: config.driftDetectionInterval,
      minDriftIntervalMs: config.minDriftDetectionInterval,
      revokeTimeoutMs: config.revokeTimeout,
      denyPublicAccessOverride: config.denyPublicAccessOverride,
      tenancy,
      bindingStatus: fenced(new KubeBindingStatusWriter(kc, FIELD_MANAGER), mayWrite),
    },
  );
  const inactivityTimeoutMs = config.watchSilenceTimeout + 30_000;
  const watchOptions = { silenceTimeoutMs: config.watchSilenceTimeout };
  const streamLog = (kind: string) => ({
    error: (err: unknown, namespace: string | undefined, retryInMs: number) => {
      resilience.watchRestarts.inc({ reason: "error" });
      log.warn({ err: String(err), kind, namespace, retryInMs }, "watch failed; restarting");
    },
    event: (event: StreamEvent) => {
      switch (event.type) {
        case "expired":
          resilience.watchRestarts.inc({ reason: "expired" });
          log.info({ ...event, kind }, "watch expired (410 Gone); relisting");
          break;
        case "silent":
          resilience.watchRestarts.inc({ reason: "silent" });
          log.warn({ ...event, kind }, "watch silent for too long; restarting");
          break;
        case "listed":
          log.info({ ...event, kind }, `listed ${kind} objects`);
          break;
        case "resumed":
          log.info({ ...event, kind }, "watch resumed");
          break;
      }
    },
  });
  const watcher = new PolicyWatcher(
    new KubeWatchTransport(kc, { inactivityTimeoutMs }),
    config.watchNamespace,
    {
      upsert: (obj) => {
        controller.upsert(obj);
      },
      remove: (obj) => {
        controller.remove(obj);
      },
      ...streamLog("LogDestinationPolicy"),
    },
    watchOptions,
  );
  // Bindings and namespace labels are complete before the first object is
  // decided, so no object is refused at start-up for want of its binding.
  const tenancyWatchers = config.requireBinding
    ? [
        bindingReflector(
          new KubeWatchTransport(kc, {
            inactivityTimeoutMs,
            resource: BINDING_RESOURCE,
            trim: (obj) => trimBinding(obj) as KubernetesObject,
          }),
          {
            upsert: (obj) => {
              controller.upsertBinding(obj);
            },
            remove: (obj) => {
              controller.removeBinding(obj);
            },
            ...streamLog("LogDestinationPolicyBinding"),
          },
          watchOptions,
        ),
        namespaceReflector(
          new KubeWatchTransport(kc, {
            inactivityTimeoutMs,
            resource: NAMESPACE_RESOURCE,
            trim: trimNamespace,
          }),
          {
            upsert: (obj) => {
              controller.upsertNamespace(obj);
            },
            remove: (obj) => {
              controller.removeNamespace(obj);
            },
            ...streamLog("Namespace"),
          },
          watchOptions,
        ),
      ]
    : [];

  let started = false;
  const servers: Server[] = [];
  if (config.metricsBindAddress) {
    const { server, address } = await serveMetrics(metrics.registry, config.metricsBindAddress);
    servers.push(server);
    log.info({ address: `${address.address}:${address.port}` }, "serving metrics");
  }
  if (config.healthProbeBindAddress) {
    // A follower is ready as soon as it runs: it is healthy and waiting to take
    // over. The one that reconciles is ready once its cache is complete.
    const probes = { healthy: () => true, ready: () => (started ? cache.synced : !!elector) };
    const { server, address } = await serveProbes(probes, config.healthProbeBindAddress);
    servers.push(server);
    log.info({ address: `${address.address}:${address.port}` }, "serving health probes");
  }
  const closeAll = async () => {
    await Promise.all(servers.map(closeServer));
    aws.destroy();
  };

  if (elector) {
    const lease = `${config.leaderElectionNamespace ?? podNamespace()}/${leaseName}`;
    log.info({ lease, identity: elector.identity }, "waiting to become the leader");
    if (!(await elector.acquire(stopSignal))) {
      await closeAll();
      log.info("stopped before becoming the leader");
      return;
    }
    resilience.leaderStatus.set({ name: leaseName }, 1);
    log.info({ lease, identity: elector.identity }, "became the leader");
  }

  for (const w of tenancyWatchers) w.start();
  while (!tenancyWatchers.every((w) => w.synced) && !stopSignal.aborted)
    await pause(20, { ref: false });
  watcher.start();
  const running = controller.run();
  started = true;
  log.info(
    {
      namespaces: config.watchNamespace ?? "all",
      concurrency: config.maxConcurrentReconciles,
      requireBinding: config.requireBinding,
      bindings: tenancy.bindingCount,
    },
    "controller started",
  );

  const stopped = new Promise<"stop">((resolve) => {
    if (stopSignal.aborted) resolve("stop");
    stopSignal.addEventListener("abort", () => {
      resolve("stop");
    });
  });
  const why: "stop" | LostReason = await Promise.race([
    stopped,
    elector?.lost ?? new Promise<never>(() => undefined),
  ]);

  if (why !== "stop") {
    // Stop before a follower can take over: in-flight AWS calls are aborted now,
    // and the fence above refuses whatever they would still write.
    resilience.leaderStatus.set({ name: leaseName }, 0);
    log.error({ reason: why }, "lost the leader-election lease; stopping");
    controller.stop(true);
    await Promise.race([
      Promise.all([watcher.stop(), ...tenancyWatchers.map((w) => w.stop()), running]),
      pause(LOST_EXIT_MS, { ref: false }),
    ]);
    await closeAll();
    // Hung requests to an unreachable API server must not keep the process alive.
    setTimeout(() => process.exit(1), LOST_EXIT_MS).unref();
    throw new LeadershipLostError(`lost the leader-election lease (${why})`);
  }

  log.info({ gracePeriodMs: config.shutdownGracePeriod }, "shutting down");
  await Promise.all([watcher.stop(), ...tenancyWatchers.map((w) => w.stop())]);
  // No new work. In-flight reconciles may finish within the grace period, but
  // none retries: a retry aborts them all, and they record "Interrupted".
  controller.stop(false);
  aws.drain(() => {
    controller.stop(true);
  });
  let finished = await Promise.race([
    running.then(() => true),
    pause(config.shutdownGracePeriod, { ref: false }).then(() => false),
  ]);
  if (!finished) {
    log.warn("in-flight reconciles did not finish within the grace period; aborting them");
    controller.stop(true);
    finished = await Promise.race([
      running.then(() => true),
      pause(FLUSH_MS, { ref: false }).then(() => false),
    ]);
    if (!finished) log.warn("aborted reconciles did not record their status in time");
  }
  if (elector) {
    // Handing the Lease back lets a follower take over at its next look.
    await elector.release().then(
      (released) => {
        resilience.leaderStatus.set({ name: leaseName }, 0);
        if (released) log.info("released the leader-election lease");
      },
      (err: unknown) => {
        log.warn({ err: String(err) }, "could not release the leader-election lease");
      },
    );
  }
  await Promise.race([events.flush(), pause(EVENT_FLUSH_MS, { ref: false })]);
  await closeAll();
  log.info("stopped");
}

/** The pod's namespace from its service account, else "default" (as outside a cluster). */
function podNamespace(): string {
  try {
    return readFileSync(SERVICE_ACCOUNT_NAMESPACE, "utf8").trim() || "default";
  } catch {
    return "default";
  }
}

/** A writer whose every method refuses to write once `allowed()` turns false. */
function fenced<T extends object>(writer: T, allowed: () => boolean): T {
  return new Proxy(writer, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]): unknown =>
        allowed()
          ? (value as (...a: unknown[]) => unknown).apply(target, args)
          : Promise.reject(new Error("not written: this process no longer holds the lease"));
    },
  });
}
