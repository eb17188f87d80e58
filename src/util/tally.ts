// Counts per flow with the largest count known in O(1), so a queue can report
// how many flows wait and the deepest one without a label per flow.

export class Tally {
  readonly #counts = new Map<string, number>();
  /** How many flows hold each count; index 0 unused. */
  readonly #withCount: number[] = [0];
  #max = 0;

  /** Flows with a count above 0. */
  get flows(): number {
    return this.#counts.size;
  }

  get max(): number {
    return this.#max;
  }

  add(flow: string, by: 1 | -1): void {
    const before = this.#counts.get(flow) ?? 0;
    const after = before + by;
    if (after < 0) return;
    if (before > 0) this.#withCount[before] = (this.#withCount[before] ?? 1) - 1;
    if (after > 0) {
      this.#withCount[after] = (this.#withCount[after] ?? 0) + 1;
      this.#counts.set(flow, after);
    } else {
      this.#counts.delete(flow);
    }
    if (after > this.#max) this.#max = after;
    while (this.#max > 0 && (this.#withCount[this.#max] ?? 0) === 0) this.#max--;
  }
}
