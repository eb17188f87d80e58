// `npm run demo`: the controller doing its whole job on a laptop, with no cluster
// and no AWS account. It starts a local kube-apiserver, etcd and the CloudWatch
// Logs emulator (moto, behind the fault proxy), installs the CRD, creates the
// destinations, runs the controller as a child process and applies examples/.
// Along the way it injects one OperationAbortedException to show a retry, and
// applies one invalid object to show how a bad spec is reported.
//
//   npm run demo              live table until Ctrl-C, which stops everything
//   npm run demo -- --once    exit 0 once every object has settled (for CI)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs, styleText } from "node:util";
import {
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  V1Namespace,
  V1ObjectMeta,
} from "@kubernetes/client-node";
import { GROUP, PLURAL, VERSION } from "../src/api/names.ts";
import type { LogDestinationPolicy } from "../src/api/v1alpha1.ts";
import { formatProblem, validateManifests } from "../src/cli/validate-core.ts";
import { startControlPlane, type ControlPlane } from "../env/controlplane.ts";
import { isAlive, type ProcessInfo } from "../env/processes.ts";
import { environmentFor } from "../env/variables.ts";
import { spawnController, type ControllerChild } from "../env/controller.ts";
import { localEnvFrom } from "../env/local-env.ts";
import {
  applyExampleBindings,
  applyObjects,
  EXAMPLES_NAMESPACE_LABELS,
  loadExamples,
  parseObjects,
  type ExampleObject,
} from "../env/examples.ts";
import { createDestination, installCrd } from "../env/resources.ts";
import { LiveRegion, metricValue, renderTable, rowOf, type Row } from "./demo-view.ts";

const root = join(import.meta.dirname, "..");
const EXAMPLES_NAMESPACE = "logging";
const INVALID_NAMESPACE = "sandbox";
const RETRIED_EXAMPLE = "organization.yaml";
const STEP_TIMEOUT_MS = 60_000;
const REFRESH_MS = 1_000;
const RETRY_METRIC = "log_destination_policy_aws_retries_total";
const RETRY_LABELS = { operation: "PutDestinationPolicy", error: "OperationAbortedException" };

// Passes the CRD's structural schema, so the API server stores it; the
// controller's own validation (the IAM grammar) is what refuses it.
const INVALID_FILE = "broken-policy.yaml";
const INVALID_MANIFEST = `apiVersion: logs.gitops.dev/v1alpha1
kind: LogDestinationPolicy
metadata:
  name: broken-policy
spec:
  destinationName: sandbox-logs
  region: us-east-1
  accessPolicy:
    Version: "2012-10-17"
    Statement:
      - Sid: AllowPartner
        Effect: Allow
        Principal:
          AWS: "444455556666"
        Actions: logs:PutSubscriptionFilter
        Resource: arn:aws:logs:us-east-1:111122223333:destination:sandbox-logs
`;

const { values: flags } = parseArgs({
  options: { once: { type: "boolean", default: false }, help: { type: "boolean", default: false } },
});
if (flags.help) {
  process.stdout.write(
    "usage: npm run demo [-- --once]\n\n" +
      "  --once   exit 0 once every object has settled, instead of running until Ctrl-C\n" +
      "           (also LDPC_DEMO_ONCE=1)\n",
  );
  process.exit(0);
}
const once = flags.once || process.env.LDPC_DEMO_ONCE === "1";

const style = (format: Parameters<typeof styleText>[0], text: string) =>
  styleText(format, text, { stream: process.stdout });
// With --once on a pipe, only the final table is printed.
const view = new LiveRegion(process.stdout, { pipeFooter: !once });
const say = (line: string) => {
  view.log(line);
};
const step = (line: string) => {
  say(style("bold", `▸ ${line}`));
};
const detail = (line: string) => {
  say(style("dim", `    ${line}`));
};

const startedAt = Date.now();
const seconds = (since = startedAt) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
const workDir = mkdtempSync(join(tmpdir(), "ldpc-demo-"));
let controlPlane: ControlPlane | undefined;
let controller: ControllerChild | undefined;
let controllerInfo: ProcessInfo | undefined;
let shuttingDown = false;
// A function, so that the type checker does not assume it unchanged across an await.
const stopping = () => shuttingDown;

