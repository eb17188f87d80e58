// What every reconcile phase receives and may fill in for the phases after it.
import type { LogDestinationGrant } from "../api/grant.ts";
import type { LogDestinationPolicy, LogDestinationPolicySpec } from "../api/v1alpha1.ts";
import type { DestinationPolicyApi } from "../aws/destinations.ts";
import type { AwsAccount } from "../util/arn.ts";
import type { ObjectRef } from "../kube/keys.ts";
import type { GrantWriter, PolicyWriter } from "../kube/resources.ts";
import type { GrantMemory, GrantPass, GrantMetrics } from "./grant-pass.ts";
import type { DesiredState } from "./desired.ts";
import type { DestinationEvidence } from "./evidence.ts";
import type { Outcome } from "./outcomes.ts";
import type { RecordMemory } from "./record.ts";
import type { Labels, Permission, PermissionRequest } from "../tenancy/index.ts";
import type { PolicyDocument } from "../policy/index.ts";
import type { SweptAnswer } from "./sweep.ts";

export interface ReconcileDeps {
  aws: DestinationPolicyApi;
  writer: PolicyWriter;
  defaultRegion: string | undefined;
  /** Default time between drift checks; 0 disables them. */
  defaultDriftIntervalMs: number;
  /** The least time between two reads of an object's live policy; shorter intervals are raised to it. */
  minDriftIntervalMs: number;
  /** When true, spec.allowPublicAccess cannot lift the public-access guardrail. */
  denyPublicAccessOverride: boolean;
  /** The key of the object that owns this object's destination, when that is another object. */
  ownerOf: (key: string) => string | undefined;
  /** The tenancy decision for the object as it is now; checked before any AWS call. */
  permission: (object: LogDestinationPolicy) => Permission;
  /**
   * How long a deleted object with deletionPolicy Revoke keeps trying, counted
   * from its first failed revoke; 0 never gives up.
   */
  revokeTimeoutMs: number;
  /** When the revoke of an object (by uid) first failed, in this process. */
  revokeFailingSince: Map<string, number>;
  /** What this process applied, by object uid; covers a cache that lags our own writes. */
  memory: RecordMemory;
  /** When this process last read an object's live policy, by uid. */
  lastRead: Map<string, number>;
  /**
   * The controller's own account, looked up once; undefined while it cannot be
   * known. Learning it re-keys every role-less object's destination before it resolves.
   */
  identity: (region: string) => Promise<AwsAccount | undefined>;
  /** The identity of a destination (see destinationId), with the own account as known now. */
  destinationOf: (region: string, destinationName: string, roleArn: string | undefined) => string;
  /** What this process has seen at each destination (see evidence.ts and record.ts). */
  evidence: DestinationEvidence;
  /** The grants that name a policy, by its key, as the cache holds them. */
  grantsOf: (policyKey: string) => LogDestinationGrant[];
  /** Where grants' finalizers and status are written. */
  grantWriter: GrantWriter;
  /** A namespace's labels as the namespace cache holds them; undefined when unknown. */
  namespaceLabels: (namespace: string) => Labels | undefined;
  /** The bindings' decision for what a grant would add (permitted when bindings are not required). */
  grantDecision: (request: PermissionRequest) => Permission;
  grantMetrics: GrantMetrics;
  grantMemory: GrantMemory;
  now: () => Date;
}

export interface ReconcileContext {
  readonly object: LogDestinationPolicy;
  readonly ref: ObjectRef;
  readonly generation: number;
  readonly signal: AbortSignal;
  /** What a drift sweep just read for this object; used instead of reading it again. */
  readonly swept?: SweptAnswer | undefined;
  spec?: LogDestinationPolicySpec;
  desired?: DesiredState;
  /** The owner's own statements, before grants are merged in; undefined when it has none. */
  ownerDocument?: PolicyDocument;
  /** How the grants naming this policy were judged and merged, once the grants phase ran. */
  grants?: GrantPass;
  /** The owner's new statements would evict applied grants: the old ones are kept (bytes needed and left). */
  ownerRefused?: { neededBytes: number; leftBytes: number };
  /** Set by the record phase: the annotation now proves what AWS holds (see record.ts). */
  recorded?: boolean;
  /** Set once AWS is known to hold the desired policy. */
  inSync?: "already" | "written";
  /** The record matches the desired state but proves nothing: the live policy must be read first. */
  verify?: boolean;
  /** The record is this object's own and matches, but a difference was seen since: a read that differs is drift. */
  doubted?: boolean;
  /** The destination's identity (see destinationId), once the account it lives in is known. */
  destination?: string;
  /** The account the destination lives in: the role's, or the controller's own. */
  destinationAccount?: AwsAccount;
  /** The record no longer says what AWS holds (see record.ts): status.appliedRecordHash is cleared. */
  forgetRecord?: boolean;
  /** Look at the object again after this long, whatever the outcome's requeue says. */
  requeueAfterMs?: number;
  appliedAt?: Date;
  /** Hash of the live policy, when this reconcile read it from AWS. */
  liveHash?: string;
  /** The destination's ARN, when this reconcile read it from AWS. */
  liveArn?: string;
  /** The account of the identity that wrote the policy, when known. */
  account?: AwsAccount;
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
