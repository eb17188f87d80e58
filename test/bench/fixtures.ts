// What every phase of the benchmark shares: the region, the objects' specs, the log.
export const REGION = "us-east-1";

export function log(line: string): void {
  console.error(`[bench] ${line}`);
}

export const seconds = (ms: number) => ms / 1000;

/** A policy for one destination; `account` varies it for the change phase. */
export function policyFor(destination: string, account: string) {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { AWS: [account] },
        Action: "logs:PutSubscriptionFilter",
        Resource: `arn:aws:logs:${REGION}:222222222222:destination:${destination}`,
      },
    ],
  };
}

export function specFor(destination: string, account = "111111111111") {
  return { destinationName: destination, accessPolicy: policyFor(destination, account) };
}