// ---------------------------------------------------------------------------
// What the live table shows, refreshed once a second and on demand.

interface Observed {
  rows: Map<string, Row>;
  messages: Map<string, string>;
  retries: number;
}
const observed: Observed = { rows: new Map(), messages: new Map(), retries: 0 };
let kube: CustomObjectsApi | undefined;
let metricsUrl = "";
let refreshing: Promise<void> | undefined;
let timer: NodeJS.Timeout | undefined;

function refresh(): Promise<void> {
  refreshing ??= poll().finally(() => {
    refreshing = undefined;
  });
  return refreshing;
}

async function poll(): Promise<void> {
  if (!kube || shuttingDown) return;
  const list = (await kube
    .listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })
    .catch(() => undefined)) as { items?: LogDestinationPolicy[] } | undefined;
  if (!list || stopping()) return;
  const now = Date.now();
  const items = [...(list.items ?? [])].sort((a, b) =>
    keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0,
  );
  for (const item of items) {
    const key = keyOf(item);
    const row = rowOf(item, now);
    const before = observed.rows.get(key);
    observed.rows.set(key, row);
    const ready = item.status?.conditions?.find((c) => c.type === "Ready");
    if (ready) observed.messages.set(key, ready.message);
    if (row.reason !== "" && row.reason !== before?.reason) reportTransition(key, row, ready);
  }

  const metrics = await fetch(metricsUrl, { signal: AbortSignal.timeout(2000) })
    .then((r) => r.text())
    .catch(() => undefined);
  if (metrics !== undefined && !stopping()) {
    const retries = metricValue(metrics, RETRY_METRIC, RETRY_LABELS);
    if (retries > observed.retries) {
      say(
        style(
          "yellow",
          `  ↻ retry: PutDestinationPolicy got OperationAbortedException and was tried again ` +
            `(${RETRY_METRIC}{error="OperationAbortedException"} ${observed.retries} → ${retries})`,
        ),
      );
    }
    observed.retries = retries;
  }

  const table = renderTable(items.map((item) => rowOf(item, now)));
  const footer = ["", ...table, "", style("dim", `metrics: ${metricsUrl}`)];
  if (!once) footer.push(style("dim", "Ctrl-C stops everything this demo started."));
  // A pipe sees the table again only when something other than AGE changed.
  view.footer(
    footer,
    items.map((item) => JSON.stringify({ ...rowOf(item, now), age: "" })).join("\n"),
  );
}

function keyOf(object: LogDestinationPolicy): string {
  return `${object.metadata.namespace ?? ""}/${object.metadata.name}`;
}

function reportTransition(
  key: string,
  row: Row,
  ready: { status: string; reason: string; message: string } | undefined,
): void {
  const state = `Ready=${row.ready} ${row.reason}`;
  if (row.ready === "True") say(style("green", `  ✓ ${key}  ${state}`));
  else if (row.ready === "False")
    say(style("red", `  ✗ ${key}  ${state}: ${ready?.message ?? ""}`));
  else say(`  · ${key}  ${state}`);
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  for (;;) {
    await refresh();
    if (check()) return;
    if (Date.now() > deadline) {
      const status = [...observed.rows.entries()]
        .map(
          ([key, row]) => `${key}: ${row.ready} ${row.reason} ${observed.messages.get(key) ?? ""}`,
        )
        .join("\n  ");
      throw new Error(
        `timed out after ${STEP_TIMEOUT_MS / 1000} s waiting for ${what}\n  ${status}`,
      );
    }
    await sleep(250);
  }
}

const reasonOf = (namespace: string, name: string) =>
  observed.rows.get(`${namespace}/${name}`)?.reason;

async function applyAndWait(objects: readonly ExampleObject[], namespace: string, reason: string) {
  if (!controlPlane) throw new Error("no control plane");
  await applyObjects(
    { kubectl: controlPlane.kubectl, kubeconfigPath: controlPlane.kubeconfigPath },
    objects,
    namespace,
  );
  const names = objects.map((o) => o.metadata.name);
  await until(`${names.join(", ")} to reach ${reason}`, () =>
    names.every((name) => reasonOf(namespace, name) === reason),
  );
}

