// The fault proxy's vocabulary, and a client for its admin endpoint for test
// processes that share a proxy owned by another process (test/run.ts, env:up).

/** What happens to a matching call instead of (or before) reaching the emulator. */
export type Fault =
  /** Answer with an AWS JSON error; the SDK raises the class named `name`. */
  | { kind: "error"; name: string; status?: number; message?: string }
  /** Wait, then forward the call. */
  | { kind: "latency"; ms: number }
  /** Destroy the connection without answering. */
  | { kind: "drop" };

export interface FaultRule {
  /**
   * An operation name (`PutDestinationPolicy`, `AssumeRole`) or a full target:
   * the X-Amz-Target (`Logs_20140328.PutDestinationPolicy`), or for query-protocol
   * calls the signing service and Action (`sts.AssumeRole`).
   */
  operation: string;
  fault: Fault;
  /** How many of the next matching calls the fault applies to; default 1, may be Infinity. */
  count?: number;
  /**
   * Only calls whose body names this destination match. A controller may be
   * working on other objects at the same time; without this, their calls could
   * use up a fault meant for one object.
   */
  destination?: string;
}

/** A rule as the proxy keeps it: every field but `destination` filled in. */
export type ParsedRule = Required<Omit<FaultRule, "destination">> & Pick<FaultRule, "destination">;

export interface ProxyCall {
  operation: string;
  target: string;
  /** Epoch milliseconds when the request arrived at the proxy. */
  at: number;
  /** The status sent back; 0 while in flight or when the connection was dropped. */
  status: number;
  /** The destinationName (or DestinationNamePrefix) the call's body names, if any. */
  destination?: string;
  /** The form fields of a query-protocol call (STS), such as RoleSessionName and Tags.member.N.Key. */
  params?: Record<string, string>;
  fault?: Fault;
}

export const adminPrefix = "/__proxy/";

/** Accepts what the admin endpoint receives: JSON has no Infinity, so null or "Infinity" stand for it. */
export function parseRule(input: unknown): ParsedRule {
  if (typeof input !== "object" || input === null) throw new TypeError("rule must be an object");
  const { operation, fault, count, destination } = input as Record<string, unknown>;
  if (typeof operation !== "string" || operation === "") {
    throw new TypeError("operation must be a non-empty string");
  }
  const rule: ParsedRule = { operation, fault: parseFault(fault), count: parseCount(count) };
  if (destination !== undefined && destination !== null) {
    if (typeof destination !== "string" || destination === "") {
      throw new TypeError("destination must be a non-empty string");
    }
    rule.destination = destination;
  }
  return rule;
}

function parseCount(count: unknown): number {
  if (count === undefined) return 1;
  if (count === null || count === "Infinity" || count === Infinity) return Infinity;
  if (typeof count === "number" && Number.isInteger(count) && count > 0) return count;
  throw new TypeError('count must be a positive integer, Infinity, null or "Infinity"');
}

function parseFault(input: unknown): Fault {
  if (typeof input !== "object" || input === null) throw new TypeError("fault must be an object");
  const f = input as Record<string, unknown>;
  switch (f.kind) {
    case "error": {
      if (typeof f.name !== "string" || f.name === "")
        throw new TypeError("error fault needs a name");
      if (
        f.status !== undefined &&
        (typeof f.status !== "number" || f.status < 400 || f.status > 599)
      ) {
        throw new TypeError("error status must be between 400 and 599");
      }
      if (f.message !== undefined && typeof f.message !== "string") {
        throw new TypeError("error message must be a string");
      }
      const fault: Fault = { kind: "error", name: f.name };
      if (f.status !== undefined) fault.status = f.status;
      if (f.message !== undefined) fault.message = f.message;
      return fault;
    }
    case "latency":
      if (typeof f.ms !== "number" || !(f.ms >= 0)) throw new TypeError("latency needs ms >= 0");
      return { kind: "latency", ms: f.ms };
    case "drop":
      return { kind: "drop" };
    default:
      throw new TypeError('fault kind must be "error", "latency" or "drop"');
  }
}

/** Same operations as the in-process FaultProxy, over its admin HTTP endpoint. */
export class FaultProxyClient {
  readonly url: string;

  constructor(url: string) {
    this.url = url.replace(/\/+$/, "");
  }

  async inject(rule: FaultRule): Promise<void> {
    const count = rule.count === Infinity ? null : rule.count;
    await this.send("POST", "faults", { ...rule, count });
  }

  async clearFaults(): Promise<void> {
    await this.send("DELETE", "faults");
  }

  async calls(operation?: string): Promise<ProxyCall[]> {
    const query = operation === undefined ? "" : `?operation=${encodeURIComponent(operation)}`;
    const res = await this.send("GET", `calls${query}`);
    return (await res.json()) as ProxyCall[];
  }

  async resetCalls(): Promise<void> {
    await this.send("DELETE", "calls");
  }

  private async send(method: string, path: string, body?: unknown): Promise<Response> {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { "content-type": "application/json" };
    }
    const res = await fetch(`${this.url}${adminPrefix}${path}`, init);
    if (!res.ok) {
      throw new Error(`fault proxy ${method} ${path}: ${res.status} ${await res.text()}`);
    }
    return res;
  }
}
