// The leader-election lease kept in a coordination.k8s.io/v1 Lease: the
// Kubernetes side of src/election/, which decides what is written.
import {
  ApiException,
  CoordinationV1Api,
  V1MicroTime,
  type KubeConfig,
  type V1Lease,
} from "@kubernetes/client-node";
import {
  LeaseConflictError,
  type LeaseRecord,
  type LeaseSpecFields,
  type LeaseStore,
} from "../election/lease.ts";
import { withSignal } from "./signal.ts";

/** The Lease in the cluster, read and replaced through coordination.k8s.io/v1. */
export class KubeLeaseStore implements LeaseStore {
  readonly #api: CoordinationV1Api;
  readonly #namespace: string;
  readonly #name: string;
  /** Fields of the last lease read that this elector does not manage, kept on replace. */
  #last: V1Lease | undefined;

  constructor(kc: KubeConfig, namespace: string, name: string) {
    this.#api = kc.makeApiClient(CoordinationV1Api);
    this.#namespace = namespace;
    this.#name = name;
  }

  get description(): string {
    return `${this.#namespace}/${this.#name}`;
  }

  async get(signal: AbortSignal): Promise<LeaseRecord | undefined> {
    try {
      const lease = await this.#api.readNamespacedLease(
        { name: this.#name, namespace: this.#namespace },
        withSignal(signal),
      );
      this.#last = lease;
      return toRecord(lease);
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) return undefined;
      throw err;
    }
  }

  create(fields: LeaseSpecFields, signal: AbortSignal): Promise<LeaseRecord> {
    return this.#write(
      () =>
        this.#api.createNamespacedLease(
          {
            namespace: this.#namespace,
            body: {
              apiVersion: "coordination.k8s.io/v1",
              kind: "Lease",
              metadata: { name: this.#name, namespace: this.#namespace },
              spec: toSpec(fields),
            },
          },
          withSignal(signal),
        ),
      "was created by another candidate",
    );
  }

  update(
    fields: LeaseSpecFields,
    resourceVersion: string,
    signal: AbortSignal,
  ): Promise<LeaseRecord> {
    const base = this.#last;
    return this.#write(
      () =>
        this.#api.replaceNamespacedLease(
          {
            name: this.#name,
            namespace: this.#namespace,
            body: {
              apiVersion: "coordination.k8s.io/v1",
              kind: "Lease",
              metadata: {
                name: this.#name,
                namespace: this.#namespace,
                resourceVersion,
                labels: base?.metadata?.labels,
                annotations: base?.metadata?.annotations,
              },
              // Fields this elector does not manage (strategy, preferredHolder) stay as they were.
              spec: Object.assign({}, base?.spec, toSpec(fields)),
            },
          },
          withSignal(signal),
        ),
      "changed since it was read",
    );
  }

  /** One write: its answer is the base of the next update, and a 409 is another candidate's write. */
  async #write(write: () => Promise<V1Lease>, conflict: string): Promise<LeaseRecord> {
    try {
      const lease = await write();
      this.#last = lease;
      return toRecord(lease);
    } catch (err) {
      if (err instanceof ApiException && err.code === 409) {
        throw new LeaseConflictError(`lease ${this.description} ${conflict}`);
      }
      throw err;
    }
  }
}

/** MicroTime fields must be V1MicroTime: a plain Date serializes with milliseconds and gets HTTP 400. */
function toSpec(fields: LeaseSpecFields): NonNullable<V1Lease["spec"]> {
  return {
    holderIdentity: fields.holderIdentity,
    leaseDurationSeconds: fields.leaseDurationSeconds,
    acquireTime: fields.acquireTime ? new V1MicroTime(fields.acquireTime.getTime()) : undefined,
    renewTime: fields.renewTime ? new V1MicroTime(fields.renewTime.getTime()) : undefined,
    leaseTransitions: fields.leaseTransitions,
  };
}

function toRecord(lease: V1Lease): LeaseRecord {
  const spec = lease.spec ?? {};
  // client-node hands MicroTime fields back as strings.
  const time = (value: unknown) =>
    value === undefined || value === null ? undefined : new Date(value as string);
  return {
    ...(spec.holderIdentity ? { holderIdentity: spec.holderIdentity } : {}),
    leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
    acquireTime: time(spec.acquireTime),
    renewTime: time(spec.renewTime),
    leaseTransitions: spec.leaseTransitions ?? 0,
    resourceVersion: lease.metadata?.resourceVersion ?? "",
  };
}
