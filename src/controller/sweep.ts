// Drift verification in batches. Objects whose state is settled (Applied,
// InSync, OutOfSync, Drifted) are not read one by one: per region and role, one
// paginated DescribeDestinations sweep per interval covers all of them, and
// only an object whose live policy no longer matches what its status says is
// handed back to the work queue, with the sweep's answer. When nothing changed,
// a sweep writes nothing anywhere but metrics.
//
// A group lists at the batch interval (the controller's default drift interval)
// or its members' least interval, whichever is longer. An object that asks for
// a shorter interval is read on its own at that interval, one destination per
// read: its short interval costs its own reads, never the listing rate of its
// whole account and region.
import type { AwsTarget, LiveDestination } from "../aws/destinations.ts";
import { refOf } from "../kube/keys.ts";
import { commonPrefix, groupTarget, newGroup, settled, type Group } from "./sweep-match.ts";

export interface SweepMember {
  key: string;
  uid: string;
  region: string;
  roleArn?: string;
  destinationName: string;
  /** Time between reads this object asks for (the controller's floor already applied). */
  intervalMs: number;
  /** The desired policy's semantic hash. */
  desiredHash: string;
  /** The live hash status shows; undefined when status shows none. */
  liveHash: string | undefined;
  /** True when status says the live policy matches the desired one (Applied, InSync). */
  expectEqual: boolean;
  /** The destination ARN status shows; a sweep that reads another one hands the object back once. */
  arn: string | undefined;
}

/** What the sweep saw for one object: undefined when its destination is gone. */
export interface SweptAnswer {
  live: LiveDestination | undefined;
  /** Epoch ms when the sweep began. */
  at: number;
}

export interface SweepResult {
  region: string;
  roleArn: string | undefined;
  members: number;
  reads: number;
  changed: number;
  seconds: number;
  error?: unknown;
}

export interface SweepDeps {
  list(
    target: AwsTarget,
    prefix: string,
    onPage: (destinations: LiveDestination[]) => void,
    signal: AbortSignal,
  ): Promise<number>;
  /** The object's live state no longer matches its status: reconcile it with this answer. */
  changed(key: string, answer: SweptAnswer): void;
  /** Every object covered by a sweep was read at `at` (for the per-object read floor). */
  read(uid: string, at: number): void;
  done(result: SweepResult): void;
  /** One destination, for an object read on its own; absent: groups sweep at their least interval. */
  describe?(
    target: AwsTarget,
    name: string,
    signal: AbortSignal,
  ): Promise<LiveDestination | undefined>;
  /** The least time between two listings of a group. */
  batchIntervalMs?: number;
  now(): number;
  schedule(run: () => void, delayMs: number): { cancel(): void };
}

/** A new group waits this long before its first sweep, so a restart's registrations share one. */
export const FIRST_SWEEP_DELAY_MS = 10_000;
/** The batch interval when the controller's default drift interval is 0 (off unless a spec asks). */
export const DEFAULT_BATCH_INTERVAL_MS = 600_000;
/** After a failed sweep, the next one is tried this soon (or at the interval, if sooner). */
export const FAILED_SWEEP_RETRY_MS = 60_000;

export class DriftSweeper {
  readonly #deps: SweepDeps;
  readonly #groups = new Map<string, Group>();
  /** The group of each registered key. */
  readonly #groupOf = new Map<string, string>();
  /** The next single read of each object read on its own. */
  readonly #solo = new Map<string, { cancel(): void }>();
  readonly #abort = new AbortController();

  constructor(deps: SweepDeps) {
    this.#deps = deps;
  }

  get size(): number {
    return this.#groupOf.size;
  }

  /** Adds or replaces an object; its group sweeps no later than its interval from now. */
  set(member: SweepMember): void {
    this.delete(member.key);
    if (this.#abort.signal.aborted || member.intervalMs <= 0) return;
    const namespace = member.roleArn === undefined ? undefined : refOf(member.key).namespace;
    const id = `${member.region}\u0000${member.roleArn ?? ""}\u0000${namespace ?? ""}`;
    const group = this.#groups.get(id) ?? newGroup(member.region, member.roleArn, namespace);
    this.#groups.set(id, group);
    group.members.set(member.key, member);
    this.#groupOf.set(member.key, id);
    const interval = this.#batched(member.intervalMs);
    if (interval > member.intervalMs) this.#planSolo(member);
    if (group.running) return;
    const first = group.timer === undefined;
    this.#plan(id, group, first ? Math.min(interval, FIRST_SWEEP_DELAY_MS) : interval);
  }

  /** A group's interval for a member's: at least the batch interval, when reads on their own are possible. */
  #batched(intervalMs: number): number {
    const batch = this.#deps.describe ? (this.#deps.batchIntervalMs ?? 0) : 0;
    return Math.max(intervalMs, batch);
  }

