// Composes the LogDestinationPolicy controller from its parts: the AWS client,
// the event recorder, tenancy, the reconciler and the watch caches that feed
// it, as one workload for the manager to run.
import { hostname } from "node:os";
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import type { LogDestinationPolicyBinding } from "../api/binding.ts";
import type { LogDestinationGrant } from "../api/grant.ts";
import type { LogDestinationPolicy } from "../api/v1alpha1.ts";
import { DestinationPolicyClient } from "../aws/destinations.ts";
import { DEFAULT_RETRY_POLICY } from "../aws/retry.ts";
import { RoleAllowList } from "../aws/roles.ts";
import { PolicyController } from "../controller/controller.ts";
import { Tenancy } from "../controller/tenancy.ts";
import { KubeEventRecorder } from "../kube/events.ts";
import { KubeBindingStatusWriter, KubePolicyWriter } from "../kube/resources.ts";
import { trimBinding, trimNamespace } from "../kube/trim.ts";
import { trimGrant } from "../kube/trim-grant.ts";
import {
  BINDING_RESOURCE,
  bindingReflector,
  GRANT_RESOURCE,
  grantReflector,
  KubeWatchTransport,
  NAMESPACE_RESOURCE,
  namespaceReflector,
  PolicyWatcher,
  type ResourceKind,
} from "../kube/watch.ts";
import type { Logger } from "../logger.ts";
import type { ControllerMetrics } from "../metrics/metrics.ts";
import { awsObserver, eventDropObserver, watchObserver } from "../metrics/observers.ts";
import type { ResilienceMetrics } from "../metrics/resilience.ts";
import { fenced } from "./leader.ts";
import type { Workload } from "./manager.ts";

const FIELD_MANAGER = "log-destination-policy-controller";
const REPORTING_CONTROLLER = "logs.gitops.dev/log-destination-policy-controller";
// client-node cuts a watch that has received nothing for this long beyond the
// silence timeout, so the reflector's watchdog always notices silence first.
const INACTIVITY_MARGIN_MS = 30_000;

/** The settings the controller is built from; the command line's names. */
export interface PolicyControllerSettings {
  watchNamespace?: string[];
  maxConcurrentReconciles: number;
  awsRegion?: string;
  awsMaxAttempts: number;
  awsMaxRetryTime: number;
  awsRateLimit: number;
  awsBurst?: number;
  awsMaxClients?: number;
  allowedRoleArns?: RoleAllowList;
  roleSessionTags: boolean;
  driftDetectionInterval: number;
  minDriftDetectionInterval: number;
  revokeTimeout: number;
  denyPublicAccessOverride: boolean;
  requireBinding: boolean;
  watchSilenceTimeout: number;
}

export interface PolicyControllerDeps {
  metrics: ControllerMetrics;
  resilience: ResilienceMetrics;
  log: Logger;
  /** Once false (the Lease is lost), nothing may write to AWS or the API server. */
  mayWrite: () => boolean;
}

