// npm run bench:memory: the controller's peak resident memory when tenants
// write the largest objects the CRD admits and as many distinct regions as they
// like. It runs the image's bundle with the chart's heap caps against a real
// kube-apiserver and the in-process CloudWatch Logs endpoint, and prints the
// peak RSS next to the chart's memory limit.
//
//   npm run bench:memory                                   100 large objects, 200 regions
//   npm run bench:memory -- --large 100 --regions 200 --entry src
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs, promisify } from "node:util";
import { parse } from "yaml";
import { readFileSync } from "node:fs";
import { API_VERSION, CRD_NAME, KIND } from "../../src/api/names.ts";
import {
  POLICY_MAX_LIST_ITEMS,
  POLICY_MAX_STATEMENTS,
  POLICY_MAX_STRING,
} from "../../src/api/policy-bounds.ts";
import { CHART_DIR, chartNodeOptions } from "../../scripts/chart.ts";
import { repoRoot } from "../../env/binaries.ts";
import { startControlPlane, type ControlPlane } from "../../env/controlplane.ts";
import { ControllerProcess, ENTRY_FILES, entryPoint, type Entry } from "./controller.ts";
import { createNamespace, forEachConcurrent, KubeHttp, policyPath } from "./kube.ts";
import { MemoryLogsEndpoint } from "./logs-endpoint.ts";

const REGION = "us-east-1";
// etcd refuses requests above 1.5 MiB; stay just below, as a tenant would.
const TARGET_OBJECT_BYTES = 1_400_000;

function log(line: string): void {
  console.error(`[bench:memory] ${line}`);
}

/** The largest structured policy the CRD admits that still fits in one etcd request. */
export function largestPolicy(): Record<string, unknown> {
  const value = "a".repeat(POLICY_MAX_STRING);
  const statements = Math.min(32, POLICY_MAX_STATEMENTS);
  const perStatement = Math.min(
    POLICY_MAX_LIST_ITEMS,
    Math.floor(TARGET_OBJECT_BYTES / statements / (value.length + 3)),
  );
  const statement = (i: number) => ({
    Sid: `S${i}`,
    Effect: "Allow",
    Principal: { AWS: "111111111111" },
    Action: "logs:PutSubscriptionFilter",
    Resource: Array.from({ length: perStatement }, () => value),
  });
  return {
    Version: "2012-10-17",
    Statement: Array.from({ length: statements }, (_, i) => statement(i)),
  };
}

/** Distinct strings that pass the region pattern: xa-b-1, xa-c-1, … */
function region(i: number): string {
  const letters = "abcdefghijklmnopqrstuvwxyz";
  const word = (n: number) => `${letters[n % 26] ?? "a"}${letters[Math.floor(n / 26) % 26] ?? "a"}`;
  return `zz-${word(i)}-${(i % 9) + 1}`;
}

async function installCrd(cp: ControlPlane): Promise<void> {
  const run = promisify(execFile);
  const kubeconfig = ["--kubeconfig", cp.kubeconfigPath];
  const file = join(repoRoot, "crds", `${CRD_NAME}.yaml`);
  await run(cp.kubectl, [...kubeconfig, "apply", "--server-side", "-f", file]);
  await run(cp.kubectl, [...kubeconfig, "wait", "--for=condition=Established", `crd/${CRD_NAME}`]);
}

interface Listed {
  items: { status?: { conditions?: { type: string }[] } }[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      large: { type: "string", default: "100" },
      regions: { type: "string", default: "200" },
      entry: { type: "string", default: "image" },
    },
  });
  const large = Number(values.large);
  const regions = Number(values.regions);
  const entry = values.entry as Entry;
  if (!existsSync(entryPoint(entry)))
    throw new Error(`--entry ${entry} needs ${ENTRY_FILES[entry]}`);
  const shm = "/dev/shm";
  const stateDir = existsSync(shm) ? mkdtempSync(join(shm, "ldpc-memory-")) : undefined;
  const cp = await startControlPlane({ ...(stateDir ? { stateDir } : {}), log });
  const kube = new KubeHttp(cp.kubeconfigPath, 8);
  const endpoint = await MemoryLogsEndpoint.start(REGION);
  let controller: ControllerProcess | undefined;
  try {
    await installCrd(cp);
    const namespace = "memory";
    await createNamespace(kube, namespace);
    const policy = largestPolicy();
    const bytes = JSON.stringify(policy).length;
    log(
      `creating ${large} objects with a ${bytes}-byte policy and ${regions} with distinct regions`,
    );
    await forEachConcurrent(large, 4, async (i) => {
      await kube.request("POST", policyPath(namespace), {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: `large-${i}` },
        spec: { destinationName: `large-${i}`, region: REGION, accessPolicy: policy },
      });
    });
    await forEachConcurrent(regions, 16, async (i) => {
      await kube.request("POST", policyPath(namespace), {
        apiVersion: API_VERSION,
        kind: KIND,
        metadata: { name: `region-${i}` },
        spec: {
          destinationName: `region-${i}`,
          region: region(i),
          accessPolicy: {
            Version: "2012-10-17",
            Statement: {
              Effect: "Allow",
              Principal: { AWS: "111111111111" },
              Action: "x",
              Resource: "*",
            },
          },
        },
      });
    });
    const logDir = join(repoRoot, "bench-results");
    mkdirSync(logDir, { recursive: true });
    const nodeArgs = chartNodeOptions().split(" ").filter(Boolean);
    controller = await ControllerProcess.start({
      kubeconfigPath: cp.kubeconfigPath,
      awsEndpoint: endpoint.url,
      region: REGION,
      namespace,
      args: ["--aws-rate-limit", "0", "--log-level", "warn"],
      entry,
      logFile: join(logDir, "memory-controller.log"),
      nodeArgs,
    });
    const started = Date.now();
    for (;;) {
      if (controller.exited)
        throw new Error("the controller exited; see bench-results/memory-controller.log");
      const listed = await kube.request<Listed>("GET", `${policyPath(namespace)}?limit=500`);
      const done = listed.body.items.filter((o) =>
        o.status?.conditions?.some((c) => c.type === "Ready"),
      ).length;
      if (done === large + regions) break;
      if (Date.now() - started > 600_000)
        throw new Error(`only ${done} objects reported after 10 min`);
      await sleep(1000);
    }
    // A few more seconds: retries of the missing destinations in 200 regions keep their clients busy.
    await sleep(5000);
    const { peakRssMiB } = controller.footprint();
    const values = parse(readFileSync(join(repoRoot, CHART_DIR, "values.yaml"), "utf8")) as {
      resources: { limits: { memory: string } };
    };
    console.log(
      [
        `objects: ${large} with a ${bytes}-byte structured policy, ${regions} with distinct regions`,
        `controller: node ${nodeArgs.join(" ")} ${ENTRY_FILES[entry]}`,
        `peak RSS: ${peakRssMiB.toFixed(0)} MiB (chart limit ${values.resources.limits.memory})`,
        `settled after ${((Date.now() - started) / 1000).toFixed(1)} s`,
      ].join("\n"),
    );
  } finally {
    await controller?.stop();
    await endpoint.close();
    await cp.stop();
  }
}

await main();
