// LogDestinationGrant objects in the fake API server: the controller's
// finalizer and status patches are applied and echoed back through the watch,
// and every write is counted per grant.
import type { GrantStatus, LogDestinationGrant } from "../../../src/api/grant.ts";
import { API_VERSION, GRANT_KIND } from "../../../src/api/names.ts";
import type { PolicyController } from "../../../src/controller/controller.ts";
import { keyOf, type ObjectRef } from "../../../src/kube/keys.ts";
import type { GrantWriter } from "../../../src/kube/resources.ts";
import { merge } from "./cluster.ts";

type Patch = Record<string, unknown>;

export class GrantStore implements GrantWriter {
  readonly objects = new Map<string, LogDestinationGrant>();
  /** Every write the controller made, as "finalizers ns/name" or "status ns/name". */
  readonly writes: string[] = [];
  /** Every Ready reason any grant's status has shown. */
  readonly reasonsSeen = new Set<string>();
  watcher: PolicyController | undefined;
  #version = 1000;
  #created = 0;

  attach(controller: PolicyController): void {
    this.watcher = controller;
    for (const grant of this.objects.values()) controller.upsertGrant(grant);
  }

  #store(grant: LogDestinationGrant): void {
    const next = {
      ...grant,
      metadata: { ...grant.metadata, resourceVersion: String(++this.#version) },
    };
    this.objects.set(keyOf(next.metadata), next);
    const reason = next.status?.conditions?.find((c) => c.type === "Ready")?.reason;
    if (reason) this.reasonsSeen.add(reason);
    queueMicrotask(() => this.watcher?.upsertGrant(next));
  }

  /** A grant as a user creates it; each one a second younger than the last. */
  create(namespace: string, name: string, spec: Patch): LogDestinationGrant {
    const grant: LogDestinationGrant = {
      apiVersion: API_VERSION,
      kind: GRANT_KIND,
      metadata: {
        name,
        namespace,
        uid: `uid-${namespace}-${name}`,
        generation: 1,
        creationTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, ++this.#created)).toISOString(),
      },
      spec: { policyRef: { namespace: "logging", name: "central" }, ...spec },
    };
    this.#store(grant);
    return grant;
  }

  edit(key: string, spec: Patch): void {
    const grant = this.grant(key);
    this.#store({
      ...grant,
      metadata: { ...grant.metadata, generation: (grant.metadata.generation ?? 0) + 1 },
      spec: merge(grant.spec as Patch, spec),
    });
  }

  delete(key: string): void {
    const grant = this.objects.get(key);
    if (!grant) return;
    if ((grant.metadata.finalizers ?? []).length === 0) this.#gone(key);
    else
      this.#store({
        ...grant,
        metadata: { ...grant.metadata, deletionTimestamp: "2026-01-02T00:00:00Z" },
      });
  }

  #gone(key: string): void {
    const grant = this.objects.get(key);
    this.objects.delete(key);
    if (grant) queueMicrotask(() => this.watcher?.removeGrant(grant));
  }

  /** The grant cache's view, as the controller reads it. */
  get(namespace: string, name: string): LogDestinationGrant | undefined {
    return this.objects.get(`${namespace}/${name}`);
  }

  grant(key: string): LogDestinationGrant {
    const grant = this.objects.get(key);
    if (!grant) throw new Error(`no grant ${key}`);
    return grant;
  }

  reason(key: string): string | undefined {
    return this.objects.get(key)?.status?.conditions?.find((c) => c.type === "Ready")?.reason;
  }

  message(key: string): string {
    return (
      this.objects.get(key)?.status?.conditions?.find((c) => c.type === "Ready")?.message ?? ""
    );
  }

  patchGrantFinalizers(ref: ObjectRef, finalizers: string[]): Promise<void> {
    const key = keyOf(ref);
    this.writes.push(`finalizers ${key}`);
    const grant = this.objects.get(key);
    if (!grant) return Promise.reject(Object.assign(new Error("not found"), { code: 404 }));
    if (grant.metadata.deletionTimestamp && finalizers.length === 0) this.#gone(key);
    else this.#store({ ...grant, metadata: { ...grant.metadata, finalizers } });
    return Promise.resolve();
  }

  patchGrantStatus(ref: ObjectRef, patch: Partial<GrantStatus>): Promise<void> {
    const key = keyOf(ref);
    this.writes.push(`status ${key}`);
    const grant = this.objects.get(key);
    if (!grant) return Promise.reject(Object.assign(new Error("not found"), { code: 404 }));
    this.#store({ ...grant, status: merge(grant.status ?? {}, patch) });
    return Promise.resolve();
  }
}
