// The only module that talks to CloudWatch Logs. Everything above it sees plain
// inputs, plain results and AwsCallError.
import {
  CloudWatchLogsClient,
  DescribeDestinationsCommand,
  PutDestinationPolicyCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { classifyAwsError } from "./errors.ts";
import { DEFAULT_RETRY_POLICY, withRetries, type RetryPolicy } from "./retry.ts";

export interface AwsObserver {
  request(operation: string, outcome: string, seconds: number): void;
  retry(operation: string, errorName: string): void;
}

export interface PutPolicyInput {
  region: string;
  destinationName: string;
  /** The canonical JSON, sent as is. */
  accessPolicy: string;
  forceUpdate: boolean;
}

export interface LiveDestination {
  destinationName: string;
  arn?: string;
  accessPolicy?: string;
}

export interface DestinationPolicyApi {
  putPolicy(input: PutPolicyInput, signal?: AbortSignal): Promise<void>;
  describe(
    region: string,
    destinationName: string,
    signal?: AbortSignal,
  ): Promise<LiveDestination | undefined>;
}

export interface DestinationClientOptions {
  retry?: RetryPolicy;
  observer?: AwsObserver;
  /** Per-attempt HTTP timeouts; a hung connection must fail into the retry loop. */
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export class DestinationPolicyClient implements DestinationPolicyApi {
  readonly #clients = new Map<string, CloudWatchLogsClient>();
  readonly #retry: RetryPolicy;
  readonly #observer: AwsObserver | undefined;
  readonly #options: DestinationClientOptions;

  constructor(options: DestinationClientOptions = {}) {
    this.#options = options;
    this.#retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.#observer = options.observer;
  }

  #client(region: string): CloudWatchLogsClient {
    let client = this.#clients.get(region);
    if (!client) {
      client = new CloudWatchLogsClient({
        region,
        maxAttempts: 1,
        requestHandler: {
          connectionTimeout: this.#options.connectionTimeoutMs ?? 3_000,
          requestTimeout: this.#options.requestTimeoutMs ?? 10_000,
        },
      });
      this.#clients.set(region, client);
    }
    return client;
  }

  async #call<T>(operation: string, send: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const observed = async () => {
      const started = performance.now();
      try {
        const result = await send();
        this.#observer?.request(operation, "success", (performance.now() - started) / 1000);
        return result;
      } catch (error) {
        const outcome = classifyAwsError(error).name;
        this.#observer?.request(operation, outcome, (performance.now() - started) / 1000);
        throw error;
      }
    };
    return withRetries(operation, observed, this.#retry, signal, {
      onRetry: (op, name) => {
        this.#observer?.retry(op, name);
      },
    });
  }

  async putPolicy(input: PutPolicyInput, signal?: AbortSignal): Promise<void> {
    const command = new PutDestinationPolicyCommand({
      destinationName: input.destinationName,
      accessPolicy: input.accessPolicy,
      forceUpdate: input.forceUpdate,
    });
    await this.#call(
      "PutDestinationPolicy",
      () => this.#client(input.region).send(command, { abortSignal: signal }),
      signal,
    );
  }

  /**
   * DescribeDestinations filters by prefix only, so the exact name is picked out
   * of the page; other destinations sharing the prefix are not ours.
   */
  async describe(
    region: string,
    destinationName: string,
    signal?: AbortSignal,
  ): Promise<LiveDestination | undefined> {
    let nextToken: string | undefined;
    do {
      const command = new DescribeDestinationsCommand({
        DestinationNamePrefix: destinationName,
        limit: 50,
        ...(nextToken ? { nextToken } : {}),
      });
      const page = await this.#call(
        "DescribeDestinations",
        () => this.#client(region).send(command, { abortSignal: signal }),
        signal,
      );
      const match = page.destinations?.find((d) => d.destinationName === destinationName);
      if (match) {
        return {
          destinationName,
          ...(match.arn ? { arn: match.arn } : {}),
          ...(match.accessPolicy ? { accessPolicy: match.accessPolicy } : {}),
        };
      }
      nextToken = page.nextToken;
    } while (nextToken);
    return undefined;
  }

  destroy(): void {
    for (const client of this.#clients.values()) client.destroy();
    this.#clients.clear();
  }
}