  #planSolo(member: SweepMember): void {
    this.#solo.get(member.key)?.cancel();
    const delay = Math.round(member.intervalMs * (0.9 + Math.random() * 0.2));
    this.#solo.set(
      member.key,
      this.#deps.schedule(() => {
        this.#solo.delete(member.key);
        void this.#readSolo(member.key);
      }, delay),
    );
  }

  async #readSolo(key: string): Promise<void> {
    const id = this.#groupOf.get(key);
    const group = id === undefined ? undefined : this.#groups.get(id);
    const member = group?.members.get(key);
    const deps = this.#deps;
    if (!group || !member || !deps.describe || this.#stopped()) return;
    const at = deps.now();
    // A sweep due before its next read would be reads too close together: the
    // sweep goes now instead (at most an interval early) and plans its next read.
    if (group.running) return;
    if (group.timer && group.timer.at <= at + member.intervalMs) {
      this.#plan(id ?? "", group, 0);
      return;
    }
    let live: LiveDestination | undefined;
    try {
      live = await deps.describe(groupTarget(group), member.destinationName, this.#abort.signal);
    } catch {
      // Its group's next sweep reads it anyway; until then, the next read on its own.
      if (group.members.get(key) === member && !this.#stopped()) this.#planSolo(member);
      return;
    }
    // Changed, deleted or stopped meanwhile: the queue has it already.
    if (group.members.get(key) !== member || this.#stopped()) return;
    this.#deps.read(member.uid, at);
    if (settled(member, live)) this.#planSolo(member);
    else {
      this.delete(key);
      this.#deps.changed(key, { live, at });
    }
  }

  /** Removes an object (changed, deleted, or no longer settled); no sweep will hand it back. */
  delete(key: string): void {
    this.#solo.get(key)?.cancel();
    this.#solo.delete(key);
    const id = this.#groupOf.get(key);
    if (id === undefined) return;
    this.#groupOf.delete(key);
    const group = this.#groups.get(id);
    if (!group) return;
    group.members.delete(key);
    if (group.members.size === 0 && !group.running) {
      group.timer?.cancel();
      this.#groups.delete(id);
    }
  }

  has(key: string): boolean {
    return this.#groupOf.has(key);
  }

  #stopped(): boolean {
    return this.#abort.signal.aborted;
  }

  stop(): void {
    this.#abort.abort();
    for (const group of this.#groups.values()) group.timer?.cancel();
    for (const timer of this.#solo.values()) timer.cancel();
    this.#solo.clear();
    this.#groups.clear();
    this.#groupOf.clear();
  }

  /** Moves the group's next sweep to `delayMs` from now, unless one is due sooner. */
  #plan(id: string, group: Group, delayMs: number): void {
    const at = this.#deps.now() + delayMs;
    if (group.timer && group.timer.at <= at) return;
    group.timer?.cancel();
    const handle = this.#deps.schedule(() => {
      group.timer = undefined;
      void this.#sweep(id, group);
    }, delayMs);
    group.timer = {
      cancel: () => {
        handle.cancel();
      },
      at,
    };
  }

  #interval(group: Group): number {
    let least = Infinity;
    for (const m of group.members.values()) least = Math.min(least, m.intervalMs);
    return this.#batched(least);
  }

  async #sweep(id: string, group: Group): Promise<void> {
    if (group.running || this.#abort.signal.aborted) return;
    if (group.members.size === 0) {
      this.#groups.delete(id);
      return;
    }
    group.running = true;
    group.timer?.cancel();
    group.timer = undefined;
    const startedAt = this.#deps.now();
    const members = group.members.size;
    const byName = new Map<string, string[]>();
    for (const m of group.members.values()) {
      const keys = byName.get(m.destinationName);
      if (keys) keys.push(m.key);
      else byName.set(m.destinationName, [m.key]);
    }
    const seen = new Set<string>();
    let changed = 0;
    const judge = (key: string, live: LiveDestination | undefined) => {
      // Changed or deleted while the sweep ran: the queue has it already.
      const member = group.members.get(key);
      if (!member) return;
      this.#deps.read(member.uid, startedAt);
      // This sweep was its read: its next one on its own comes an interval later.
      if (this.#batched(member.intervalMs) > member.intervalMs) this.#planSolo(member);
      if (settled(member, live)) return;
      // Handed back once: the reconcile decides what status says, and registers it again.
      this.delete(key);
      changed++;
      this.#deps.changed(key, { live, at: startedAt });
    };
    let reads = 0;
    let error: unknown;
    try {
      reads = await this.#deps.list(
        groupTarget(group),
        commonPrefix(byName.keys()),
        (page) => {
          for (const live of page) {
            const keys = byName.get(live.destinationName);
            if (!keys) continue;
            seen.add(live.destinationName);
            for (const key of keys) judge(key, live);
          }
        },
        this.#abort.signal,
      );
      for (const [name, keys] of byName) {
        if (!seen.has(name)) for (const key of keys) judge(key, undefined);
      }
    } catch (err) {
      error = err;
    } finally {
      group.running = false;
    }
    if (this.#stopped()) return;
    this.#deps.done({
      region: group.region,
      roleArn: group.roleArn,
      members,
      reads,
      changed,
      seconds: (this.#deps.now() - startedAt) / 1000,
      ...(error === undefined ? {} : { error }),
    });
    if (group.members.size === 0) {
      this.#groups.delete(id);
      return;
    }
    const interval = this.#interval(group);
    const next = error === undefined ? interval : Math.min(interval, FAILED_SWEEP_RETRY_MS);
    // Jitter keeps groups that started together from sweeping in step.
    const elapsed = this.#deps.now() - startedAt;
    this.#plan(id, group, Math.max(0, Math.round(next * (0.9 + Math.random() * 0.2)) - elapsed));
  }
}
