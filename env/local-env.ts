// The handle on a running local environment (cluster, CloudWatch Logs emulator,
// fault proxy, tools) that the tests, the demo and the bench work with, read
// from the variables environmentFor() announces a control plane through.
import { KubeConfig } from "@kubernetes/client-node";
import { FaultProxyClient } from "./fault-proxy-client.ts";

export interface LocalEnv {
  kubeconfigPath: string;
  /** Admin (system:masters) access to the cluster. */
  kubeConfig: KubeConfig;
  motoUrl: string;
  /** The fault proxy's URL: the endpoint every CloudWatch Logs client should use. */
  awsEndpoint: string;
  region: string;
  proxy: FaultProxyClient;
  kubectl: string;
  helm: string;
  /** e.g. "v1.35.4" */
  kubernetesVersion: string;
}

export function localEnvFrom(vars: Readonly<Record<string, string | undefined>>): LocalEnv {
  const variable = (name: string): string => {
    const value = vars[name];
    if (!value) throw new Error(`${name} is not set: no local environment is announced`);
    return value;
  };
  const kubeconfigPath = variable("KUBECONFIG");
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  return {
    kubeconfigPath,
    kubeConfig,
    motoUrl: variable("LDPC_MOTO_URL"),
    awsEndpoint: variable("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"),
    region: variable("AWS_REGION"),
    proxy: new FaultProxyClient(variable("LDPC_PROXY_URL")),
    kubectl: variable("LDPC_KUBECTL"),
    helm: variable("LDPC_HELM"),
    kubernetesVersion: vars.LDPC_KUBE_VERSION ?? "",
  };
}
