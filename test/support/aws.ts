// Helpers for integration tests that work with destinations in the emulator,
// past the controller, and with the calls the fault proxy counted.
import {
  DescribeDestinationsCommand,
  PutDestinationPolicyCommand,
  CloudWatchLogsClient,
} from "@aws-sdk/client-cloudwatch-logs";
import { dummyCredentials } from "../../env/variables.ts";
import type { TestEnv } from "./env.ts";

export { createDestination, emulatorAs } from "../../env/resources.ts";

/** Calls that reached the proxy for one destination, optionally of one operation. */
export async function callsFor(env: TestEnv, destination: string, operation?: string) {
  return (await env.proxy.calls(operation)).filter((c) => c.destination === destination);
}

/** A client that talks to moto directly, so its calls don't show in the proxy's counts. */
export function emulator(env: TestEnv): CloudWatchLogsClient {
  return new CloudWatchLogsClient({
    endpoint: env.motoUrl,
    region: env.region,
    credentials: dummyCredentials,
  });
}

/** Changes a destination's policy behind the controller's back, as someone in the console would. */
export async function putPolicyDirectly(
  env: TestEnv,
  name: string,
  policy: unknown,
): Promise<void> {
  const client = emulator(env);
  await client.send(
    new PutDestinationPolicyCommand({
      destinationName: name,
      accessPolicy: JSON.stringify(policy),
    }),
  );
  client.destroy();
}

export async function storedPolicy(
  env: TestEnv,
  name: string,
  region = env.region,
): Promise<string | undefined> {
  const client = new CloudWatchLogsClient({
    endpoint: env.motoUrl,
    region,
    credentials: dummyCredentials,
  });
  const out = await client.send(new DescribeDestinationsCommand({ DestinationNamePrefix: name }));
  client.destroy();
  return out.destinations?.find((d) => d.destinationName === name)?.accessPolicy;
}
