// Where the control plane's executables are. build.sh is the single place that
// knows (and builds them on first use, honouring KUBEBUILDER_ASSETS and the
// *_BIN overrides), so this only asks it.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

export const repoRoot = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
const buildScript = fileURLToPath(new URL("./build.sh", import.meta.url));

export interface Binaries {
  readonly kubeApiserver: string;
  readonly kubectl: string;
  readonly etcd: string;
  readonly helm: string;
  readonly motoServer: string;
  /** env/tools/kstatus: the kstatus library over a JSON array of objects. */
  readonly kstatus: string;
  /** env/tools/lua-health: an Argo CD health script in Argo CD's Lua VM. */
  readonly luaHealth: string;
  /** The Kubernetes version the binaries were built from, e.g. "v1.35.4". */
  readonly kubernetesVersion: string;
  /** Linters of .github/workflows and the Dockerfile (test/integration/workflows.test.ts). */
  readonly actionlint: string;
  readonly zizmor: string;
  readonly hadolint: string;
  /** The shellcheck actionlint runs on the workflows' scripts. */
  readonly shellcheck: string;
  /** Folder with the CRDs of Flux's HelmRepository and HelmRelease and Argo CD's Application. */
  readonly gitopsCrds: string;
}

const names = [
  "KUBE_APISERVER_BIN",
  "KUBECTL_BIN",
  "ETCD_BIN",
  "HELM_BIN",
  "MOTO_SERVER_BIN",
  "KSTATUS_BIN",
  "LUA_HEALTH_BIN",
  "KUBERNETES_VERSION",
  "ACTIONLINT_BIN",
  "ZIZMOR_BIN",
  "HADOLINT_BIN",
  "SHELLCHECK_BIN",
  "GITOPS_CRDS",
] as const;

let cached: Promise<Binaries> | undefined;

export function resolveBinaries(): Promise<Binaries> {
  cached ??= resolve();
  return cached;
}

let helmOnly: Promise<string> | undefined;

/**
 * helm alone, without building the rest of the control plane: what
 * `npm run generate` needs to render install.yaml from the chart.
 */
export function resolveHelm(): Promise<string> {
  helmOnly ??= new Promise((resolvePromise, reject) => {
    const child = execFile("bash", [buildScript, "--only", "helm"], (err, stdout) => {
      const path = stdout.trim().split("\n").at(-1);
      if (err) reject(new Error(`env/build.sh --only helm failed: ${err.message}`));
      else if (!path) reject(new Error("env/build.sh --only helm printed no path"));
      else resolvePromise(path);
    });
    child.stderr?.pipe(process.stderr);
  });
  return helmOnly;
}

function resolve(): Promise<Binaries> {
  // build.sh prints shell-quoted assignments; let bash unquote them.
  const script = `set -e; eval "$(bash "$0" --print-env)"; printf '%s\\0' ${names.map((n) => `"$${n}"`).join(" ")}`;
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      "bash",
      ["-c", script, buildScript],
      { maxBuffer: 1 << 20 },
      (err, stdout) => {
        if (err) {
          reject(new Error(`env/build.sh --print-env failed: ${err.message}`));
          return;
        }
        const values = stdout.split("\0");
        const get = (i: number) => {
          const v = values[i];
          if (!v) throw new Error(`build.sh --print-env did not print ${names[i] ?? i}`);
          return v;
        };
        resolvePromise({
          kubeApiserver: get(0),
          kubectl: get(1),
          etcd: get(2),
          helm: get(3),
          motoServer: get(4),
          kstatus: get(5),
          luaHealth: get(6),
          kubernetesVersion: get(7),
          actionlint: get(8),
          zizmor: get(9),
          hadolint: get(10),
          shellcheck: get(11),
          gitopsCrds: get(12),
        });
      },
    );
    // The first run builds everything; show its progress instead of hiding minutes of silence.
    child.stderr?.pipe(process.stderr);
  });
}
