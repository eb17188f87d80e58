// The comparison: a minimal kopf + boto3 operator (kopf_operator.py) in its own
// virtualenv (kopf-venv.sh, cached by version), run against the same control
// plane and CloudWatch Logs endpoint as the controller.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { repoRoot } from "../../env/binaries.ts";
import { dummyCredentials } from "../../env/variables.ts";
import { footprintOf, type Footprint } from "./controller.ts";

const OPERATOR = join(repoRoot, "test", "bench", "kopf_operator.py");

let python: Promise<string> | undefined;

/** The virtualenv's python, installed on first use. */
export function kopfPython(): Promise<string> {
  python ??= promisify(execFile)("bash", [join(repoRoot, "test", "bench", "kopf-venv.sh")], {
    maxBuffer: 1 << 20,
  }).then(({ stdout }) => stdout.trim());
  return python;
}

export interface KopfOptions {
  kubeconfigPath: string;
  awsEndpoint: string;
  region: string;
  namespace: string;
  logFile: string;
}

export class KopfProcess {
  readonly pid: number;
  readonly startedAt: number;
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;

  private constructor(child: ChildProcess, startedAt: number) {
    this.#child = child;
    this.pid = child.pid ?? -1;
    this.startedAt = startedAt;
    this.#exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else
        child.once("exit", () => {
          resolve();
        });
    });
  }

  /** `kopf run` with its defaults, but --standalone: the benchmark runs one replica and no peering CRD. */
  static async start(options: KopfOptions): Promise<KopfProcess> {
    const py = await kopfPython();
    const log = openSync(options.logFile, "a");
    const startedAt = Date.now();
    let child: ChildProcess;
    try {
      child = spawn(
        py,
        ["-m", "kopf", "run", "--standalone", "--namespace", options.namespace, OPERATOR],
        {
          cwd: repoRoot,
          stdio: ["ignore", log, log],
          env: {
            PATH: process.env.PATH ?? "",
            HOME: process.env.HOME ?? "",
            KUBECONFIG: options.kubeconfigPath,
            AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: options.awsEndpoint,
            AWS_REGION: options.region,
            AWS_DEFAULT_REGION: options.region,
            AWS_ACCESS_KEY_ID: dummyCredentials.accessKeyId,
            AWS_SECRET_ACCESS_KEY: dummyCredentials.secretAccessKey,
          },
        },
      );
    } finally {
      closeSync(log);
    }
    running.add(child);
    return new KopfProcess(child, startedAt);
  }

  get exited(): boolean {
    return this.#child.exitCode !== null || this.#child.signalCode !== null;
  }

  footprint(): Footprint {
    return footprintOf(this.pid);
  }

  async stop(timeoutMs = 30_000): Promise<void> {
    if (!this.exited) {
      this.#child.kill("SIGTERM");
      const timer = setTimeout(() => this.#child.kill("SIGKILL"), timeoutMs);
      await this.#exited;
      clearTimeout(timer);
    }
    running.delete(this.#child);
  }
}

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});
