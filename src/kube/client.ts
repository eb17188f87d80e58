// Loads credentials the way kubectl and controller-runtime do: an explicit
// kubeconfig path, then KUBECONFIG, then the in-cluster service account.
import { KubeConfig } from "@kubernetes/client-node";

export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}
