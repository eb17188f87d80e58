// The environment a running control plane is announced through, the same for
// test/run.ts's test processes, `.local/env.sh` and test/support/env.ts.
import type { ControlPlaneState } from "./controlplane.ts";

/** Emulator credentials: moto accepts any, and real ones must never be needed. */
export const dummyCredentials = { accessKeyId: "testing", secretAccessKey: "testing" };

export function environmentFor(state: ControlPlaneState): Record<string, string> {
  return {
    KUBECONFIG: state.kubeconfigPath,
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: state.proxyUrl,
    // The controller looks up its own account with STS: the emulator answers that too.
    AWS_ENDPOINT_URL_STS: state.proxyUrl,
    AWS_REGION: state.region,
    AWS_ACCESS_KEY_ID: dummyCredentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: dummyCredentials.secretAccessKey,
    LDPC_MOTO_URL: state.motoUrl,
    LDPC_PROXY_URL: state.proxyUrl,
    LDPC_KUBECTL: state.kubectl,
    LDPC_HELM: state.helm,
    LDPC_KUBE_VERSION: state.kubernetesVersion,
  };
}

/** Variables a shared control plane must have set for a test process to use it. */
export const requiredVariables = [
  "KUBECONFIG",
  "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
  "AWS_REGION",
  "LDPC_MOTO_URL",
  "LDPC_PROXY_URL",
  "LDPC_KUBECTL",
  "LDPC_HELM",
] as const;
