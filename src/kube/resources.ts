// Writes to LogDestinationPolicy objects. Both writes are JSON merge patches so
// that they touch only the fields the controller owns and never race a user's
// spec edit (no resourceVersion precondition is needed for disjoint fields).
import {
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
} from "@kubernetes/client-node";
import type { BindingStatus } from "../api/binding.ts";
import { BINDING_PLURAL, GROUP, PLURAL, VERSION } from "../api/names.ts";
import type { LogDestinationPolicyStatus } from "../api/v1alpha1.ts";
import type { ObjectRef } from "./keys.ts";

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

export interface PolicyWriter {
  patchAnnotations(ref: ObjectRef, annotations: Record<string, string | null>): Promise<void>;
  /**
   * Replaces the finalizer list. resourceVersion makes it a compare-and-swap:
   * a merge patch replaces lists whole, so a concurrent change by someone else
   * must fail with 409 rather than be overwritten.
   */
  patchFinalizers(ref: ObjectRef, finalizers: string[], resourceVersion: string): Promise<void>;
  patchStatus(ref: ObjectRef, status: Partial<LogDestinationPolicyStatus>): Promise<void>;
}

export class KubePolicyWriter implements PolicyWriter {
  readonly #api: CustomObjectsApi;
  readonly #fieldManager: string;

  constructor(kc: KubeConfig, fieldManager: string) {
    this.#api = kc.makeApiClient(CustomObjectsApi);
    this.#fieldManager = fieldManager;
  }

  async patchAnnotations(
    ref: ObjectRef,
    annotations: Record<string, string | null>,
  ): Promise<void> {
    await this.#api.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace: ref.namespace,
        name: ref.name,
        body: { metadata: { annotations } },
        fieldManager: this.#fieldManager,
      },
      mergePatch,
    );
  }

  async patchFinalizers(
    ref: ObjectRef,
    finalizers: string[],
    resourceVersion: string,
  ): Promise<void> {
    await this.#api.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace: ref.namespace,
        name: ref.name,
        body: { metadata: { finalizers, resourceVersion } },
        fieldManager: this.#fieldManager,
      },
      mergePatch,
    );
  }

  async patchStatus(ref: ObjectRef, status: Partial<LogDestinationPolicyStatus>): Promise<void> {
    await this.#api.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace: ref.namespace,
        name: ref.name,
        body: { status },
        fieldManager: this.#fieldManager,
      },
      mergePatch,
    );
  }
}

/** Status of the cluster-scoped LogDestinationPolicyBinding objects: whether each is enforced. */
export interface BindingStatusWriter {
  patchBindingStatus(name: string, status: BindingStatus): Promise<void>;
}

export class KubeBindingStatusWriter implements BindingStatusWriter {
  readonly #api: CustomObjectsApi;
  readonly #fieldManager: string;

  constructor(kc: KubeConfig, fieldManager: string) {
    this.#api = kc.makeApiClient(CustomObjectsApi);
    this.#fieldManager = fieldManager;
  }

  async patchBindingStatus(name: string, status: BindingStatus): Promise<void> {
    await this.#api.patchClusterCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        plural: BINDING_PLURAL,
        name,
        body: { status },
        fieldManager: this.#fieldManager,
      },
      mergePatch,
    );
  }
}
