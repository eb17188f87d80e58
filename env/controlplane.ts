// A real, local control plane without Docker: etcd and kube-apiserver as envtest
// runs them (TLS from our own CA, RBAC, ServiceAccount tokens), plus moto as the
// CloudWatch Logs emulator behind the fault proxy. Everything listens on
// 127.0.0.1 on ports chosen at run time, so several copies can run at once.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { resolveBinaries } from "./binaries.ts";
import type { Binaries } from "./binaries.ts";
import { createPki, writeKubeconfig } from "./pki.ts";
import type { Pki } from "./pki.ts";
import {
  freePort,
  ProcessExitedError,
  registerExitGuard,
  startProcess,
  stopPids,
  waitUntil,
} from "./processes.ts";
import type { ProcessInfo, StartedProcess } from "./processes.ts";
import { FaultProxy } from "./fault-proxy.ts";
import { isRecord } from "../src/util/record.ts";

export interface ControlPlaneOptions {
  /** Where certificates, data and logs go; a new temporary directory by default. Removed by stop(). */
  stateDir?: string;
  /**
   * Run the fault proxy as a child process (the standalone fault-proxy.ts) rather
   * than in this process; env:up does, so the proxy is a pid like the others.
   */
  proxyProcess?: boolean;
  /**
   * Do not keep this process alive for the servers' sake, so a test process ends
   * (and can stop them on beforeExit) once its own work is done.
   */
  unref?: boolean;
  /** Progress lines; silent by default. */
  log?: (line: string) => void;
}

/** Everything needed to use, or later stop, a running control plane. Serialisable. */
export interface ControlPlaneState {
  stateDir: string;
  kubeconfigPath: string;
  apiserverUrl: string;
  etcdUrl: string;
  motoUrl: string;
  /** The fault proxy in front of moto: the endpoint AWS clients use. */
  proxyUrl: string;
  region: string;
  kubectl: string;
  helm: string;
  kubernetesVersion: string;
  processes: ProcessInfo[];
}

export interface ControlPlane extends ControlPlaneState {
  readonly binaries: Binaries;
  /** The in-process proxy; undefined with proxyProcess (use FaultProxyClient on proxyUrl). */
  readonly proxy: FaultProxy | undefined;
  state(): ControlPlaneState;
  /**
   * Stops kube-apiserver (SIGTERM, by pid) and starts it again on the same
   * port with the same flags; etcd keeps the data. `whileDown` runs in between.
   * Resolves with when it stopped and when it was ready again (epoch ms).
   */
  restartApiServer(options?: {
    whileDown?: () => Promise<void>;
  }): Promise<{ stoppedAt: number; readyAt: number }>;
  stop(): Promise<void>;
}

export const region = "us-east-1";
const readyTimeoutMs = 120_000;
const faultProxyScript = fileURLToPath(new URL("./fault-proxy.ts", import.meta.url));

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const log = opts.log ?? (() => undefined);
  const stateDir = resolve(opts.stateDir ?? mkdtempSync(join(tmpdir(), "ldpc-env-")));
  for (const sub of ["pki", "logs", "etcd"]) mkdirSync(join(stateDir, sub), { recursive: true });

  const started: StartedProcess[] = [];
  let proxy: FaultProxy | undefined;
  const stopAll = async () => {
    await proxy?.close();
    await stopInOrder(started);
    rmSync(stateDir, { recursive: true, force: true });
  };
  const guard = registerExitGuard(stateDir, started, stopAll);

  try {
    const [binaries, pki] = await Promise.all([
      resolveBinaries(),
      createPki(join(stateDir, "pki")),
    ]);
    const launch = (name: string, command: string, args: string[]) => {
      const proc = startProcess({
        name,
        command,
        args,
        logFile: join(stateDir, "logs", `${name}.log`),
        unref: opts.unref ?? false,
      });
      started.push(proc);
      return proc;
    };

    log("starting etcd and moto");
    const [etcdUrl, motoUrl] = await allSettledOrThrow([
      withFreshPorts(async () => {
        const [client, peer] = [await freePort(), await freePort()];
        const proc = launch("etcd", binaries.etcd, etcdArgs(stateDir, client, peer));
        const url = `http://127.0.0.1:${client}`;
        await waitUntil(proc, () => answers(`${url}/health`, (b) => "health" in b), readyTimeoutMs);
        return url;
      }),
      withFreshPorts(async () => {
        const port = await freePort();
        const proc = launch("moto", binaries.motoServer, ["-H", "127.0.0.1", "-p", String(port)]);
        const url = `http://127.0.0.1:${port}`;
        await waitUntil(
          proc,
          () => answers(`${url}/moto-api/data.json`, () => true),
          readyTimeoutMs,
        );
        return url;
      }),
    ]);

    log("starting kube-apiserver");
    let kubeApiserverArgs: string[] = [];
    const apiserverUrl = await withFreshPorts(async () => {
      const port = await freePort();
      kubeApiserverArgs = apiserverArgs(stateDir, pki, port, etcdUrl);
      const proc = launch("kube-apiserver", binaries.kubeApiserver, kubeApiserverArgs);
      const url = `https://127.0.0.1:${port}`;
      await waitUntil(proc, () => apiserverReady(url, pki), readyTimeoutMs);
      return url;
    });

    let proxyUrl: string;
    if (opts.proxyProcess) {
      proxyUrl = await withFreshPorts(async () => {
        const port = await freePort();
        const args = [faultProxyScript, "--port", String(port), "--upstream", motoUrl];
        const proc = launch("fault-proxy", process.execPath, args);
        const url = `http://127.0.0.1:${port}`;
        await waitUntil(
          proc,
          () => answers(`${url}/__proxy/health`, (b) => b.upstream === new URL(motoUrl).href),
          readyTimeoutMs,
        );
        return url;
      });
    } else {
      proxy = await FaultProxy.start({ upstream: motoUrl });
      if (opts.unref) proxy.unref();
      proxyUrl = proxy.url;
    }

    const kubeconfigPath = join(stateDir, "kubeconfig");
    await writeKubeconfig(kubeconfigPath, apiserverUrl, pki);
    log(`control plane ready: ${apiserverUrl}, moto ${motoUrl}, proxy ${proxyUrl}`);

    const state = (): ControlPlaneState => ({
      stateDir,
      kubeconfigPath,
      apiserverUrl,
      etcdUrl,
      motoUrl,
      proxyUrl,
      region,
      kubectl: binaries.kubectl,
      helm: binaries.helm,
      kubernetesVersion: binaries.kubernetesVersion,
      processes: started.map(({ name, pid, command, logFile }) => ({
        name,
        pid,
        command,
        logFile,
      })),
    });
    let stopping: Promise<void> | undefined;
    return {
      ...state(),
      binaries,
      proxy,
      state,
      restartApiServer: async ({ whileDown } = {}) => {
        await stopPids(started.filter((p) => p.name === "kube-apiserver" && !p.hasExited()));
        const stoppedAt = Date.now();
        await whileDown?.();
        const proc = launch("kube-apiserver", binaries.kubeApiserver, kubeApiserverArgs);
        await waitUntil(proc, () => apiserverReady(apiserverUrl, pki), readyTimeoutMs);
        return { stoppedAt, readyAt: Date.now() };
      },
      stop: () => {
        stopping ??= stopAll().finally(() => guard.dispose());
        return stopping;
      },
    };
  } catch (err) {
    await stopAll();
    guard.dispose();
    throw err;
  }
}

