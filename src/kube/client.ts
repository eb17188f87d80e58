// Loads credentials the way kubectl and controller-runtime do: an explicit
// kubeconfig path, then KUBECONFIG, then the in-cluster service account.
import type { AgentOptions } from "node:https";
import { KubeConfig } from "@kubernetes/client-node";

export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  reuseConnections(kc);
  return kc;
}

interface Dispatcher {
  close(): Promise<void>;
  destroy(): Promise<void>;
}
type CreateDispatcher = (cluster: unknown, options: AgentOptions) => Dispatcher | undefined;

const TLS_OPTIONS = [
  "ca",
  "cert",
  "key",
  "pfx",
  "passphrase",
  "rejectUnauthorized",
  "servername",
] as const;

/**
 * client-node 2.0 builds a new undici Agent for every API request (its
 * KubeConfig caches https Agents but not dispatchers), so every request paid
 * for a TLS handshake and left an idle connection behind: most of the
 * controller's CPU and memory at scale. One dispatcher is kept per cluster and
 * reused for as long as the TLS options it was built from stay the same; a
 * rotated certificate gets a new one and the old one is closed once idle.
 */
export function reuseConnections(kc: KubeConfig): void {
  const target = kc as unknown as { createDispatcher?: CreateDispatcher };
  const create = target.createDispatcher?.bind(kc);
  if (!create) return;
  let current:
    { cluster: unknown; options: AgentOptions; dispatcher: Dispatcher | undefined } | undefined;
  resets.set(kc, () => {
    current?.dispatcher?.destroy().catch(() => undefined);
    current = undefined;
  });
  target.createDispatcher = (cluster, options) => {
    if (current && current.cluster === cluster && sameTls(current.options, options)) {
      return current.dispatcher;
    }
    current?.dispatcher?.close().catch(() => undefined);
    current = { cluster, options, dispatcher: create(cluster, options) };
    return current.dispatcher;
  };
}

const resets = new WeakMap<KubeConfig, () => void>();

/**
 * Drops the shared pool: requests still waiting on its connections fail at
 * once, and the next request opens a new connection. For a connection that
 * has gone silent without closing (a stuck proxy or NAT), which would
 * otherwise hold every request multiplexed on it, a restarted watch included.
 */
export function resetConnections(kc: KubeConfig): void {
  resets.get(kc)?.();
}

function sameTls(a: AgentOptions, b: AgentOptions): boolean {
  return TLS_OPTIONS.every((field) => {
    const [x, y] = [a[field], b[field]];
    return Buffer.isBuffer(x) && Buffer.isBuffer(y) ? x.equals(y) : x === y;
  });
}
