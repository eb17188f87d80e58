// Writes to LogDestinationPolicy objects. Both writes are JSON merge patches so
// that they touch only the fields the controller owns and never race a user's
// spec edit (no resourceVersion precondition is needed for disjoint fields).
import {
  ApiException,
  CustomObjectsApi,
  HttpMethod,
  PatchStrategy,
  RequestContext,
  setHeaderOptions,
  type KubeConfig,
} from "@kubernetes/client-node";
import type { BindingStatus } from "../api/binding.ts";
import type { GrantStatus } from "../api/grant.ts";
import { BINDING_PLURAL, GRANT_PLURAL, GROUP, PLURAL, VERSION } from "../api/names.ts";
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

/** Writes to LogDestinationGrant objects: their finalizer and their status, nothing else. */
export interface GrantWriter {
  /** A compare-and-swap on resourceVersion, as for policies. */
  patchGrantFinalizers(
    ref: ObjectRef,
    finalizers: string[],
    resourceVersion: string,
  ): Promise<void>;
  patchGrantStatus(ref: ObjectRef, status: Partial<GrantStatus>): Promise<void>;
}

/** The part of undici's Dispatcher (client-node's connection pool) used here. */
interface Dispatcher {
  request(options: {
    origin: string;
    path: string;
    method: "PATCH";
    headers: Record<string, string>;
    body: string;
  }): Promise<{ statusCode: number; body: { text(): Promise<string>; dump(): Promise<void> } }>;
}

/**
 * Each reconcile writes twice, so these writes are most of the controller's
 * API-server requests. client-node's generated client sends each one through
 * fetch and parses the whole object the server answers with; here the request
 * goes straight to the same authenticated connection pool and the answer, of
 * which nothing is read, is discarded unparsed.
 */
export class KubePolicyWriter implements PolicyWriter, GrantWriter {
  readonly #kc: KubeConfig;
  readonly #fieldManager: string;

  constructor(kc: KubeConfig, fieldManager: string) {
    this.#kc = kc;
    this.#fieldManager = fieldManager;
  }

  async patchAnnotations(
    ref: ObjectRef,
    annotations: Record<string, string | null>,
  ): Promise<void> {
    await this.#mergePatch(PLURAL, ref, "", { metadata: { annotations } });
  }

  async patchFinalizers(
    ref: ObjectRef,
    finalizers: string[],
    resourceVersion: string,
  ): Promise<void> {
    await this.#mergePatch(PLURAL, ref, "", { metadata: { finalizers, resourceVersion } });
  }

  async patchStatus(ref: ObjectRef, status: Partial<LogDestinationPolicyStatus>): Promise<void> {
    await this.#mergePatch(PLURAL, ref, "/status", { status });
  }

  async patchGrantFinalizers(
    ref: ObjectRef,
    finalizers: string[],
    resourceVersion: string,
  ): Promise<void> {
    await this.#mergePatch(GRANT_PLURAL, ref, "", { metadata: { finalizers, resourceVersion } });
  }

  async patchGrantStatus(ref: ObjectRef, status: Partial<GrantStatus>): Promise<void> {
    await this.#mergePatch(GRANT_PLURAL, ref, "/status", { status });
  }

  async #mergePatch(
    plural: string,
    ref: ObjectRef,
    subresource: string,
    body: unknown,
  ): Promise<void> {
    const server = this.#kc.getCurrentCluster()?.server;
    if (!server) throw new Error("the kubeconfig names no cluster server");
    const base = new URL(server);
    const path =
      `${base.pathname.replace(/\/$/, "")}/apis/${GROUP}/${VERSION}/namespaces/` +
      `${encodeURIComponent(ref.namespace)}/${plural}/${encodeURIComponent(ref.name)}${subresource}` +
      `?fieldManager=${encodeURIComponent(this.#fieldManager)}`;
    // Asked for each request, as client-node does: tokens and certificates rotate.
    const context = new RequestContext(`${base.origin}${path}`, HttpMethod.PATCH);
    await this.#kc.applySecurityAuthentication(context);
    const headers: Record<string, string> = {
      ...context.getHeaders(),
      "Content-Type": PatchStrategy.MergePatch,
      Accept: "application/json",
    };
    const payload = JSON.stringify(body);
    const dispatcher = context.getDispatcher() as Dispatcher | undefined;
    if (dispatcher) {
      const res = await dispatcher.request({
        origin: base.origin,
        path,
        method: "PATCH",
        headers,
        body: payload,
      });
      if (res.statusCode < 300) {
        await res.body.dump();
        return;
      }
      throw failed(path, res.statusCode, await res.body.text());
    }
    // No TLS options (plain HTTP with skipTLSVerify): the runtime's own fetch.
    const res = await fetch(`${base.origin}${path}`, { method: "PATCH", headers, body: payload });
    const text = await res.text();
    if (!res.ok) throw failed(path, res.status, text);
  }
}

/** Shaped as client-node's errors are, so a caller tells them apart the same way. */
function failed(path: string, status: number, body: string): ApiException<string> {
  return new ApiException(status, `PATCH ${path}`, body.slice(0, 2_000), {});
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
