// The watch caches of the controller: every kind goes through the generic
// Reflector (src/kube/reflector.ts); this module says how each kind is listed
// and watched on the API server, and what the cache keeps of it.
import {
  CoreV1Api,
  CustomObjectsApi,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { BINDING_PLURAL, GRANT_PLURAL, GROUP, PLURAL, VERSION } from "../api/names.ts";
import type { LogDestinationPolicy } from "../api/v1alpha1.ts";
import type { LogDestinationPolicyBinding } from "../api/binding.ts";
import type { LogDestinationGrant } from "../api/grant.ts";
import { resetConnections } from "./client.ts";
import { Reflector, type Cached, type WatchHandlers, type WatcherOptions } from "./reflector.ts";
import { trimBinding, trimForCache, trimNamespace } from "./trim.ts";
import { trimGrant } from "./trim-grant.ts";
import type { WatchTransport } from "./watch-stream.ts";

/** The LogDestinationPolicy cache: only the fields reconciling reads (see trim.ts). */
export class PolicyWatcher extends Reflector<LogDestinationPolicy> {
  constructor(
    transport: WatchTransport,
    namespaces: readonly string[] | undefined,
    handlers: WatchHandlers<LogDestinationPolicy>,
    options: WatcherOptions = {},
  ) {
    super(transport, namespaces, handlers, { ...options, trim: trimForCache });
  }
}

/** The LogDestinationGrant cache, over the same namespaces as the policy cache. */
export function grantReflector(
  transport: WatchTransport,
  namespaces: readonly string[] | undefined,
  handlers: WatchHandlers<LogDestinationGrant>,
  options: WatcherOptions = {},
): Reflector<LogDestinationGrant> {
  return new Reflector(transport, namespaces, handlers, { ...options, trim: trimGrant });
}

/** A cache of a cluster-scoped kind, holding what `trim` keeps of each object. */
const clusterReflector =
  <T extends Cached>(trim: (obj: KubernetesObject) => T) =>
  (
    transport: WatchTransport,
    handlers: WatchHandlers<T>,
    options: WatcherOptions = {},
  ): Reflector<T> =>
    new Reflector(transport, undefined, handlers, { ...options, trim });

/** The cluster-scoped LogDestinationPolicyBinding cache. */
export const bindingReflector = clusterReflector<LogDestinationPolicyBinding>(trimBinding);

/** The namespace cache: names and labels, which binding selectors match on. */
export const namespaceReflector = clusterReflector<KubernetesObject>(trimNamespace);

/** Where a kind lives on the API server. */
export interface ResourceKind {
  /** "" for the core group. */
  group: string;
  version: string;
  plural: string;
}

const POLICY_RESOURCE: ResourceKind = { group: GROUP, version: VERSION, plural: PLURAL };
export const BINDING_RESOURCE: ResourceKind = {
  group: GROUP,
  version: VERSION,
  plural: BINDING_PLURAL,
};
export const GRANT_RESOURCE: ResourceKind = {
  group: GROUP,
  version: VERSION,
  plural: GRANT_PLURAL,
};
export const NAMESPACE_RESOURCE: ResourceKind = { group: "", version: "v1", plural: "namespaces" };

function collectionPath(kind: ResourceKind, namespace: string | undefined): string {
  const base = kind.group === "" ? `/api/${kind.version}` : `/apis/${kind.group}/${kind.version}`;
  return namespace ? `${base}/namespaces/${namespace}/${kind.plural}` : `${base}/${kind.plural}`;
}

export interface KubeWatchTransportOptions {
  /**
   * client-node aborts a watch that receives no bytes for this long (30 s by
   * default). It must exceed the watcher's silence timeout, or every quiet
   * watch would be cut before bookmarks arrive.
   */
  inactivityTimeoutMs: number;
  /** Most objects per list page; default 500. */
  pageSize?: number;
  /** What to list and watch; LogDestinationPolicy objects by default. */
  resource?: ResourceKind;
  /** What is kept of each listed object; the policy cache's trim by default. */
  trim?: (obj: KubernetesObject) => KubernetesObject;
}

/**
 * A tenant decides how large its objects are (up to etcd's 1.5 MiB each), and
 * a page is parsed whole. So the first page is small, and each next one holds
 * as many objects as fit this budget at the size of the largest seen so far.
 */
const FIRST_PAGE = 10;
const PAGE_BUDGET_CHARS = 8 * 1024 * 1024;

export function nextPageSize(largestChars: number, most: number): number {
  return Math.max(1, Math.min(most, Math.floor(PAGE_BUDGET_CHARS / Math.max(1, largestChars))));
}

/**
 * The real transport: CustomObjectsApi (CoreV1Api for namespaces) lists and
 * client-node's Watch. A silent
 * watch drops the kubeconfig's shared connection pool (see resetConnections):
 * over HTTP/2 every request shares one connection, so a restart on the same
 * dead connection would stay just as silent.
 */
export class KubeWatchTransport implements WatchTransport {
  readonly #kc: KubeConfig;
  readonly #api: CustomObjectsApi;
  readonly #core: CoreV1Api;
  readonly #options: KubeWatchTransportOptions;
  readonly #kind: ResourceKind;
  readonly #trim: (obj: KubernetesObject) => KubernetesObject;

  constructor(kc: KubeConfig, options: KubeWatchTransportOptions) {
    this.#kc = kc;
    this.#api = kc.makeApiClient(CustomObjectsApi);
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#options = options;
    this.#kind = options.resource ?? POLICY_RESOURCE;
    this.#trim = options.trim ?? trimForCache;
  }

  async #page(
    namespace: string | undefined,
    limit: number,
    next: string | undefined,
  ): Promise<KubernetesListObject<KubernetesObject> & { metadata?: { continue?: string } }> {
    const cont = next ? { _continue: next } : {};
    const kind = this.#kind;
    if (kind.group === "") {
      if (kind.plural !== "namespaces") throw new Error(`cannot list core ${kind.plural}`);
      return await this.#core.listNamespace({ limit, ...cont });
    }
    const params = {
      group: kind.group,
      version: kind.version,
      plural: kind.plural,
      limit,
      ...cont,
    };
    return (
      namespace
        ? await this.#api.listNamespacedCustomObject({ ...params, namespace })
        : await this.#api.listClusterCustomObject(params)
    ) as KubernetesListObject<KubernetesObject>;
  }

  async list(
    namespace: string | undefined,
  ): Promise<{ items: KubernetesObject[]; resourceVersion: string }> {
    const items: KubernetesObject[] = [];
    let resourceVersion: string;
    let next: string | undefined;
    const most = this.#options.pageSize ?? 500;
    let limit = Math.min(most, FIRST_PAGE);
    let largest = 0;
    do {
      const page = await this.#page(namespace, limit, next);
      // Trimmed page by page: the untrimmed list would be held whole until the end.
      for (const item of page.items) {
        largest = Math.max(largest, JSON.stringify(item).length);
        items.push(this.#trim(item));
      }
      limit = nextPageSize(largest, most);
      resourceVersion = page.metadata?.resourceVersion ?? "";
      // Custom objects come back as plain JSON, so the token is "continue";
      // only client-node's typed lists rename it to _continue.
      next = page.metadata?.continue ?? page.metadata?._continue;
    } while (next);
    return { items, resourceVersion };
  }

  reset(): void {
    resetConnections(this.#kc);
  }

  async watch(
    namespace: string | undefined,
    resourceVersion: string,
    onEvent: (type: string, object: unknown) => void,
    onDone: (err: unknown) => void,
  ): Promise<{ abort(): void }> {
    const path = collectionPath(this.#kind, namespace);
    const watch = new Watch(this.#kc);
    // A private field in client-node's typings; without it a quiet watch is
    // cut every 30 s, before the server's minute-apart bookmarks arrive.
    Object.assign(watch, { requestTimeoutMs: this.#options.inactivityTimeoutMs });
    const controller = await watch.watch(
      path,
      {
        resourceVersion,
        allowWatchBookmarks: true,
        // As client-go does: the server ends each watch after 5–10 min, so
        // connections are renewed even when nothing goes wrong.
        timeoutSeconds: Math.floor(300 + Math.random() * 300),
      },
      onEvent,
      onDone,
    );
    return {
      abort: () => {
        controller.abort();
      },
    };
  }
}
