// What the controller is built from besides its collaborators: the watch cache
// it reads objects from, and the settings the command line gives it.
import type { LogDestinationGrant } from "../api/grant.ts";
import type { LogDestinationPolicy } from "../api/v1alpha1.ts";
import type { BindingStatusWriter, GrantWriter } from "../kube/resources.ts";
import type { Clock } from "../util/clock.ts";
import type { BackoffPolicy } from "./queue.ts";
import type { Tenancy } from "./tenancy.ts";

export interface PolicyCache {
  get(namespace: string, name: string): LogDestinationPolicy | undefined;
  /** True once the cache has listed every object: ownership is only decided on a complete view. */
  readonly synced: boolean;
}

/** The grant cache: read only through the index of the policy a grant names. */
export interface GrantCache {
  get(namespace: string, name: string): LogDestinationGrant | undefined;
}

/**
 * How long grant events for one policy are gathered before it is rebuilt: a
 * quiet spell, and the longest a burst may hold it back.
 */
export const GRANT_QUIET_MS = 250;
export const GRANT_MAX_WAIT_MS = 3_000;
/** Writes to the grants of one policy (finalizers, status) in flight at once. */
export const GRANT_WRITES_IN_FLIGHT = 8;

export interface ControllerOptions {
  concurrency: number;
  defaultRegion: string | undefined;
  defaultDriftIntervalMs: number;
  /** The least time between two reads of one object's live policy; default 1 min. */
  minDriftIntervalMs?: number;
  denyPublicAccessOverride: boolean;
  /** 0 (the default): a failing revoke is retried until it lands. */
  revokeTimeoutMs?: number;
  backoff?: BackoffPolicy;
  /** Bindings and namespace labels; absent: every object is permitted. */
  tenancy?: Tenancy;
  /** Where each binding's Ready condition is written; absent: not written. */
  bindingStatus?: BindingStatusWriter;
  /** The LogDestinationGrant cache; absent: no grants (as in clusters without the kind). */
  grants?: GrantCache;
  /** Where grants' finalizers and status go; absent: grants are never written (no grant cache either). */
  grantWriter?: GrantWriter;
  /** Absent: the system clock and real timers. */
  clock?: Clock;
}

/**
 * Requeue delays after a failed reconcile. client-go starts at 5 ms, which suits
 * API-server conflicts; a missing destination or an AWS outage needs seconds.
 */
export const REQUEUE_BACKOFF: BackoffPolicy = { baseMs: 1_000, maxMs: 300_000 };

export const DEFAULT_MIN_DRIFT_INTERVAL_MS = 60_000;
