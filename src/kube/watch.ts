// Keeps a local cache of LogDestinationPolicy objects with list + watch, the
// way client-go's reflector does, with three recoveries that a long-running
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
import {
  CustomObjectsApi,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { GROUP, PLURAL, VERSION } from "../api/names.ts";
import type { LogDestinationPolicy } from "../api/v1alpha1.ts";
import { resetConnections } from "./client.ts";
import { trimForCache } from "./trim.ts";

export interface WatchHandlers {
  upsert(obj: LogDestinationPolicy): void;
  remove(obj: LogDestinationPolicy): void;
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

export const DEFAULT_SILENCE_TIMEOUT_MS = 300_000;

type WatchEnd =
  | { kind: "closed"; sawEvent: boolean; ms: number }
  | { kind: "expired" }
  | { kind: "silent"; silentMs: number }
  | { kind: "error"; error: unknown }
  | { kind: "stopped" };

interface Stream {
  namespace: string | undefined;
  /** Objects by "namespace/name". */
  objects: Map<string, KubernetesObject>;
  resourceVersion: string;
  synced: boolean;
  failures: number;
  /** Ends the open watch, if any. */
  abort?: () => void;
  loop?: Promise<void>;
}

export class PolicyWatcher {
  readonly #transport: WatchTransport;
  readonly #handlers: WatchHandlers;
  readonly #streams: Stream[];
  readonly #silenceMs: number;
  readonly #minBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #stop = new AbortController();

  /** namespaces: undefined or empty watches the whole cluster. */
  constructor(
    transport: WatchTransport,
    namespaces: readonly string[] | undefined,
    handlers: WatchHandlers,
    options: WatcherOptions = {},
  ) {
    this.#transport = transport;
    this.#handlers = handlers;
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

  get(namespace: string, name: string): LogDestinationPolicy | undefined {
    for (const stream of this.#streams) {
      if (stream.namespace !== undefined && stream.namespace !== namespace) continue;
      const found = stream.objects.get(`${namespace}/${name}`);
      if (found) return found as LogDestinationPolicy;
    }
    return undefined;
  }

  list(): LogDestinationPolicy[] {
    return this.#streams.flatMap((s) => [...s.objects.values()] as LogDestinationPolicy[]);
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
    const signal = this.#stop.signal;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, delay);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  async #relist(stream: Stream): Promise<void> {
    const { items, resourceVersion } = await this.#transport.list(stream.namespace);
    const seen = new Set<string>();
    for (const item of items) seen.add(this.#store(stream, item));
    // Whatever was deleted while this stream was not watching.
    for (const [key, obj] of stream.objects) {
      if (seen.has(key)) continue;
      stream.objects.delete(key);
      this.#handlers.remove(obj as LogDestinationPolicy);
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
    const obj = trimForCache(received);
    const key = `${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`;
    const cached = stream.objects.get(key);
    if (
      cached?.metadata?.resourceVersion === undefined ||
      cached.metadata.resourceVersion !== obj.metadata?.resourceVersion
    ) {
      stream.objects.set(key, obj);
      this.#handlers.upsert(obj as LogDestinationPolicy);
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
            if (stream.objects.delete(key)) this.#handlers.remove(obj as LogDestinationPolicy);
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

export interface KubeWatchTransportOptions {
  /**
   * client-node aborts a watch that receives no bytes for this long (30 s by
   * default). It must exceed the watcher's silence timeout, or every quiet
   * watch would be cut before bookmarks arrive.
   */
  inactivityTimeoutMs: number;
  /** Most objects per list page; default 500. */
  pageSize?: number;
}

/**
 * A tenant decides how large its objects are (up to etcd's 1.5 MiB each), and
 * a page is parsed whole. So the first page is small, and each next one holds
 * as many objects as fit this budget at the size of the largest seen so far.
 */
const FIRST_PAGE = 10;
const PAGE_BUDGET_CHARS = 8 * 1024 * 1024;

export function nextPageSize(largestChars: number, most: number): number {
  return Math.max(1, Math.min(most, Math.floor(PAGE_BUDGET_CHARS / Math.max(1, largestChars))));
}

/**
 * The real transport: CustomObjectsApi lists and client-node's Watch. A silent
 * watch drops the kubeconfig's shared connection pool (see resetConnections):
 * over HTTP/2 every request shares one connection, so a restart on the same
 * dead connection would stay just as silent.
 */
export class KubeWatchTransport implements WatchTransport {
  readonly #kc: KubeConfig;
  readonly #api: CustomObjectsApi;
  readonly #options: KubeWatchTransportOptions;

  constructor(kc: KubeConfig, options: KubeWatchTransportOptions) {
    this.#kc = kc;
    this.#api = kc.makeApiClient(CustomObjectsApi);
    this.#options = options;
  }

  async list(
    namespace: string | undefined,
  ): Promise<{ items: KubernetesObject[]; resourceVersion: string }> {
    const items: KubernetesObject[] = [];
    let resourceVersion: string;
    let next: string | undefined;
    const most = this.#options.pageSize ?? 500;
    let limit = Math.min(most, FIRST_PAGE);
    let largest = 0;
    do {
      const params = {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        limit,
        ...(next ? { _continue: next } : {}),
      };
      const page = (
        namespace
          ? await this.#api.listNamespacedCustomObject({ ...params, namespace })
          : await this.#api.listClusterCustomObject(params)
      ) as KubernetesListObject<KubernetesObject> & { metadata?: { continue?: string } };
      // Trimmed page by page: the untrimmed list would be held whole until the end.
      for (const item of page.items) {
        largest = Math.max(largest, JSON.stringify(item).length);
        items.push(trimForCache(item));
      }
      limit = nextPageSize(largest, most);
      resourceVersion = page.metadata?.resourceVersion ?? "";
      // Custom objects come back as plain JSON, so the token is "continue";
      // only client-node's typed lists rename it to _continue.
      next = page.metadata?.continue ?? page.metadata?._continue;
    } while (next);
    return { items, resourceVersion };
  }

  reset(): void {
    resetConnections(this.#kc);
  }

  async watch(
    namespace: string | undefined,
    resourceVersion: string,
    onEvent: (type: string, object: unknown) => void,
    onDone: (err: unknown) => void,
  ): Promise<{ abort(): void }> {
    const path = namespace
      ? `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`
      : `/apis/${GROUP}/${VERSION}/${PLURAL}`;
    const watch = new Watch(this.#kc);
    // A private field in client-node's typings; without it a quiet watch is
    // cut every 30 s, before the server's minute-apart bookmarks arrive.
    Object.assign(watch, { requestTimeoutMs: this.#options.inactivityTimeoutMs });
    const controller = await watch.watch(
      path,
      {
        resourceVersion,
        allowWatchBookmarks: true,
        // As client-go does: the server ends each watch after 5–10 min, so
        // connections are renewed even when nothing goes wrong.
        timeoutSeconds: Math.floor(300 + Math.random() * 300),
      },
      onEvent,
      onDone,
    );
    return {
      abort: () => {
        controller.abort();
      },
    };
  }
}
