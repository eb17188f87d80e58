// Fair queueing in the spirit of the API server's Priority and Fairness: one
// FIFO per flow (for the controller, a namespace) and the flows served in turn,
// one item each. A flow with a thousand items waiting delays another flow's
// first item by at most one item of each other flow, not by its whole backlog.
//
// Items are dropped lazily: the owner says which items are still live when it
// takes the next one, so moving or cancelling an item costs nothing up front.

export interface Turn<T> {
  flow: string;
  item: T;
  /** When the flow last joined the end of the line (the `now` given to push or shift). */
  since: number;
}

interface Flow<T> {
  items: T[];
  since: number;
}

export class RoundRobin<T> {
  readonly #flows = new Map<string, Flow<T>>();
  /** Flows in the order of their next turn; each flow in #flows is here exactly once. */
  readonly #line: string[] = [];

  /** Flows with at least one item (live or not yet dropped). */
  get flows(): number {
    return this.#flows.size;
  }

  push(flow: string, item: T, now = 0): void {
    const known = this.#flows.get(flow);
    if (known) {
      known.items.push(item);
      return;
    }
    this.#flows.set(flow, { items: [item], since: now });
    this.#line.push(flow);
  }

  /** The first live item of the flow whose turn it is; that flow goes to the end of the line. */
  shift(live: (item: T) => boolean = () => true, now = 0): Turn<T> | undefined {
    for (let name = this.#line.shift(); name !== undefined; name = this.#line.shift()) {
      const flow = this.#flows.get(name);
      if (!flow) continue;
      const found = takeLive(flow.items, live);
      if (found && flow.items.length > 0) {
        const since = flow.since;
        flow.since = now;
        this.#line.push(name);
        return { flow: name, item: found.item, since };
      }
      this.#flows.delete(name);
      if (found) return { flow: name, item: found.item, since: flow.since };
    }
    return undefined;
  }
}

function takeLive<T>(items: T[], live: (item: T) => boolean): { item: T } | undefined {
  while (items.length > 0) {
    const item = items.shift() as T;
    if (live(item)) return { item };
  }
  return undefined;
}