// ---------------------------------------------------------------------------
// Starting and stopping.

async function createNamespace(
  kc: KubeConfig,
  name: string,
  labels: Record<string, string> = {},
): Promise<void> {
  const namespace = new V1Namespace();
  namespace.metadata = new V1ObjectMeta();
  namespace.metadata.name = name;
  namespace.metadata.labels = labels;
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: namespace });
}

async function startController(cp: ControlPlane): Promise<void> {
  const logFile = join(workDir, "controller.log");
  controller = await spawnController({
    entry: join(root, "src", "main.ts"),
    kubeconfigPath: cp.kubeconfigPath,
    region: cp.region,
    args: ["--shutdown-grace-period", "3s"],
    env: environmentFor(cp.state()),
    logFile,
  });
  controllerInfo = { name: "controller", pid: controller.pid, command: process.execPath, logFile };
  metricsUrl = controller.metricsUrl;
  await controller.waitReady(() => `see ${logFile}`);
}

function startedProcesses(): ProcessInfo[] {
  return [...(controlPlane?.state().processes ?? []), ...(controllerInfo ? [controllerInfo] : [])];
}

/** Stops the controller, then the control plane, each by pid; returns what still runs. */
async function stopEverything(keepLogs = false): Promise<ProcessInfo[]> {
  shuttingDown = true;
  clearInterval(timer);
  const all = startedProcesses();
  await controller?.stop(10_000);
  await controlPlane?.stop();
  if (!keepLogs) rmSync(workDir, { recursive: true, force: true });
  return all.filter((p) => isAlive(p.pid));
}

function reportStopped(all: readonly ProcessInfo[], left: readonly ProcessInfo[]): void {
  const names = all.map((p) => `${p.name} (${p.pid})`).join(", ");
  if (left.length === 0) {
    say(`Stopped ${names || "nothing"}; no process is left running.`);
  } else {
    say(style("red", `Still running: ${left.map((p) => `${p.name} (${p.pid})`).join(", ")}`));
  }
}

function onSignal(signal: NodeJS.Signals, code: number): void {
  process.on(signal, () => {
    if (shuttingDown) return;
    view.release();
    say("");
    step(`${signal}: stopping the controller and the control plane`);
    const all = startedProcesses();
    stopEverything().then(
      (left) => {
        reportStopped(all, left);
        process.exit(left.length === 0 ? code : 1);
      },
      (err: unknown) => {
        say(`could not stop everything: ${String(err)}`);
        process.exit(1);
      },
    );
  });
}

// ---------------------------------------------------------------------------

