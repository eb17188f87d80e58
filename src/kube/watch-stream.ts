// One watch of a reflector's stream, from a resourceVersion until it ends:
// closed by the server, failed, expired (410 Gone), silent for too long, or
// stopped. A watchdog notices silence: watches ask for bookmarks, so a healthy
// one hears from the server about once a minute even when nothing changes.
import type { KubernetesObject } from "@kubernetes/client-node";

/** How a reflector reaches the API server; tests substitute their own. */
export interface WatchTransport {
  list(
    namespace: string | undefined,
  ): Promise<{ items: KubernetesObject[]; resourceVersion: string }>;
  /**
   * Opens a watch from `resourceVersion`. `onEvent` gets each event's type and
   * object; `onDone` is called once when the stream ends, with an error or
   * null. Resolves with a handle once the request is under way.
   */
  watch(
    namespace: string | undefined,
    resourceVersion: string,
    onEvent: (type: string, object: unknown) => void,
    onDone: (err: unknown) => void,
  ): Promise<{ abort(): void }>;
  /** Called when a watch went silent, before it is restarted: drop connections that may be dead. */
  reset?(): void;
}

export type WatchEnd =
  | { kind: "closed"; sawEvent: boolean; ms: number }
  | { kind: "expired" }
  | { kind: "silent"; silentMs: number }
  | { kind: "error"; error: unknown }
  | { kind: "stopped" };

export interface OpenWatch {
  readonly ended: Promise<WatchEnd>;
  stop(): void;
}

/**
 * Opens one watch. `onEvent` hears every event the watch delivers, an ERROR
 * one included before the watch ends on it; `first` marks the watch's first.
 */
export function watchOnce(
  transport: WatchTransport,
  namespace: string | undefined,
  resourceVersion: string,
  silenceMs: number,
  onEvent: (type: string, object: KubernetesObject, first: boolean) => void,
): OpenWatch {
  const { promise: ended, resolve } = Promise.withResolvers<WatchEnd>();
  const opened = performance.now();
  let lastHeard = opened;
  let sawEvent = false;
  let settled = false;
  let handle: { abort(): void } | undefined;
  const finish = (end: WatchEnd) => {
    if (settled) return;
    settled = true;
    clearInterval(watchdog);
    handle?.abort();
    resolve(end);
  };
  const watchdog = setInterval(
    () => {
      const silentMs = performance.now() - lastHeard;
      if (silentMs >= silenceMs) finish({ kind: "silent", silentMs: Math.round(silentMs) });
    },
    Math.max(50, Math.min(1000, silenceMs / 4)),
  );
  const heard = (type: string, object: unknown) => {
    if (settled) return;
    lastHeard = performance.now();
    const first = !sawEvent;
    sawEvent = true;
    onEvent(type, object as KubernetesObject, first);
    if (type !== "ERROR") return;
    const status = object as { code?: number; reason?: string; message?: string };
    finish(
      isGone(status)
        ? { kind: "expired" }
        : {
            kind: "error",
            error: new Error(
              `watch error ${String(status.code)} ${status.reason ?? ""}: ${status.message ?? ""}`,
            ),
          },
    );
  };
  const done = (err: unknown) => {
    if (err === null || err === undefined) {
      finish({ kind: "closed", sawEvent, ms: performance.now() - opened });
    } else {
      finish(isGone(err) ? { kind: "expired" } : { kind: "error", error: err });
    }
  };
  transport.watch(namespace, resourceVersion, heard, done).then(
    (h) => {
      handle = h;
      if (settled) h.abort();
    },
    (err: unknown) => {
      finish({ kind: "error", error: err });
    },
  );
  return {
    ended,
    stop: () => {
      finish({ kind: "stopped" });
    },
  };
}

/** 410 Gone, as an HTTP status, an ApiException code or a watch ERROR event's Status. */
export function isGone(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const e = err as { statusCode?: unknown; code?: unknown; reason?: unknown };
  return e.statusCode === 410 || e.code === 410 || e.reason === "Expired" || e.reason === "Gone";
}
