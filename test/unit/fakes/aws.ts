// AWS as a script: each call takes the next answer given for its operation
// (the last one repeats), and every call is written down.
import type {
  AwsTarget,
  DestinationSweepApi,
  LiveDestination,
  PutPolicyInput,
} from "../../../src/aws/destinations.ts";
import { AwsCallError, type AwsErrorKind } from "../../../src/aws/errors.ts";
import type { AwsAccount } from "../../../src/util/arn.ts";

/** An answer: a value, an error to throw, or "hang" until the call's signal aborts. */
export type Answer<T> = T | Error | "hang";

export interface AwsScript {
  put?: Answer<undefined>[];
  describe?: Answer<LiveDestination | undefined>[];
  list?: Answer<LiveDestination[]>[];
  /** The controller's own account; null when GetCallerIdentity fails; by default 123456789012. */
  account?: AwsAccount | null;
}

export function awsError(kind: AwsErrorKind, attempts = 1): AwsCallError {
  return new AwsCallError(
    "PutDestinationPolicy",
    { kind, name: `${kind}Error`, message: kind },
    attempts,
  );
}

export class FakeAws implements DestinationSweepApi {
  readonly script: AwsScript;
  /** Every call, in order: operation and destination. */
  readonly calls: string[];
  readonly puts: PutPolicyInput[] = [];
  readonly #seen = new Map<string, number>();

  constructor(script: AwsScript = {}, calls: string[] = []) {
    this.script = script;
    this.calls = calls;
  }

  #answer<T>(
    op: string,
    answers: Answer<T>[] | undefined,
    fallback: T,
    signal?: AbortSignal,
  ): Promise<T> {
    const n = this.#seen.get(op) ?? 0;
    this.#seen.set(op, n + 1);
    const answer = answers?.[Math.min(n, answers.length - 1)] ?? fallback;
    if (answer === "hang") {
      return new Promise((_, reject) => {
        signal?.addEventListener("abort", () => {
          reject(new Error("aborted"));
        });
      });
    }
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  }

  putPolicy(input: PutPolicyInput, signal?: AbortSignal): Promise<void> {
    this.calls.push(`aws.put ${input.destinationName}`);
    this.puts.push(input);
    return this.#answer("put", this.script.put, undefined, signal);
  }

  describe(
    _target: AwsTarget,
    name: string,
    signal?: AbortSignal,
  ): Promise<LiveDestination | undefined> {
    this.calls.push(`aws.describe ${name}`);
    return this.#answer("describe", this.script.describe, undefined, signal);
  }

  account(): Promise<AwsAccount | undefined> {
    this.calls.push("aws.account");
    const account = this.script.account;
    return Promise.resolve(
      account === undefined
        ? { partition: "aws", accountId: "123456789012" }
        : (account ?? undefined),
    );
  }

  async list(
    _target: AwsTarget,
    prefix: string,
    onPage: (destinations: LiveDestination[]) => void,
    signal?: AbortSignal,
  ): Promise<number> {
    this.calls.push(`aws.list ${prefix}`);
    onPage(await this.#answer("list", this.script.list, [], signal));
    return 1;
  }
}
