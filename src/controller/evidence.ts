// What this process has seen at each destination: the hash of the policy it
// last read there or wrote there, or UNKNOWN when a write may or may not have
// landed. Keyed by destination identity (see destinationId), so every object
// and every route to one destination shares one entry. record.ts weighs a
// record against it; this module only keeps it, and says which objects point
// at a destination whose entry changed so they can be looked at again.

/** A write may have changed the destination, and nobody has read it since. */
export const UNKNOWN = "unknown";

export class DestinationEvidence {
  readonly #seen = new Map<string, string>();
  readonly #destinationOf = new Map<string, string>();
  readonly #keysAt = new Map<string, Set<string>>();
  readonly #changed: (keys: string[]) => void;

  /** `changed` is told the other keys of a destination whose entry changed. */
  constructor(changed: (keys: string[]) => void = () => undefined) {
    this.#changed = changed;
  }

  /**
   * Where a permitted object points, whatever its mode; undefined forgets it.
   * An entry lives only while some object points at its destination, so the
   * map is bounded by the objects in the cache.
   */
  track(key: string, destination: string | undefined): void {
    const before = this.#destinationOf.get(key);
    if (before === destination) return;
    if (before !== undefined) {
      const keys = this.#keysAt.get(before);
      keys?.delete(key);
      if (keys?.size === 0) {
        this.#keysAt.delete(before);
        this.#seen.delete(before);
      }
      this.#destinationOf.delete(key);
    }
    if (destination === undefined) return;
    this.#destinationOf.set(key, destination);
    const keys = this.#keysAt.get(destination) ?? new Set<string>();
    keys.add(key);
    this.#keysAt.set(destination, keys);
  }

  /** Keys whose destination is matched by `test` (for re-keying once an account is known). */
  keysWhere(test: (destination: string) => boolean): string[] {
    return [...this.#destinationOf].filter(([, d]) => test(d)).map(([key]) => key);
  }

  /** The hash last read or written at the destination, UNKNOWN, or undefined when nothing was. */
  at(destination: string): string | undefined {
    return this.#seen.get(destination);
  }

  /** The destination holds this policy (hash), as `byKey` just read or wrote it. */
  saw(destination: string, hash: string, byKey: string): void {
    const before = this.#seen.get(destination);
    this.#seen.set(destination, hash);
    if (before === hash) return;
    const others = [...(this.#keysAt.get(destination) ?? [])].filter((k) => k !== byKey);
    if (others.length > 0) this.#changed(others);
  }

  /** A write by `byKey` may have landed; nothing is known until the next read or write. */
  doubt(destination: string, byKey: string): void {
    this.saw(destination, UNKNOWN, byKey);
  }

  /** A writer of the destination went away; what it left there is unknown unless seen. */
  writerGone(destination: string, byKey: string): void {
    if (!this.#seen.has(destination)) this.doubt(destination, byKey);
  }
}
