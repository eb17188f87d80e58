// Keeps a local cache of one kind of object with list + watch, the way
// client-go's reflector does, with three recoveries that a long-running
// controller needs:
//
// - any failed list or watch is retried with capped exponential backoff
//   (client-node's informer stops for good on such errors);
// - 410 Gone (the resourceVersion is older than the server keeps, e.g. after
//   an API server restart or an etcd compaction) relists, and the relist turns
//   objects that vanished meanwhile into deletes;
// - a watch that has gone silent (a half-open connection, a stuck proxy) is
//   noticed by a watchdog and restarted. Watches ask for bookmarks, so a
//   healthy one hears from the server about once a minute even when nothing
//   changes; silence for longer than the timeout means the stream is dead.
//
// The kind is the transport's business; what is kept of each object is the
// `trim` option's. LogDestinationPolicy objects, bindings and namespaces all
// go through this one class.
import type { KubernetesObject } from "@kubernetes/client-node";
import { pause } from "../util/sleep.ts";

/** T is what the cache holds: the trimmed object. */
export interface WatchHandlers<T> {
  upsert(obj: T): void;
  remove(obj: T): void;
  /** A list or watch failed; the stream tries again after `retryInMs`. */
  error?(err: unknown, namespace: string | undefined, retryInMs: number): void;
  /** Stream life-cycle, for logs and metrics. */
  event?(event: StreamEvent): void;
}

export type StreamEvent =
  | { type: "listed"; namespace: string | undefined; items: number; resourceVersion: string }
  /** 410 Gone: the resourceVersion is too old; a relist follows at once. */
  | { type: "expired"; namespace: string | undefined; resourceVersion: string }
  /** The watchdog found no event or bookmark for `silentMs`; the watch restarts at once. */
  | { type: "silent"; namespace: string | undefined; silentMs: number; resourceVersion: string }
  /** A watch is open again after a failure, a silence or an expiry. */
  | { type: "resumed"; namespace: string | undefined; resourceVersion: string };

/** How the watcher reaches the API server; tests substitute their own. */
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

export interface WatcherOptions {
  /** Restart a watch that has delivered no event or bookmark for this long; default 5 min. */
  silenceTimeoutMs?: number;
  /** Backoff between failed attempts; defaults 500 ms doubling up to 10 s. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

export interface ReflectorOptions<T> extends WatcherOptions {
  /** What the cache keeps of each received object; by default all of it. */
  trim?: (obj: KubernetesObject) => T;
}

export const DEFAULT_SILENCE_TIMEOUT_MS = 300_000;

type WatchEnd =
  | { kind: "closed"; sawEvent: boolean; ms: number }
  | { kind: "expired" }
  | { kind: "silent"; silentMs: number }
  | { kind: "error"; error: unknown }
  | { kind: "stopped" };

interface Stream {
  namespace: string | undefined;
  /** Objects by "namespace/name" ("/name" for cluster-scoped kinds). */
  objects: Map<string, KubernetesObject>;
  resourceVersion: string;
  synced: boolean;
  failures: number;
  /** Ends the open watch, if any. */
  abort?: () => void;
  loop?: Promise<void>;
}

export class Reflector<T> {
  readonly #transport: WatchTransport;
  readonly #handlers: WatchHandlers<T>;
  readonly #trim: (obj: KubernetesObject) => T;
  readonly #streams: Stream[];
  readonly #silenceMs: number;
  readonly #minBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #stop = new AbortController();

