// The account a destination lives in. PutDestinationPolicy writes the
// destination of the calling identity's account, so the account is known
// without reading the destination: from spec.roleArn when a role is assumed,
// otherwise from one GetCallerIdentity for the controller's own identity.
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { accountOfArn, type AwsAccount } from "../util/arn.ts";

export function destinationArn(
  account: AwsAccount,
  region: string,
  destinationName: string,
): string {
  return `arn:${account.partition}:logs:${region}:${account.accountId}:destination:${destinationName}`;
}

export interface CallerIdentityOptions {
  stsClient?: (region: string) => Pick<STSClient, "send"> & { destroy?: () => void };
  /** After a failed lookup, the next one waits this long; default 1 min. */
  retryAfterMs?: number;
  now?: () => number;
}

/**
 * The controller's own account, looked up once. Concurrent callers share one
 * request; a failure is not cached for long. The controller makes no AWS call
 * before it knows this account: it names the destination of every role-less object.
 */
export class CallerIdentity {
  readonly #options: CallerIdentityOptions;
  #known: AwsAccount | undefined;
  #pending: Promise<AwsAccount | undefined> | undefined;
  #failedAt = Number.NEGATIVE_INFINITY;

  constructor(options: CallerIdentityOptions = {}) {
    this.#options = options;
  }

  /** What is known now, without asking AWS. */
  get known(): AwsAccount | undefined {
    return this.#known;
  }

  account(region: string): Promise<AwsAccount | undefined> {
    if (this.#known) return Promise.resolve(this.#known);
    if (this.#pending) return this.#pending;
    const now = this.#options.now ?? Date.now;
    if (now() - this.#failedAt < (this.#options.retryAfterMs ?? 60_000)) {
      return Promise.resolve(undefined);
    }
    this.#pending = this.#lookUp(region).finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #lookUp(region: string): Promise<AwsAccount | undefined> {
    const client = this.#options.stsClient?.(region) ?? new STSClient({ region });
    try {
      const answer = await client.send(new GetCallerIdentityCommand({}));
      const account = answer.Arn ? accountOfArn(answer.Arn) : undefined;
      if (!account) throw new Error("GetCallerIdentity returned no ARN");
      this.#known = account;
      return account;
    } catch {
      this.#failedAt = (this.#options.now ?? Date.now)();
      return undefined;
    } finally {
      client.destroy?.();
    }
  }
}
