// What every reconcile phase receives and may fill in for the phases after it.
import type { LogDestinationPolicy, LogDestinationPolicySpec } from "../api/v1alpha1.ts";
import type { DestinationPolicyApi } from "../aws/destinations.ts";
import type { ObjectRef } from "../kube/keys.ts";
import type { PolicyWriter } from "../kube/resources.ts";
import type { DesiredState } from "./desired.ts";
import type { Outcome } from "./outcomes.ts";

export interface ReconcileDeps {
  aws: DestinationPolicyApi;
  writer: PolicyWriter;
  defaultRegion: string | undefined;
  /** Default time between drift checks; 0 disables them. */
  defaultDriftIntervalMs: number;
  /** When true, spec.allowPublicAccess cannot lift the public-access guardrail. */
  denyPublicAccessOverride: boolean;
  /** The key of the object that owns this object's destination, when that is another object. */
  ownerOf: (key: string) => string | undefined;
  /** How long a deleted object with deletionPolicy Revoke keeps trying before it lets go. */
  revokeTimeoutMs: number;
  /** What this process applied, by object uid; covers a cache that lags our own writes. */
  memory: Map<string, { generation: number; annotation: string }>;
  now: () => Date;
}

export interface ReconcileContext {
  readonly object: LogDestinationPolicy;
  readonly ref: ObjectRef;
  readonly generation: number;
  readonly signal: AbortSignal;
  spec?: LogDestinationPolicySpec;
  desired?: DesiredState;
  /** Set once AWS is known to hold the desired policy. */
  inSync?: "already" | "written";
  appliedAt?: Date;
  /** Hash of the live policy, when this reconcile read it from AWS. */
  liveHash?: string;
  /** The destination's ARN, when this reconcile read it from AWS. */
  liveArn?: string;
  checkedAt?: Date;
  /** Set when the live policy was found to differ from the one last applied. */
  drift?: string;
  /** Something worth an event that is not the outcome itself. */
  notice?: { reason: string; message: string; warning?: boolean };
}

/** What a phase returns: continue (undefined), finish with an outcome, or stop without a status write. */
export type PhaseResult = Outcome | "stop" | undefined;
export type Phase = (
  ctx: ReconcileContext,
  deps: ReconcileDeps,
) => Promise<PhaseResult> | PhaseResult;

export function required<T>(value: T | undefined): T {
  if (value === undefined) throw new Error("reconcile phase ran before its input was computed");
  return value;
}

export const rfc3339 = (date: Date) => date.toISOString().replace(/\.\d{3}Z$/, "Z");
