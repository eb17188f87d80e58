// The setup most integration files share: the environment with the CRDs
// installed, namespaces of their own, a controller that watches only those, and
// names no other test uses.
import assert from "node:assert/strict";
import { after, before } from "node:test";
import { startController, type RunningController, type StartOptions } from "./controller.ts";
import { getTestEnv, newNamespace, type TestEnv } from "./env.ts";
import type { LogDestinationPolicy } from "../../src/api/v1alpha1.ts";
import { createDestination } from "./aws.ts";
import { installCrd, Policies, samplePolicy } from "./policies.ts";

let seq = 0;

/** Drift checked every 2 s, so a test sees AWS changes corrected within a few seconds. */
export const DRIFT_EVERY_2S = [
  "--drift-detection-interval",
  "2s",
  "--min-drift-detection-interval",
  "1s",
] as const;

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

/** A destination of this name in the emulator and an object for it granting the sample policy; `spec` adds or overrides fields. */
export async function sampleObject(
  env: TestEnv,
  policies: Policies,
  name: string,
  spec: Record<string, unknown> = {},
): Promise<LogDestinationPolicy> {
  await createDestination(env, name);
  return policies.create(name, {
    destinationName: name,
    accessPolicy: samplePolicy(name),
    ...spec,
  });
}

/** A destination of this name in the emulator and an object granting it the sample policy, once Applied. */
export async function appliedSample(
  env: TestEnv,
  policies: Policies,
  name: string,
  spec: Record<string, unknown> = {},
): Promise<LogDestinationPolicy> {
  await sampleObject(env, policies, name, spec);
  return policies.waitForReason(name, "Applied");
}

/**
 * Stands in for a value that exists only once a `before` hook has run. node:test
 * runs the hooks after the describe body, so a suite hands out stand-ins that
 * test bodies use by name, as they would a variable the hook assigned.
 */
function standIn<T extends object>(what: string): [T, (value: T) => void] {
  let real: T | undefined;
  const target = (): T => {
    if (real === undefined) throw new Error(`${what} is used before the suite's before hook ran`);
    return real;
  };
  const proxy = new Proxy({} as T, {
    get(_, key) {
      // Asked by await and by inspection before the hook ran.
      if (real === undefined && (key === "then" || typeof key === "symbol")) return undefined;
      const t = target();
      const value: unknown = Reflect.get(t, key, t);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(t) : value;
    },
    set: (_, key, value) => Reflect.set(target(), key, value),
    has: (_, key) => Reflect.has(target(), key),
    ownKeys: () => Reflect.ownKeys(target()),
    getOwnPropertyDescriptor(_, key) {
      const descriptor = Reflect.getOwnPropertyDescriptor(target(), key);
      return descriptor && { ...descriptor, configurable: true };
    },
  });
  return [
    proxy,
    (value) => {
      real = value;
    },
  ];
}

/** The controller's environment for assuming roles: the emulator's STS, behind the fault proxy. */
function stsThroughProxy(env: TestEnv): Record<string, string> {
  return { AWS_ENDPOINT_URL_STS: env.awsEndpoint };
}

export interface SuiteOptions {
  /** The controller assumes roles, through the emulator's STS behind the fault proxy. */
  assumesRoles?: boolean;
  /** Namespaces the controller watches besides the prefixes' own, made once those exist. */
  alsoWatch?: (env: TestEnv, namespaces: readonly Policies[]) => Promise<Policies[]>;
  /** The suite injects faults at the shared proxy, so they are cleared before the controller stops. */
  clearsFaults?: boolean;
}

/**
 * The setup of a describe block that runs one controller: before its tests,
 * the environment, a namespace for each prefix and a controller watching only
 * those; after them, the controller stopped, which must exit 0 on SIGTERM.
 */
export function suite<const P extends readonly [string, ...string[]]>(
  prefixes: P,
  args: readonly string[] = [],
  options: SuiteOptions = {},
): {
  env: TestEnv;
  /** The first namespace's objects, for the many suites that have just one. */
  policies: Policies;
  /** Each prefix's namespace, in order. */
  namespaces: { -readonly [K in keyof P]: Policies };
  controller: RunningController;
  /** Starts a new controller with the same flags, for a test that stopped the first. */
  startAgain: () => Promise<void>;
} {
  const [env, setEnv] = standIn<TestEnv>("the test environment");
  const [controller, setController] = standIn<RunningController>("the controller");
  const namespaces = prefixes.map((prefix) => standIn<Policies>(`namespace ${prefix}`));
  const all = namespaces.map(([p]) => p) as { -readonly [K in keyof P]: Policies };
  let watched: readonly Policies[] = [];
  const startAgain = async () => {
    const start = options.assumesRoles ? { env: stsThroughProxy(env) } : {};
    setController(await watching(env, watched, args, start));
  };
  before(async () => {
    const ready = await setUp(...prefixes);
    setEnv(ready.env);
    ready.policies.forEach((p, i) => namespaces[i]?.[1](p));
    watched = [...ready.policies, ...((await options.alsoWatch?.(env, ready.policies)) ?? [])];
    await startAgain();
  });
  after(async () => {
    if (options.clearsFaults) await env.proxy.clearFaults();
    assert.equal(await controller.stop(), 0, "the controller exits 0 on SIGTERM");
  });
  return { env, policies: all[0], namespaces: all, controller, startAgain };
}
