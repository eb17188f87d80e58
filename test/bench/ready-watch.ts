// Follows the Ready condition of every LogDestinationPolicy in one namespace
// through a single watch, so the benchmark never lists thousands of objects in
// a loop. Times are epoch milliseconds of the watch event's arrival.
import {
  currentResourceVersion,
  policyPath,
  type KubeHttp,
  type PolicyObject,
  type WatchEvent,
} from "./kube.ts";

interface Waiter {
  generation: number;
  resolve: (at: number) => void;
}

/** Ready=True for the object's current generation, as kstatus reads it. */
export function isReady(obj: PolicyObject): boolean {
  const ready = obj.status?.conditions?.find((c) => c.type === "Ready");
  return ready?.status === "True" && obj.status?.observedGeneration === obj.metadata.generation;
}

export class ReadyWatch {
  readonly #kube: KubeHttp;
  readonly #namespace: string;
  /** The collection watched: the namespace's policies unless told otherwise. */
  readonly #path: string;
  readonly #ready = new Set<string>();
  readonly #waiters = new Map<string, Waiter>();
  #allWaiter: { count: number; resolve: (at: number) => void } | undefined;
  #resourceVersion = "";
  #stop: (() => void) | undefined;
  #stopped = false;
  /** When the first object became Ready, and events seen. */
  firstReadyAt: number | undefined;
  events = 0;

  private constructor(kube: KubeHttp, namespace: string, path: string) {
    this.#kube = kube;
    this.#namespace = namespace;
    this.#path = path;
  }

  /** Starts from the collection's current state, so only changes from now on are seen. */
  static async start(
    kube: KubeHttp,
    namespace: string,
    path = policyPath(namespace),
  ): Promise<ReadyWatch> {
    const watch = new ReadyWatch(kube, namespace, path);
    watch.#resourceVersion = await currentResourceVersion(kube, namespace, path);
    await watch.#open();
    return watch;
  }

  get readyCount(): number {
    return this.#ready.size;
  }

  async #open(): Promise<void> {
    const query = `watch=1&allowWatchBookmarks=true&resourceVersion=${this.#resourceVersion}`;
    const { stop, closed } = await this.#kube.watch(`${this.#path}?${query}`, (event) => {
      this.#onEvent(event);
    });
    this.#stop = stop;
    // The API server ends watches after a while; carry on from the last version seen.
    void closed.then(() => {
      if (!this.#stopped) this.#reopen();
    });
  }

  #reopen(): void {
    this.#open().catch((err: unknown) => {
      if (this.#stopped) return;
      console.error(`[bench] watch of ${this.#namespace} failed, retrying: ${String(err)}`);
      setTimeout(() => {
        if (!this.#stopped) this.#reopen();
      }, 1_000);
    });
  }

  #onEvent(event: WatchEvent): void {
    const at = Date.now();
    this.events++;
    if (event.type === "ERROR") throw new Error(`watch error: ${JSON.stringify(event.object)}`);
    const meta = event.object.metadata;
    if (meta.resourceVersion) this.#resourceVersion = meta.resourceVersion;
    if (event.type === "BOOKMARK") return;
    if (event.type !== "DELETED" && isReady(event.object)) {
      this.firstReadyAt ??= at;
      this.#ready.add(meta.name);
      const waiter = this.#waiters.get(meta.name);
      if (waiter && (meta.generation ?? 0) >= waiter.generation) {
        this.#waiters.delete(meta.name);
        waiter.resolve(at);
      }
    } else {
      this.#ready.delete(meta.name);
    }
    if (this.#allWaiter && this.#ready.size >= this.#allWaiter.count) {
      this.#allWaiter.resolve(at);
      this.#allWaiter = undefined;
    }
  }

  /** Resolves with the time at which `count` objects were Ready at once. */
  waitForAll(count: number, timeoutMs: number): Promise<number> {
    if (this.#ready.size >= count) return Promise.resolve(Date.now());
    return withTimeout(
      new Promise<number>((resolve) => {
        this.#allWaiter = { count, resolve };
      }),
      timeoutMs,
      () => `${this.#ready.size} of ${count} objects Ready after ${timeoutMs} ms`,
    );
  }

  /** Resolves with the time the object was first seen Ready at `generation` or later. */
  waitFor(name: string, generation: number, timeoutMs: number): Promise<number> {
    return withTimeout(
      new Promise<number>((resolve) => {
        this.#waiters.set(name, { generation, resolve });
      }),
      timeoutMs,
      () => `${name} not Ready at generation ${generation} after ${timeoutMs} ms`,
    );
  }

  stop(): void {
    this.#stopped = true;
    this.#stop?.();
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(message()));
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