export function composePolicyController(
  kc: KubeConfig,
  settings: PolicyControllerSettings,
  { metrics, resilience, log, mayWrite }: PolicyControllerDeps,
): Workload {
  const rate = settings.awsRateLimit;
  const aws = new DestinationPolicyClient({
    retry: {
      ...DEFAULT_RETRY_POLICY,
      maxAttempts: settings.awsMaxAttempts,
      maxElapsedMs: settings.awsMaxRetryTime,
    },
    observer: awsObserver(metrics, resilience),
    rateLimit: { ratePerSecond: rate, burst: settings.awsBurst ?? Math.max(1, Math.ceil(rate)) },
    allowedRoles: settings.allowedRoleArns ?? RoleAllowList.parse([]),
    sessionTags: settings.roleSessionTags,
    mayCall: mayWrite,
    ...(settings.awsMaxClients === undefined ? {} : { maxClients: settings.awsMaxClients }),
  });
  // Looked up before the first object: no AWS call is made until it is known
  // (it names the destination of every role-less object); a failure is retried
  // when an object needs it.
  if (settings.awsRegion !== undefined) void aws.account({ region: settings.awsRegion });
  const events = new KubeEventRecorder(
    kc,
    REPORTING_CONTROLLER,
    hostname(),
    eventDropObserver(metrics, log),
    {
      // Events wait while reconciles wait or run: their writes would slow the ones that make objects Ready.
      busy: (): boolean => controller.busy,
    },
  );
  // Binding patterns mean what --allowed-role-arns patterns mean: one matcher for both.
  const tenancy = new Tenancy(settings.requireBinding, (patterns) => {
    const list = RoleAllowList.parse(patterns);
    return (roleArn) => list.allows(roleArn);
  });
  const cache = {
    get: (namespace: string, name: string) => watcher.get(namespace, name),
    get synced() {
      return watcher.synced && grants.synced && tenancyWatchers.every((w) => w.synced);
    },
  };
  const writer = fenced(new KubePolicyWriter(kc, FIELD_MANAGER), mayWrite);
  const controller = new PolicyController(cache, aws, writer, events, metrics, log, {
    concurrency: settings.maxConcurrentReconciles,
    defaultRegion: settings.awsRegion,
    defaultDriftIntervalMs: settings.driftDetectionInterval,
    minDriftIntervalMs: settings.minDriftDetectionInterval,
    revokeTimeoutMs: settings.revokeTimeout,
    denyPublicAccessOverride: settings.denyPublicAccessOverride,
    tenancy,
    bindingStatus: fenced(new KubeBindingStatusWriter(kc, FIELD_MANAGER), mayWrite),
    grants: { get: (namespace, name) => grants.get(namespace, name) },
    grantWriter: writer,
  });

  controller.onIdle(() => {
    events.wake();
  });

  const inactivityTimeoutMs = settings.watchSilenceTimeout + INACTIVITY_MARGIN_MS;
  const watchOptions = { silenceTimeoutMs: settings.watchSilenceTimeout };
  const transport = (resource?: ResourceKind, trim?: (obj: KubernetesObject) => KubernetesObject) =>
    new KubeWatchTransport(kc, { inactivityTimeoutMs, resource, trim });
  const handlers = <T>(kind: string, upsert: (obj: T) => void, remove: (obj: T) => void) => ({
    upsert,
    remove,
    ...watchObserver(resilience, log, kind),
  });
  const watcher = new PolicyWatcher(
    transport(),
    settings.watchNamespace,
    handlers<LogDestinationPolicy>(
      "LogDestinationPolicy",
      (obj) => {
        controller.upsert(obj);
      },
      (obj) => {
        controller.remove(obj);
      },
    ),
    watchOptions,
  );
  const grants = grantReflector(
    transport(GRANT_RESOURCE, trimGrant),
    settings.watchNamespace,
    handlers<LogDestinationGrant>(
      "LogDestinationGrant",
      (obj) => {
        controller.upsertGrant(obj);
      },
      (obj) => {
        controller.removeGrant(obj);
      },
    ),
    watchOptions,
  );
  // Bindings and namespace labels are complete before the first object is
  // decided, so no object is refused at start-up for want of its binding.
  // Namespace labels are read always: a policy's spec.grants.from selects by them.
  const namespaces = namespaceReflector(
    transport(NAMESPACE_RESOURCE, trimNamespace),
    handlers<KubernetesObject>(
      "Namespace",
      (obj) => {
        controller.upsertNamespace(obj);
      },
      (obj) => {
        controller.removeNamespace(obj);
      },
    ),
    watchOptions,
  );
  const tenancyWatchers = [
    namespaces,
    ...(settings.requireBinding
      ? [
          bindingReflector(
            transport(BINDING_RESOURCE, trimBinding),
            handlers<LogDestinationPolicyBinding>(
              "LogDestinationPolicyBinding",
              (obj) => {
                controller.upsertBinding(obj);
              },
              (obj) => {
                controller.removeBinding(obj);
              },
            ),
            watchOptions,
          ),
        ]
      : []),
  ];

  return {
    // Grants before policies, so a policy's first reconcile sees every grant that names it.
    caches: [tenancyWatchers, [grants], [watcher]],
    run: () => controller.run(),
    started: () => {
      log.info(
        {
          namespaces: settings.watchNamespace ?? "all",
          concurrency: settings.maxConcurrentReconciles,
          requireBinding: settings.requireBinding,
          bindings: tenancy.bindingCount,
        },
        "controller started",
      );
    },
    finish: () => {
      controller.stop(false);
      aws.drain(() => {
        controller.stop(true);
      });
    },
    abort: () => {
      controller.stop(true);
    },
    flush: () => events.flush(),
    close: () => {
      aws.destroy();
    },
  };
}