/** Stops a control plane recorded by state() from another process (env:down). */
export async function stopControlPlaneState(state: ControlPlaneState): Promise<void> {
  await stopInOrder(state.processes);
  rmSync(state.stateDir, { recursive: true, force: true });
}

/** An apiserver whose etcd is gone hangs in its shutdown until killed, so it goes first. */
async function stopInOrder(procs: readonly ProcessInfo[]): Promise<void> {
  const first = (p: ProcessInfo) => p.name === "kube-apiserver";
  await stopPids(procs.filter(first));
  await stopPids(procs.filter((p) => !first(p)));
}

/**
 * Like Promise.all, but waits for every attempt to finish first, so that no
 * start-up is still retrying while the failure handler stops what was started.
 */
async function allSettledOrThrow<T extends readonly unknown[]>(promises: {
  [K in keyof T]: Promise<T[K]>;
}): Promise<T> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** A port may be taken between choosing and binding it; start again on new ports then. */
async function withFreshPorts<T>(attempt: () => Promise<T>, tries = 3): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof ProcessExitedError) || i >= tries) throw err;
    }
  }
}

function etcdArgs(stateDir: string, clientPort: number, peerPort: number): string[] {
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    "--name=ldpc",
    `--data-dir=${join(stateDir, "etcd")}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=ldpc=${peer}`,
    // Test data need not survive a crash; fsync makes every write slow.
    "--unsafe-no-fsync",
    "--log-level=warn",
  ];
}

function apiserverArgs(stateDir: string, pki: Pki, port: number, etcdUrl: string): string[] {
  return [
    "--bind-address=127.0.0.1",
    "--advertise-address=127.0.0.1",
    `--secure-port=${port}`,
    `--cert-dir=${join(stateDir, "pki")}`,
    `--tls-cert-file=${pki.serverCert}`,
    `--tls-private-key-file=${pki.serverKey}`,
    `--client-ca-file=${pki.caCert}`,
    `--etcd-servers=${etcdUrl}`,
    "--authorization-mode=RBAC",
    `--service-account-issuer=https://127.0.0.1:${port}`,
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    "--service-cluster-ip-range=10.0.0.0/24",
    // No token controller runs, so the admission plugin would reject every pod.
    "--disable-admission-plugins=ServiceAccount",
    "--allow-privileged=true",
    "--enable-priority-and-fairness=false",
    "--profiling=false",
  ];
}

/**
 * Whether the server on `url` is the one just started: another process may hold
 * the port it was given (chosen ports are free only when chosen), and any answer
 * from that one, such as a Go server's 404, must not count as ready.
 */
async function answers(
  url: string,
  isExpected: (body: Record<string, unknown>) => boolean,
): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  const body: unknown = await res.json().catch(() => undefined);
  return res.status === 200 && isRecord(body) && isExpected(body);
}

async function apiserverReady(url: string, pki: Pki): Promise<boolean> {
  const [ca, cert, key] = await Promise.all(
    [pki.caCert, pki.adminCert, pki.adminKey].map((f) => readFile(f)),
  );
  return new Promise((resolvePromise) => {
    const req = httpsRequest(`${url}/readyz`, { ca, cert, key, timeout: 2000 }, (res) => {
      res.resume();
      resolvePromise(res.statusCode === 200);
    });
    req.on("error", () => {
      resolvePromise(false);
    });
    req.on("timeout", () => req.destroy());
    req.end();
  });
}
