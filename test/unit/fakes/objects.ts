// LogDestinationPolicy objects, the reconcile context and deps built around
// the fakes, so a test states only what its case is about.
import { NO_GRANT_WRITER } from "../../../src/controller/grant-wiring.ts";
import { NO_GRANT_METRICS } from "../../../src/controller/grant-pass.ts";
import { API_VERSION, LAST_APPLIED_ANNOTATION } from "../../../src/api/names.ts";
import { specSchema, type LogDestinationPolicy } from "../../../src/api/v1alpha1.ts";
import type { ReconcileContext, ReconcileDeps } from "../../../src/controller/context.ts";
import { desiredState } from "../../../src/controller/desired.ts";
import { recordHash } from "../../../src/controller/record.ts";
import { DestinationEvidence } from "../../../src/controller/evidence.ts";
import { destinationId } from "../../../src/controller/ownership.ts";
import { canonicalJson, type PolicyDocumentInput } from "../../../src/policy/index.ts";
import { FakeAws, type AwsScript } from "./aws.ts";
import { FakeClock } from "./clock.ts";
import { FakeWriter } from "./kube.ts";

export const START = Date.parse("2026-01-01T00:00:00Z");
export const REGION = "us-east-1";
/** The controller's own account, as GetCallerIdentity answers in these tests. */
export const OWN_ACCOUNT = { partition: "aws", accountId: "123456789012" };

export const grant = (account: string): PolicyDocumentInput => ({
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Principal: { AWS: account },
      Action: "logs:PutSubscriptionFilter",
      Resource: "*",
    },
  ],
});
export const GOOD = grant("111111111111");
export const OTHER = grant("999999999999");
/** A policy as AWS would return it. */
export const live = (policy: PolicyDocumentInput, destinationName = "d") => ({
  destinationName,
  accessPolicy: canonicalJson(policy),
});

/** An object with a valid spec; `spec` and `extra` override parts of it. */
export function policyObject(
  name = "p",
  spec: Record<string, unknown> = {},
  extra: Partial<LogDestinationPolicy["metadata"]> & {
    status?: LogDestinationPolicy["status"];
  } = {},
): LogDestinationPolicy {
  const { status, ...metadata } = extra;
  return {
    apiVersion: API_VERSION,
    kind: "LogDestinationPolicy",
    metadata: {
      name,
      namespace: "ns",
      uid: `uid-${name}`,
      generation: 1,
      resourceVersion: "1",
      creationTimestamp: "2025-01-01T00:00:00Z",
      ...metadata,
    },
    spec: { destinationName: "d", region: REGION, accessPolicy: GOOD, ...spec },
    ...(status ? { status } : {}),
  };
}

/** The object with a last-applied record the controller wrote for it (annotation and status hash). */
export function withProvenRecord(object: LogDestinationPolicy): LogDestinationPolicy {
  const spec = specSchema.parse(object.spec);
  const annotation = desiredState(spec, REGION, object.metadata.uid).annotation;
  return {
    ...object,
    metadata: {
      ...object.metadata,
      annotations: { ...object.metadata.annotations, [LAST_APPLIED_ANNOTATION]: annotation },
    },
    status: { ...object.status, appliedRecordHash: recordHash(annotation) },
  };
}

export interface PhaseWorld {
  deps: ReconcileDeps;
  aws: FakeAws;
  writer: FakeWriter;
  clock: FakeClock;
  /** AWS and API-server calls, in order. */
  calls: string[];
}

/** Deps as the controller builds them, with fakes for AWS, the API server and the clock. */
export function phaseWorld(
  script: AwsScript = {},
  overrides: Partial<ReconcileDeps> = {},
): PhaseWorld {
  const calls: string[] = [];
  const aws = new FakeAws(script, calls);
  const writer = new FakeWriter(calls);
  const clock = new FakeClock(START);
  const deps: ReconcileDeps = {
    aws,
    writer,
    defaultRegion: REGION,
    defaultDriftIntervalMs: 600_000,
    minDriftIntervalMs: 60_000,
    denyPublicAccessOverride: false,
    ownerOf: () => undefined,
    permission: () => ({ permitted: true, binding: "" }),
    revokeTimeoutMs: 0,
    revokeFailingSince: new Map(),
    memory: new Map(),
    lastRead: new Map(),
    identity: () => Promise.resolve(OWN_ACCOUNT),
    destinationOf: (region, name, roleArn) =>
      destinationId(region, name, roleArn, OWN_ACCOUNT.accountId),
    evidence: new DestinationEvidence(),
    grantsOf: () => [],
    grantWriter: NO_GRANT_WRITER,
    namespaceLabels: () => undefined,
    grantDecision: () => ({ permitted: true, binding: "" }),
    grantMetrics: NO_GRANT_METRICS,
    grantMemory: new Map(),
    now: () => new Date(clock.now()),
    ...overrides,
  };
  return { deps, aws, writer, clock, calls };
}

export function contextFor(
  object: LogDestinationPolicy,
  signal = new AbortController().signal,
): ReconcileContext {
  return {
    object,
    ref: { namespace: object.metadata.namespace ?? "", name: object.metadata.name },
    generation: object.metadata.generation ?? 0,
    signal,
  };
}
