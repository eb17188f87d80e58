// A loopback CloudWatch Logs endpoint and an STS stand-in, for tests of the
// AWS client itself: real SDK clients, no traffic beyond 127.0.0.1.
import { createServer, type RequestListener, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";

export const ok = (res: ServerResponse): void => {
  res.writeHead(200, { "content-type": "application/x-amz-json-1.1" }).end("{}");
};

/** Runs `body` with CloudWatch Logs pointed at a loopback server answering with `handler`. */
export async function withLogsEndpoint(
  handler: RequestListener,
  body: () => Promise<void>,
): Promise<void> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const previous = process.env.AWS_ENDPOINT_URL_CLOUDWATCH_LOGS;
  process.env.AWS_ENDPOINT_URL_CLOUDWATCH_LOGS = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await body();
  } finally {
    if (previous === undefined) delete process.env.AWS_ENDPOINT_URL_CLOUDWATCH_LOGS;
    else process.env.AWS_ENDPOINT_URL_CLOUDWATCH_LOGS = previous;
    server.closeAllConnections();
    server.close();
  }
}

/** An STS stand-in that counts AssumeRole calls and hands out credentials valid for `ttlMs`. */
export function fakeSts(now: () => number, ttlMs: number) {
  const calls: { RoleArn?: string; RoleSessionName?: string }[] = [];
  const client = {
    send: (command: AssumeRoleCommand) => {
      calls.push(command.input);
      const n = calls.length;
      return Promise.resolve({
        Credentials: {
          AccessKeyId: `ASIA${n}`,
          SecretAccessKey: "secret",
          SessionToken: "token",
          Expiration: new Date(now() + ttlMs),
        },
      });
    },
  } as unknown as Pick<STSClient, "send">;
  return { client, calls };
}
