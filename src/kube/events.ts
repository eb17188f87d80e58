// Kubernetes Events (events.k8s.io/v1) with the deduplication client-go's
// recorder does: a repeat of the same event within the window only bumps
// series.count, and that patch is itself limited, so a failing object cannot
// flood the API server. Writes go through a small bounded background queue
// (background-writes.ts): no reconcile waits for its event.
import { printable } from "../util/quote.ts";
import {
  EventsV1Api,
  PatchStrategy,
  setHeaderOptions,
  V1MicroTime,
  type KubeConfig,
} from "@kubernetes/client-node";
import { API_VERSION, KIND } from "../api/names.ts";
import {
  BackgroundWriter,
  DEFAULT_BACKGROUND_WRITES,
  type BackgroundWrite,
  type BackgroundWriterOptions,
} from "./background-writes.ts";

export type EventType = "Normal" | "Warning";

export interface EventTarget {
  namespace: string;
  name: string;
  uid?: string | undefined;
  resourceVersion?: string | undefined;
}

export interface EventSink {
  emit(target: EventTarget, type: EventType, reason: string, action: string, note: string): void;
}

interface Seen {
  name: string;
  namespace: string;
  count: number;
  firstAt: number;
  lastPatchedAt: number;
}

const DEDUP_WINDOW_MS = 10 * 60_000;
const SERIES_PATCH_INTERVAL_MS = 60_000;
const MAX_TRACKED = 10_000;
const NOTE_MAX = 1024;

export class KubeEventRecorder implements EventSink {
  readonly #api: EventsV1Api;
  readonly #controller: string;
  readonly #instance: string;
  readonly #seen = new Map<string, Seen>();
  readonly #writer: BackgroundWriter;

  constructor(
    kc: KubeConfig,
    controller: string,
    instance: string,
    dropped: BackgroundWriterOptions["dropped"],
    options: Partial<Omit<BackgroundWriterOptions, "dropped">> = {},
  ) {
    this.#api = kc.makeApiClient(EventsV1Api);
    this.#controller = controller;
    this.#instance = instance;
    this.#writer = new BackgroundWriter({ ...DEFAULT_BACKGROUND_WRITES, ...options, dropped });
  }

  /** Queued, never awaited: an event that cannot be written must never hold up or fail a reconcile. */
  emit(target: EventTarget, type: EventType, reason: string, action: string, note: string): void {
    // No raw control character reaches `kubectl describe`, whatever the caller built.
    const write = this.#record(target, type, reason, action, printable(note).slice(0, NOTE_MAX));
    if (write) this.#writer.push({ important: type === "Warning", ...write });
  }

  /** The controller has no reconcile waiting or running: queued events may go now. */
  wake(): void {
    this.#writer.wake();
  }

  /** Resolves once every queued event has been written or dropped. */
  flush(): Promise<void> {
    return this.#writer.idle();
  }

  /** Decides now (so duplicates never take a place in the queue) what to write later. */
  #record(
    target: EventTarget,
    type: EventType,
    reason: string,
    action: string,
    note: string,
  ): Pick<BackgroundWrite, "run" | "dropped"> | undefined {
    const key = [target.uid ?? `${target.namespace}/${target.name}`, type, reason, note].join(
      "\u0000",
    );
    const now = Date.now();
    const seen = this.#seen.get(key);
    if (seen && now - seen.firstAt < DEDUP_WINDOW_MS) {
      seen.count++;
      if (now - seen.lastPatchedAt < SERIES_PATCH_INTERVAL_MS) return undefined;
      seen.lastPatchedAt = now;
      const count = seen.count;
      const run = async () => {
        await this.#api.patchNamespacedEvent(
          {
            name: seen.name,
            namespace: seen.namespace,
            body: { series: { count, lastObservedTime: new V1MicroTime(now) } },
          },
          setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
        );
      };
      return { run };
    }
    this.#forgetOld(now);
    const name = `${target.name}.${now.toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`;
    this.#seen.set(key, {
      name,
      namespace: target.namespace,
      count: 1,
      firstAt: now,
      lastPatchedAt: now,
    });
    return {
      run: async () => {
        await this.#create(target, name, now, type, reason, action, note);
      },
      // Never written: a repeat must create it, not count it in a series that does not exist.
      dropped: () => {
        if (this.#seen.get(key)?.name === name) this.#seen.delete(key);
      },
    };
  }

  async #create(
    target: EventTarget,
    name: string,
    now: number,
    type: EventType,
    reason: string,
    action: string,
    note: string,
  ): Promise<void> {
    await this.#api.createNamespacedEvent({
      namespace: target.namespace,
      body: {
        metadata: { name, namespace: target.namespace },
        eventTime: new V1MicroTime(now),
        reportingController: this.#controller,
        reportingInstance: this.#instance,
        action,
        reason,
        note,
        type,
        regarding: {
          apiVersion: API_VERSION,
          kind: KIND,
          name: target.name,
          namespace: target.namespace,
          ...(target.uid ? { uid: target.uid } : {}),
          ...(target.resourceVersion ? { resourceVersion: target.resourceVersion } : {}),
        },
      },
    });
  }

  #forgetOld(now: number): void {
    if (this.#seen.size < MAX_TRACKED) return;
    for (const [key, seen] of this.#seen) {
      if (now - seen.firstAt >= DEDUP_WINDOW_MS) this.#seen.delete(key);
    }
  }
}
