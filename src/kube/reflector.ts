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
// The kind is the transport's business; what is kept of each object, and as
// which type, is `trim`'s. LogDestinationPolicy objects, bindings and
// namespaces all go through this one class; one watch and its watchdog are
// src/kube/watch-stream.ts.
import type { KubernetesObject } from "@kubernetes/client-node";
import { pause } from "../util/sleep.ts";
import { isGone, watchOnce, type WatchEnd, type WatchTransport } from "./watch-stream.ts";

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

export interface WatcherOptions {
  /** Restart a watch that has delivered no event or bookmark for this long; default 5 min. */
  silenceTimeoutMs?: number;
  /** Backoff between failed attempts; defaults 500 ms doubling up to 10 s. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** What a reflector needs of the objects it keeps: where they are, and which version. */
export interface Cached {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface ReflectorOptions<T> extends WatcherOptions {
  /** What the cache keeps of each received object, typed as the kind it is. */
  trim: (obj: KubernetesObject) => T;
}

const DEFAULT_SILENCE_TIMEOUT_MS = 300_000;

interface Stream<T> {
  namespace: string | undefined;
  /** Objects by "namespace/name" ("/name" for cluster-scoped kinds). */
  objects: Map<string, T>;
  resourceVersion: string;
  synced: boolean;
  failures: number;
  /** Ends the open watch, if any. */
  abort?: () => void;
  loop?: Promise<void>;
}

export class Reflector<T extends Cached> {
  readonly #transport: WatchTransport;
  readonly #handlers: WatchHandlers<T>;
  readonly #trim: (obj: KubernetesObject) => T;
  readonly #streams: Stream<T>[];
  readonly #silenceMs: number;
  readonly #minBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #stop = new AbortController();

  /** namespaces: undefined or empty watches the whole cluster. */
  constructor(
    transport: WatchTransport,
    namespaces: readonly string[] | undefined,
    handlers: WatchHandlers<T>,
    options: ReflectorOptions<T>,
  ) {
    this.#transport = transport;
    this.#handlers = handlers;
    this.#trim = options.trim;
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
      if (found) return found;
    }
    return undefined;
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

  async #run(stream: Stream<T>): Promise<void> {
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

  async #backoff(stream: Stream<T>, err: unknown): Promise<void> {
    stream.failures++;
    const base = Math.min(this.#minBackoffMs * 2 ** (stream.failures - 1), this.#maxBackoffMs);
    const delay = Math.round(base * (0.8 + 0.4 * Math.random()));
    this.#handlers.error?.(err, stream.namespace, delay);
    await pause(delay, { signal: this.#stop.signal });
  }

  async #relist(stream: Stream<T>): Promise<void> {
    const { items, resourceVersion } = await this.#transport.list(stream.namespace);
    const seen = new Set<string>();
    for (const item of items) seen.add(this.#store(stream, item));
    // Whatever was deleted while this stream was not watching.
    for (const [key, obj] of stream.objects) {
      if (seen.has(key)) continue;
      stream.objects.delete(key);
      this.#handlers.remove(obj);
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
  #store(stream: Stream<T>, received: KubernetesObject): string {
    const obj = this.#trim(received);
    const key = keyOf(obj);
    const cached = stream.objects.get(key);
    if (
      cached?.metadata?.resourceVersion === undefined ||
      cached.metadata.resourceVersion !== obj.metadata?.resourceVersion
    ) {
      stream.objects.set(key, obj);
      this.#handlers.upsert(obj);
    }
    return key;
  }

  async #watchOnce(stream: Stream<T>, recovering: boolean): Promise<WatchEnd> {
    const open = watchOnce(
      this.#transport,
      stream.namespace,
      stream.resourceVersion,
      this.#silenceMs,
      (type, obj, first) => {
        if (first && recovering) {
          this.#handlers.event?.({
            type: "resumed",
            namespace: stream.namespace,
            resourceVersion: stream.resourceVersion,
          });
        }
        stream.failures = 0;
        switch (type) {
          case "ADDED":
          case "MODIFIED":
            this.#store(stream, obj);
            break;
          case "DELETED": {
            // What the cache held goes, as on a relist.
            const key = keyOf(obj);
            const cached = stream.objects.get(key);
            if (cached && stream.objects.delete(key)) this.#handlers.remove(cached);
            break;
          }
          case "BOOKMARK":
            break;
          default:
            return;
        }
        const rv = obj.metadata?.resourceVersion;
        if (rv) stream.resourceVersion = rv;
      },
    );
    stream.abort = () => {
      open.stop();
    };
    const end = await open.ended;
    stream.abort = undefined;
    return end;
  }
}

function keyOf(obj: Cached): string {
  return `${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`;
}
