// Leader election as the manager runs it: a LeaderElector on the cluster's
// Lease, whose attempts are logged, and a fence that keeps whatever this
// process still has in flight from writing once the Lease is lost.
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import type { KubeConfig } from "@kubernetes/client-node";
import { LeaderElector } from "../election/elector.ts";
import { leaderIdentity } from "../election/lease.ts";
import { resetConnections } from "../kube/client.ts";
import { KubeLeaseStore } from "../kube/lease.ts";
import type { Logger } from "../logger.ts";

const SERVICE_ACCOUNT_NAMESPACE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

export interface LeaseSettings {
  /** The pod's own namespace when unset. */
  namespace: string | undefined;
  name: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export interface Leader {
  readonly elector: LeaderElector;
  /** "namespace/name" of the Lease, for logs. */
  readonly lease: string;
  /** The Lease's name, which labels leader_election_master_status. */
  readonly name: string;
}

export function electLeader(kc: KubeConfig, settings: LeaseSettings, log: Logger): Leader {
  const namespace = settings.namespace ?? podNamespace();
  const lease = `${namespace}/${settings.name}`;
  const elector = new LeaderElector(
    new KubeLeaseStore(kc, namespace, settings.name),
    {
      identity: leaderIdentity(hostname()),
      leaseDurationMs: settings.leaseDurationMs,
      renewDeadlineMs: settings.renewDeadlineMs,
      retryPeriodMs: settings.retryPeriodMs,
    },
    {
      newLeader: (holder) => {
        log.info({ lease, holder }, "leader observed");
      },
      attemptFailed: (err, leading) => {
        log.warn({ err: String(err), leading }, "could not read or update the lease");
        // A request that timed out may sit on a connection that died silently.
        if (err instanceof Error && err.name === "TimeoutError") resetConnections(kc);
      },
    },
  );
  return { elector, lease, name: settings.name };
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
export function fenced<T extends object>(writer: T, allowed: () => boolean): T {
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