async function main(): Promise<number> {
  say(style("bold", "log-destination-policy-controller demo"));
  say(
    "A local Kubernetes API server and CloudWatch Logs emulator; no cluster or AWS account is used.",
  );
  say("");
  step("Starting etcd, kube-apiserver and the CloudWatch Logs emulator (moto) on 127.0.0.1");
  detail("the first run builds them into ~/.cache/log-destination-policy-controller (minutes)");
  controlPlane = await startControlPlane({ log: detail });
  // The demo stops its processes itself, controller first, and reports what it
  // stopped; the control plane's own signal handlers would exit half-way through.
  // Its exit hook stays, and kills whatever is left if this process dies.
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    for (const listener of process.listeners(signal)) {
      if (!ownHandlers.has(listener)) process.off(signal, listener);
    }
  }
  const cp = controlPlane;
  const env = localEnvFrom(environmentFor(cp.state()));
  const kubeConfig = env.kubeConfig;
  kube = kubeConfig.makeApiClient(CustomObjectsApi);

  step("Installing the LogDestinationPolicy and LogDestinationPolicyBinding CRDs (crds/)");
  await installCrd(env, { testBinding: false });
  step(
    `kubectl apply -f examples/bindings.yaml: namespaces labelled team=logging may manage the examples' destinations`,
  );
  await applyExampleBindings(env);
  await createNamespace(kubeConfig, EXAMPLES_NAMESPACE, EXAMPLES_NAMESPACE_LABELS);
  await createNamespace(kubeConfig, INVALID_NAMESPACE);

  const examples = loadExamples();
  const destinations = new Map<string, { name: string; region: string }>();
  for (const { objects } of examples) {
    for (const { spec } of objects) {
      const region = spec.region ?? cp.region;
      destinations.set(`${spec.destinationName} (${region})`, {
        name: spec.destinationName,
        region,
      });
    }
  }
  step(`Creating ${destinations.size} destinations in the emulator`);
  detail([...destinations.keys()].join(", "));
  for (const { name, region } of destinations.values()) await createDestination(env, name, region);

  step("Starting the controller: node src/main.ts");
  await startController(cp);
  detail(`metrics    ${metricsUrl}`);
  detail(`logs       ${controllerInfo?.logFile ?? ""}`);
  detail(`kubectl    KUBECONFIG=${cp.kubeconfigPath} ${cp.kubectl} get ldp -A`);
  detail(
    `pids       ${startedProcesses()
      .map((p) => `${p.name}=${p.pid}`)
      .join(" ")}`,
  );
  say(style("bold", `Ready in ${seconds()}.`));
  timer = setInterval(() => void refresh(), REFRESH_MS);

  const byFile = new Map(examples.map((e) => [e.file, e.objects]));
  const first = examples.find((e) => e.file !== RETRIED_EXAMPLE);
  if (first) {
    step(`kubectl apply -n ${EXAMPLES_NAMESPACE} -f examples/${first.file}`);
    await applyAndWait(first.objects, EXAMPLES_NAMESPACE, "Applied");
  }

  const retried = byFile.get(RETRIED_EXAMPLE);
  if (retried && cp.proxy) {
    step(
      `Injecting one OperationAbortedException into the next PutDestinationPolicy, then applying examples/${RETRIED_EXAMPLE}`,
    );
    const before = observed.retries;
    cp.proxy.inject({
      operation: "PutDestinationPolicy",
      fault: { kind: "error", name: "OperationAbortedException" },
      count: 1,
    });
    await applyAndWait(retried, EXAMPLES_NAMESPACE, "Applied");
    await until("the retry metric to move", () => observed.retries > before);
  }

  const rest = examples.filter((e) => e !== first && e.file !== RETRIED_EXAMPLE);
  for (const example of rest) {
    step(`kubectl apply -n ${EXAMPLES_NAMESPACE} -f examples/${example.file}`);
    await applyAndWait(example.objects, EXAMPLES_NAMESPACE, "Applied");
  }

  step(
    `Applying an invalid object to namespace ${INVALID_NAMESPACE}: "Actions" is not an IAM field`,
  );
  detail(`the offline check a CI pipeline runs would have caught it:`);
  detail(`$ log-destination-policy-controller validate ${INVALID_FILE}`);
  for (const problem of validateManifests(INVALID_MANIFEST, INVALID_FILE).problems) {
    detail(formatProblem(problem));
  }
  await applyAndWait(parseObjects(INVALID_MANIFEST), INVALID_NAMESPACE, "InvalidSpec");

  await refresh();
  const total = observed.rows.size;
  say(style("bold", `All ${total} objects settled ${seconds()} after the start.`));
  if (once) {
    await refresh();
    view.release();
    const all = startedProcesses();
    const left = await stopEverything();
    reportStopped(all, left);
    return left.length === 0 ? 0 : 1;
  }
  say(
    `Try kubectl against it (the command above), or open the metrics URL. Ctrl-C stops everything.`,
  );
  await new Promise<never>(() => undefined);
  return 0;
}

const ownHandlers = new Set<NodeJS.SignalsListener>();
onSignal("SIGINT", 130);
onSignal("SIGTERM", 143);
onSignal("SIGHUP", 129);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  for (const listener of process.listeners(signal)) ownHandlers.add(listener);
}
main().then(
  (code) => {
    process.exit(code);
  },
  async (err: unknown) => {
    view.release();
    say(style("red", `demo failed: ${err instanceof Error ? err.message : String(err)}`));
    const all = startedProcesses();
    const left = await stopEverything(true).catch(() => startedProcesses());
    say(`The controller's log is kept in ${workDir}.`);
    reportStopped(all, left);
    process.exit(1);
  },
);