  /** namespaces: undefined or empty watches the whole cluster. */
  constructor(
    transport: WatchTransport,
    namespaces: readonly string[] | undefined,
    handlers: WatchHandlers<T>,
    options: ReflectorOptions<T> = {},
  ) {
    this.#transport = transport;
    this.#handlers = handlers;
    this.#trim = options.trim ?? ((obj) => obj as T);
    this.#silenceMs = options.silenceTimeoutMs ?? DEFAULT_SILENCE_TIMEOUT_MS;
    this.#minBackoffMs = options.minBackoffMs ?? 500;
    this.#maxBackoffMs = options.maxBackoffMs ?? 10_000;
    const targets = namespaces && namespaces.length > 0 ? namespaces : [undefined];
    this.#streams = targets.map((namespace) => ({
      namespace,
      objects: new Map(),
      resourceVersion: "",
      synced: false,
      failures: 0,
    }));
  }

  start(): void {
    for (const stream of this.#streams) stream.loop ??= this.#run(stream);
  }

  /** True once every stream has listed at least once: the cache is complete. */
  get synced(): boolean {
    return this.#streams.every((s) => s.synced);
  }

  /** namespace "" for cluster-scoped kinds. */
  get(namespace: string, name: string): T | undefined {
    for (const stream of this.#streams) {
      if (stream.namespace !== undefined && stream.namespace !== namespace) continue;
      const found = stream.objects.get(`${namespace}/${name}`);
      if (found) return found as T;
    }
    return undefined;
  }

  list(): T[] {
    return this.#streams.flatMap((s) => [...s.objects.values()] as T[]);
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    for (const stream of this.#streams) stream.abort?.();
    await Promise.all(this.#streams.map((s) => s.loop ?? Promise.resolve()));
  }

  /** A method, not a getter: TypeScript would carry a narrowed value across awaits. */
  #stopped(): boolean {
    return this.#stop.signal.aborted;
  }

  async #run(stream: Stream): Promise<void> {
    // Set after anything but a clean, long-lived watch: the next one that opens is a recovery.
    let recovering = false;
    let lastEnd: WatchEnd["kind"] | undefined;
    while (!this.#stopped()) {
      try {
        if (stream.resourceVersion === "") await this.#relist(stream);
        const end = await this.#watchOnce(stream, recovering);
        recovering = false;
        const previous = lastEnd;
        lastEnd = end.kind;
        switch (end.kind) {
          case "stopped":
            return;
          case "expired":
            this.#handlers.event?.({
              type: "expired",
              namespace: stream.namespace,
              resourceVersion: stream.resourceVersion,
            });
            stream.resourceVersion = "";
            recovering = true;
            // A list that expires again at once must not spin.
            if (previous === "expired")
              await this.#backoff(stream, new Error("watch expired twice"));
            break;
          case "silent":
            this.#transport.reset?.();
            this.#handlers.event?.({
              type: "silent",
              namespace: stream.namespace,
              silentMs: end.silentMs,
              resourceVersion: stream.resourceVersion,
            });
            recovering = true;
            break;
          case "error":
            throw end.error;
          case "closed":
            // The server's own timeout ends a watch after minutes; one that
            // ends at once with nothing in it is a failure in disguise.
            if (!end.sawEvent && end.ms < 1000)
              throw new Error("watch closed as soon as it opened");
            break;
        }
      } catch (err) {
        if (this.#stopped()) return;
        recovering = true;
        if (isGone(err)) {
          stream.resourceVersion = "";
          continue;
        }
        await this.#backoff(stream, err);
      }
    }
  }

  async #backoff(stream: Stream, err: unknown): Promise<void> {
    stream.failures++;
    const base = Math.min(this.#minBackoffMs * 2 ** (stream.failures - 1), this.#maxBackoffMs);
    const delay = Math.round(base * (0.8 + 0.4 * Math.random()));
    this.#handlers.error?.(err, stream.namespace, delay);
    await pause(delay, { signal: this.#stop.signal });
  }

  async #relist(stream: Stream): Promise<void> {
    const { items, resourceVersion } = await this.#transport.list(stream.namespace);
    const seen = new Set<string>();
    for (const item of items) seen.add(this.#store(stream, item));
    // Whatever was deleted while this stream was not watching.
    for (const [key, obj] of stream.objects) {
      if (seen.has(key)) continue;
      stream.objects.delete(key);
      this.#handlers.remove(obj as T);
    }
    stream.resourceVersion = resourceVersion;
    stream.synced = true;
    stream.failures = 0;
    this.#handlers.event?.({
      type: "listed",
      namespace: stream.namespace,
      items: items.length,
      resourceVersion,
    });
  }

  /**
   * Caches the object, trimmed to what reconciling reads, and reports it
   * unless this very version is cached already.
   */
  #store(stream: Stream, received: KubernetesObject): string {
    const trimmed = this.#trim(received);
    const obj = trimmed as KubernetesObject;
    const key = `${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`;
    const cached = stream.objects.get(key);
    if (
      cached?.metadata?.resourceVersion === undefined ||
      cached.metadata.resourceVersion !== obj.metadata?.resourceVersion
    ) {
      stream.objects.set(key, obj);
      this.#handlers.upsert(trimmed);
    }
    return key;
  }

  #watchOnce(stream: Stream, recovering: boolean): Promise<WatchEnd> {
    return new Promise<WatchEnd>((resolve) => {
      const opened = performance.now();
      let lastHeard = opened;
      let sawEvent = false;
      let settled = false;
      let handle: { abort(): void } | undefined;
      const finish = (end: WatchEnd) => {
        if (settled) return;
        settled = true;
        clearInterval(watchdog);
        stream.abort = undefined;
        handle?.abort();
        resolve(end);
      };
      const watchdog = setInterval(
        () => {
          const silentMs = performance.now() - lastHeard;
          if (silentMs >= this.#silenceMs)
            finish({ kind: "silent", silentMs: Math.round(silentMs) });
        },
        Math.max(50, Math.min(1000, this.#silenceMs / 4)),
      );
      stream.abort = () => {
        finish({ kind: "stopped" });
      };
      const onEvent = (type: string, object: unknown) => {
        if (settled) return;
        lastHeard = performance.now();
        if (!sawEvent && recovering) {
          this.#handlers.event?.({
            type: "resumed",
            namespace: stream.namespace,
            resourceVersion: stream.resourceVersion,
          });
        }
        sawEvent = true;
        stream.failures = 0;
        const obj = object as KubernetesObject;
        switch (type) {
          case "ADDED":
          case "MODIFIED":
            this.#store(stream, obj);
            break;
          case "DELETED": {
            const key = `${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`;
            if (stream.objects.delete(key)) this.#handlers.remove(obj as T);
            break;
          }
          case "BOOKMARK":
            break;
          case "ERROR": {
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
            return;
          }
          default:
            return;
        }
        const rv = obj.metadata?.resourceVersion;
        if (rv) stream.resourceVersion = rv;
      };
      const onDone = (err: unknown) => {
        if (err === null || err === undefined) {
          finish({ kind: "closed", sawEvent, ms: performance.now() - opened });
        } else {
          finish(isGone(err) ? { kind: "expired" } : { kind: "error", error: err });
        }
      };
      this.#transport.watch(stream.namespace, stream.resourceVersion, onEvent, onDone).then(
        (h) => {
          handle = h;
          if (settled) h.abort();
        },
        (err: unknown) => {
          finish({ kind: "error", error: err });
        },
      );
    });
  }
}

/** 410 Gone, as an HTTP status, an ApiException code or a watch ERROR event's Status. */
export function isGone(err: unknown): boolean {
  if (typeof err !== "object" || err === null) return false;
  const e = err as { statusCode?: unknown; code?: unknown; reason?: unknown };
  return e.statusCode === 410 || e.code === 410 || e.reason === "Expired" || e.reason === "Gone";
}
