// The setup most integration files share: the environment with the CRDs
// installed, namespaces of their own, a controller that watches only those, and
// names no other test uses.
import { startController, type RunningController, type StartOptions } from "./controller.ts";
import { getTestEnv, newNamespace, type TestEnv } from "./env.ts";
import type { LogDestinationPolicy } from "../../src/api/v1alpha1.ts";
import { createDestination, installCrd, Policies, samplePolicy } from "./policies.ts";

let seq = 0;

/** A name no other test of the run uses: the process id tells the test files apart. */
export function unique(base: string): string {
  return `${base}-${process.pid}-${String(++seq)}`;
}

/** The environment with both CRDs installed, and a new namespace for each prefix, in order. */
export async function setUp<const P extends readonly string[]>(
  ...prefixes: P
): Promise<{ env: TestEnv; policies: { -readonly [K in keyof P]: Policies } }> {
  const env = await getTestEnv();
  await installCrd(env);
  const policies: Policies[] = [];
  for (const prefix of prefixes) {
    policies.push(new Policies(env.kubeConfig, await newNamespace(env.kubeConfig, prefix)));
  }
  return { env, policies: policies as { -readonly [K in keyof P]: Policies } };
}

/**
 * A controller that watches only these namespaces, so objects that other test
 * files left behind neither reach it nor take its AWS rate limit.
 */
export function watching(
  env: TestEnv,
  namespaces: readonly Policies[],
  args: readonly string[] = [],
  options: Omit<StartOptions, "args"> = {},
): Promise<RunningController> {
  return startController(env, {
    ...options,
    args: ["--watch-namespace", namespaces.map((p) => p.namespace).join(","), ...args],
  });
}

/** A destination of this name in the emulator and an object granting it the sample policy, once Applied. */
export async function appliedSample(
  env: TestEnv,
  policies: Policies,
  name: string,
  spec: Record<string, unknown> = {},
): Promise<LogDestinationPolicy> {
  await createDestination(env, name);
  await policies.create(name, { destinationName: name, accessPolicy: samplePolicy(name), ...spec });
  return policies.waitForReason(name, "Applied");
}
