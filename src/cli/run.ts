// The `run` command: wires the configuration into the manager, which runs the
// controller until SIGTERM or SIGINT, or, with leader election, until it loses
// its Lease.
import { KubeAccessReviewer } from "../kube/access-review.ts";
import { loadKubeConfig } from "../kube/client.ts";
import type { Logger } from "../logger.ts";
import { electLeader } from "../manager/leader.ts";
import { Manager } from "../manager/manager.ts";
import { composePolicyController } from "../manager/policy-controller.ts";
import { registerBuildInfo } from "../metrics/build-info.ts";
import { ControllerMetrics } from "../metrics/metrics.ts";
import { ResilienceMetrics } from "../metrics/resilience.ts";
import type { Config } from "./config-schema.ts";

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

  const leader = config.leaderElect
    ? electLeader(
        kc,
        {
          namespace: config.leaderElectionNamespace,
          name: config.leaderElectionId,
          leaseDurationMs: config.leaderElectLeaseDuration,
          renewDeadlineMs: config.leaderElectRenewDeadline,
          retryPeriodMs: config.leaderElectRetryPeriod,
        },
        log,
      )
    : undefined;
  const leaderStatus = (leading: boolean) => {
    if (leader) resilience.leaderStatus.set({ name: leader.name }, leading ? 1 : 0);
  };
  leaderStatus(false);

  const workload = composePolicyController(kc, config, {
    metrics,
    resilience,
    log,
    // Once the Lease is lost, nothing this process still has in flight may write.
    mayWrite: () => leader?.elector.leading ?? true,
  });
  const manager = new Manager({
    log,
    registry: metrics.registry,
    metricsBind: config.metricsBindAddress,
    metricsSecurity: config.metricsSecure
      ? { reviewer: new KubeAccessReviewer(kc), certDir: config.metricsCertDir }
      : undefined,
    probeBind: config.healthProbeBindAddress,
    leader: leader && { ...leader, status: leaderStatus },
    shutdownGracePeriodMs: config.shutdownGracePeriod,
  });
  await manager.run(workload, stopSignal);
}
