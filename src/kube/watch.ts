// Keeps a local cache of LogDestinationPolicy objects through client-node's
// list-watch. client-node's informer stops for good on any error other than
// 410 Gone, so each one is restarted here with capped exponential backoff.
import {
  CustomObjectsApi,
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { GROUP, PLURAL, VERSION } from "../api/names.ts";
import type { LogDestinationPolicy } from "../api/v1alpha1.ts";

export interface WatchHandlers {
  upsert(obj: LogDestinationPolicy): void;
  remove(obj: LogDestinationPolicy): void;
  error?(err: unknown, namespace: string | undefined, retryInMs: number): void;
}

interface Stream {
  namespace: string | undefined;
  listWatch: ListWatch<KubernetesObject>;
  synced: boolean;
  failures: number;
  timer?: NodeJS.Timeout;
}

const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 30_000;

export class PolicyWatcher {
  readonly #kc: KubeConfig;
  readonly #api: CustomObjectsApi;
  readonly #handlers: WatchHandlers;
  readonly #streams: Stream[];
  #stopped = false;

  /** namespaces: undefined watches the whole cluster. */
  constructor(kc: KubeConfig, namespaces: readonly string[] | undefined, handlers: WatchHandlers) {
    this.#kc = kc;
    this.#api = kc.makeApiClient(CustomObjectsApi);
    this.#handlers = handlers;
    const targets = namespaces && namespaces.length > 0 ? namespaces : [undefined];
    this.#streams = targets.map((namespace) => this.#makeStream(namespace));
  }

  #makeStream(namespace: string | undefined): Stream {
    const path = namespace
      ? `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`
      : `/apis/${GROUP}/${VERSION}/${PLURAL}`;
    const stream = { namespace, synced: false, failures: 0 } as Stream;
    const list = async () => {
      const params = { group: GROUP, version: VERSION, plural: PLURAL };
      const result: unknown = namespace
        ? await this.#api.listNamespacedCustomObject({ ...params, namespace })
        : await this.#api.listClusterCustomObject(params);
      stream.synced = true;
      stream.failures = 0;
      return result as KubernetesListObject<KubernetesObject>;
    };
    stream.listWatch = new ListWatch(path, new Watch(this.#kc), list, false);
    // Custom objects arrive as plain JSON; the controller validates spec itself.
    stream.listWatch.on("add", (obj) => {
      this.#handlers.upsert(obj as LogDestinationPolicy);
    });
    stream.listWatch.on("update", (obj) => {
      this.#handlers.upsert(obj as LogDestinationPolicy);
    });
    stream.listWatch.on("delete", (obj) => {
      this.#handlers.remove(obj as LogDestinationPolicy);
    });
    stream.listWatch.on("error", (err: unknown) => {
      this.#scheduleRestart(stream, err);
    });
    return stream;
  }

  #scheduleRestart(stream: Stream, err: unknown): void {
    if (this.#stopped) return;
    stream.failures++;
    const delay = Math.min(RESTART_MIN_MS * 2 ** (stream.failures - 1), RESTART_MAX_MS);
    this.#handlers.error?.(err, stream.namespace, delay);
    clearTimeout(stream.timer);
    stream.timer = setTimeout(() => {
      if (!this.#stopped) this.#begin(stream);
    }, delay);
  }

  #begin(stream: Stream): void {
    stream.listWatch.start().catch((err: unknown) => {
      this.#scheduleRestart(stream, err);
    });
  }

  start(): void {
    this.#stopped = false;
    for (const stream of this.#streams) this.#begin(stream);
  }

  /** True once every stream has listed at least once: the cache is complete. */
  get synced(): boolean {
    return this.#streams.every((s) => s.synced);
  }

  get(namespace: string, name: string): LogDestinationPolicy | undefined {
    for (const stream of this.#streams) {
      if (stream.namespace !== undefined && stream.namespace !== namespace) continue;
      const found = stream.listWatch.get(name, namespace);
      if (found) return found as LogDestinationPolicy;
    }
    return undefined;
  }

  list(): LogDestinationPolicy[] {
    return this.#streams.flatMap((s) => s.listWatch.list() as LogDestinationPolicy[]);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const stream of this.#streams) {
      clearTimeout(stream.timer);
      await stream.listWatch.stop();
    }
  }
}
