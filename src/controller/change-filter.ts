// Which watch events are worth a reconcile. Status-only updates (our own status
// writes among them) change neither the generation nor the last-applied
// annotation, so they are not reconciled: that keeps the controller's writes
// from feeding back into AWS calls and keeps a backing-off object from being
// retried early. Nor is the echo of our own last-applied annotation write: the
// reconcile that wrote it has done everything a second one would, and a second
// one racing the first one's status write only wrote status again.
import { LAST_APPLIED_ANNOTATION } from "../api/names.ts";
import type { LogDestinationPolicy } from "../api/v1alpha1.ts";
import { keyOf } from "../kube/keys.ts";
import type { RecordMemory } from "./record.ts";

export class ChangeFilter {
  /** The watch fingerprint last seen per key. */
  readonly #seen = new Map<string, { base: string; annotation: string }>();
  /** What this process applied, by uid: the annotation it wrote itself is an echo. */
  readonly #memory: RecordMemory;

  constructor(memory: RecordMemory) {
    this.#memory = memory;
  }

  /** Remembers the object as seen; true when the change is worth a reconcile. */
  worthReconciling(obj: LogDestinationPolicy): boolean {
    const m = obj.metadata;
    const base = [m.uid, m.generation, m.deletionTimestamp ? "deleting" : ""].join("\u0000");
    const annotation = m.annotations?.[LAST_APPLIED_ANNOTATION] ?? "";
    const key = keyOf(m);
    const seen = this.#seen.get(key);
    this.#seen.set(key, { base, annotation });
    const ours = m.uid ? this.#memory.get(m.uid) : undefined;
    // The same text as the cache's: keep one copy of it, not two, for each of many objects.
    if (ours?.annotation === annotation) ours.annotation = annotation;
    if (seen?.base !== base) return true;
    if (seen.annotation === annotation) return false;
    return ours === undefined || ours.generation !== m.generation || ours.annotation !== annotation;
  }

  forget(key: string): void {
    this.#seen.delete(key);
  }
}
