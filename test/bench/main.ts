// npm run bench: how fast the controller converges, what an unchanged restart
// costs, how quickly one change reaches AWS, and how small the process stays,
// each measured against a real kube-apiserver and compared with the fastest a
// bare client can make the same writes on this machine.
//
//   npm run bench                                  N = 1,000 and 10,000, about 10 minutes
//   npm run bench -- --sizes 1000 --rate-check 0   a quick run
//   npm run bench -- --help                        every option
import { cpSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import {
  API_VERSION,
  BINDING_CRD_NAME,
  GRANT_CRD_NAME,
  BINDING_KIND,
  BINDING_PLURAL,
  CRD_NAME,
  GROUP,
  LAST_APPLIED_ANNOTATION,
  PLURAL,
  VERSION,
} from "../../src/api/names.ts";
import { specSchema } from "../../src/api/v1alpha1.ts";
import { desiredState } from "../../src/controller/desired.ts";
import { repoRoot } from "../../env/binaries.ts";
import { startControlPlane, type ControlPlane } from "../../env/controlplane.ts";
import { chartNodeOptions } from "../../scripts/chart.ts";
import { imageEnv } from "../support/dockerfile.ts";
import {
  ControllerProcess,
  ENTRY_FILES,
  entryPoint,
  footprintOf,
  supportedFlags,
  type Entry,
} from "./controller.ts";
import {
  apiserverRequestCounts,
  createNamespace,
  diffCounts,
  forEachConcurrent,
  KubeHttp,
  MERGE_PATCH,
  policyPath,
  type RequestCounts,
} from "./kube.ts";
import { MemoryLogsEndpoint, MotoLogsEndpoint, type LogsEndpoint } from "./logs-endpoint.ts";
import { latency, timedChange } from "./changes.ts";
import { fairShare } from "./fair-share.ts";
import { regionsSideBySide } from "./regions.ts";
import { grantsSideBySide, type GrantsOptions } from "./grants.ts";
import { ReadyWatch } from "./ready-watch.ts";
import { log, REGION, seconds, specFor } from "./fixtures.ts";
import { kopfComparison, steadyState, type KopfResult, type SteadyResult } from "./phases.ts";
import {
  countWrites,
  currentLoad,
  machineDescription,
  renderReport,
  type RateCheck,
  type Report,
  type SizeResult,
} from "./report.ts";

const USAGE = `usage: npm run bench -- [options]
  --sizes LIST               object counts, comma-separated (default 1000,10000)
  --reconciles N             controller --max-concurrent-reconciles (default 32)
  --ceiling-concurrency LIST in-flight requests of the bare client; the best is kept (default 16,32)
  --changes N                single-object spec changes per size (default 200)
  --bindings LIST            LogDestinationPolicyBindings per convergence run, each run on fresh
                             objects (default 0,100); 0 runs the controller with
                             --require-binding=false. Of B bindings, B-2 select every bench
                             namespace and permit none of its destinations, so each object is
                             checked against all of them; one permits them; one selects nothing
  --rate-check N             objects for the default-AWS-rate-limit run; 0 skips it (default 1000)
  --fair-share N             failing objects in one namespace while --fair-changes changes in another
                             are timed to their put, at the default AWS rate limit; 0 skips it
                             (default 1000)
  --fair-changes N           changes timed behind that flood (default 20)
  --regions N                N objects in one region, then in N made-up regions, side by side:
                             peak RSS of each run; 0 skips it (default 500)
  --grants N                 shared destinations: N grants created at once on --grant-destinations
                             destinations, one grant at a time added to a destination holding
                             --grant-holding (--grant-changes times), and a restart on
                             --grant-restart grants over --grant-restart-destinations; 0 skips
                             (default 1000, 10, 299, 20, 10000, 100)
  --steady N:INTERVAL,...    steady state as shipped (default AWS rate limit) on N applied objects of
                             their own with that drift interval (default 300:20s; none skips it)
  --no-steady-sizes          skip steady state (default drift interval) on each size's objects
  --no-kopf                  skip the minimal kopf + boto3 operator run at each size
  --endpoint memory|moto     CloudWatch Logs endpoint (default memory)
  --entry image|dist|src     the controller to run: the image's bundle (npm run bundle), dist/main.js
                             (npm run build) or the sources; npm run bench builds and runs image
  --node-options="FLAGS"     node flags for the controller (default: the NODE_OPTIONS the Helm chart
                             sets by default); --node-options="" runs with Node's own defaults
  --cpu-prof DIR             write the controller's CPU profiles (node --cpu-prof) to DIR
  --out FILE                 results file (default bench-results/bench-<time>.md)
  --keep-logs DIR            keep the controller's logs in DIR`;

const RESOURCES = [PLURAL, "events"] as const;
const SETUP_CONCURRENCY = 32;
const DEFAULT_AWS_RATE = 5;
const TEAM_LABEL = "ldpc.bench/team";
const BENCH_TEAM = "bench";
const PERMITTING_BINDING = "permit-bench";
const UNUSED_BINDING = "select-nothing";
const REEVALUATIONS = "log_destination_policy_tenancy_reevaluations_total";

interface Options {
  sizes: number[];
  reconciles: number;
  ceilingConcurrency: number[];
  changes: number;
  bindings: number[];
  steady: { n: number; interval: string }[];
  steadySizes: boolean;
  kopf: boolean;
  rateCheck: number;
  fairShare: number;
  fairChanges: number;
  regions: number;
  grants: GrantsOptions;
  endpoint: "memory" | "moto";
  entry: Entry;
  nodeOptions: string[];
  cpuProf: string | undefined;
  out: string;
  logDir: string;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    allowNegative: true,
    options: {
      sizes: { type: "string", default: "1000,10000" },
      reconciles: { type: "string", default: "32" },
      "ceiling-concurrency": { type: "string", default: "16,32" },
      changes: { type: "string", default: "200" },
      bindings: { type: "string", default: "0,100" },
      "rate-check": { type: "string", default: "1000" },
      "fair-share": { type: "string", default: "1000" },
      "fair-changes": { type: "string", default: "20" },
      regions: { type: "string", default: "500" },
      grants: { type: "string", default: "1000" },
      "grant-destinations": { type: "string", default: "10" },
      "grant-holding": { type: "string", default: "299" },
      "grant-changes": { type: "string", default: "20" },
      "grant-restart": { type: "string", default: "10000" },
      "grant-restart-destinations": { type: "string", default: "100" },
      steady: { type: "string", default: "300:20s" },
      "steady-sizes": { type: "boolean", default: true },
      kopf: { type: "boolean", default: true },
      endpoint: { type: "string", default: "memory" },
      entry: { type: "string", default: "src" },
      "node-options": { type: "string" },
      "cpu-prof": { type: "string" },
      out: { type: "string" },
      "keep-logs": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const list = (s: string) =>
    s.split(",").map((x) => {
      const n = Number(x.trim().replace(/_/g, ""));
      if (!Number.isInteger(n) || n < 1)
        throw new Error(`not a positive integer: "${x}"\n${USAGE}`);
      return n;
    });
  const int = (s: string, min: number) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < min) throw new Error(`not an integer >= ${min}: "${s}"`);
    return n;
  };
  if (!(values.entry in ENTRY_FILES))
    throw new Error(`--entry must be image, dist or src\n${USAGE}`);
  if (values.endpoint !== "memory" && values.endpoint !== "moto")
    throw new Error(`--endpoint must be memory or moto\n${USAGE}`);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  return {
    sizes: list(values.sizes),
    reconciles: int(values.reconciles, 1),
    ceilingConcurrency: list(values["ceiling-concurrency"]),
    changes: int(values.changes, 1),
    bindings: values.bindings.split(",").map((x) => int(x.trim(), 0)),
    rateCheck: int(values["rate-check"], 0),
    fairShare: int(values["fair-share"], 0),
    fairChanges: int(values["fair-changes"], 1),
    regions: int(values.regions, 0),
    grants: {
      burst: int(values.grants, 0),
      burstDestinations: int(values["grant-destinations"], 1),
      holding: int(values["grant-holding"], 0),
      changes: int(values["grant-changes"], 1),
      restart: int(values["grant-restart"], 1),
      restartDestinations: int(values["grant-restart-destinations"], 1),
    },
    steadySizes: values["steady-sizes"],
    steady:
      values.steady === "none"
        ? []
        : values.steady.split(",").map((x) => {
            const [count = "", interval = ""] = x.split(":");
            if (!/^\d+[smh]$/.test(interval))
              throw new Error(`--steady wants N:INTERVAL such as 300:20s, got "${x}"`);
            return { n: int(count, 1), interval };
          }),
    kopf: values.kopf,
    endpoint: values.endpoint,
    entry: values.entry as Entry,
    nodeOptions: (values["node-options"] ?? chartNodeOptions())
      .split(/\s+/)
      .filter((x) => x !== ""),
    cpuProf: values["cpu-prof"] ? resolve(values["cpu-prof"]) : undefined,
    out: resolve(values.out ?? join(repoRoot, "bench-results", `bench-${stamp}.md`)),
    logDir: values["keep-logs"]
      ? resolve(values["keep-logs"])
      : mkdtempSync(join(tmpdir(), "ldpc-bench-logs-")),
  };
}

class Bench {
  readonly options: Options;
  readonly cp: ControlPlane;
  readonly kube: KubeHttp;
  readonly endpoint: LogsEndpoint;
  readonly flags: ReadonlySet<string>;
  /** The controller arguments of the last convergence run, bindings included. */
  lastArgs: string[] = [];
  /** Where the last size's objects are, for the phases after it. */
  last: { namespace: string; destinations: string[] } | undefined;
  readonly #controllerArgs: string[];
  #runs = 0;
  #ceilings = 0;

  constructor(
    options: Options,
    cp: ControlPlane,
    kube: KubeHttp,
    endpoint: LogsEndpoint,
    flags: ReadonlySet<string>,
  ) {
    this.options = options;
    this.cp = cp;
    this.kube = kube;
    this.endpoint = endpoint;
    this.flags = flags;
    this.#controllerArgs = [
      "--max-concurrent-reconciles",
      String(options.reconciles),
      ...(flags.has("--aws-rate-limit") ? ["--aws-rate-limit", "0"] : []),
    ];
  }

  get controllerArgs(): readonly string[] {
    return this.#controllerArgs;
  }

  /** The controller's arguments for a run with `bindings` bindings. */
  #argsFor(bindings: number): string[] {
    return [...this.#controllerArgs, ...(bindings === 0 ? ["--require-binding=false"] : [])];
  }

  #bindingPath(name?: string): string {
    return `/apis/${GROUP}/${VERSION}/${BINDING_PLURAL}${name ? `/${name}` : ""}`;
  }

  /**
   * Exactly `count` bindings: the one that permits the bench namespaces, one that
   * selects no namespace, and decoys that select every bench namespace but permit
   * none of its destinations. Decoys sort before the permitting one, so each object
   * is checked against every binding.
   */
  async setBindings(count: number): Promise<void> {
    // Right after the CRD is established its storage may still answer 429 for a moment.
    let listed: { items: { metadata: { name: string } }[] } | undefined;
    for (let attempt = 0; !listed; attempt++) {
      try {
        listed = (await this.kube.request<typeof listed>("GET", this.#bindingPath())).body;
      } catch (error) {
        if (attempt >= 60 || !String(error).includes("HTTP 429")) throw error;
        await sleep(500);
      }
    }
    const body = listed;
    await forEachConcurrent(body.items.length, SETUP_CONCURRENCY, async (i) => {
      const name = body.items[i]?.metadata.name ?? "";
      await this.kube.request("DELETE", this.#bindingPath(name));
    });
    if (count === 0) return;
    const specs: [string, Record<string, unknown>][] = [
      [
        PERMITTING_BINDING,
        {
          namespaceSelector: { matchLabels: { [TEAM_LABEL]: BENCH_TEAM } },
          destinations: ["bench-*"],
          regions: [REGION],
          // The change phase's accounts too: each change grants a new one.
          principals: {
            accounts: [
              "111111111111",
              ...Array.from({ length: Math.min(this.options.changes, 1000) }, (_, k) =>
                String(300_000_000_000 + k),
              ),
            ],
          },
        },
      ],
    ];
    if (count >= 2) {
      specs.push([
        UNUSED_BINDING,
        { namespaceSelector: { matchLabels: { [TEAM_LABEL]: "nobody" } }, destinations: ["*"] },
      ]);
    }
    for (let k = 0; k < count - 2; k++) {
      specs.push([
        `decoy-${String(k).padStart(4, "0")}`,
        {
          namespaceSelector: { matchExpressions: [{ key: TEAM_LABEL, operator: "Exists" }] },
          destinations: [`decoy-${k}-*`, `other-${k}`],
          regions: [REGION],
          principals: { accounts: ["111111111111"] },
        },
      ]);
    }
    await forEachConcurrent(specs.length, SETUP_CONCURRENCY, async (i) => {
      const [name, spec] = specs[i] ?? ["", {}];
      await this.kube.request("POST", this.#bindingPath(), {
        apiVersion: API_VERSION,
        kind: BINDING_KIND,
        metadata: { name },
        spec,
      });
    });
  }

  /** Changes one binding and returns how many objects the running controller re-evaluated. */
  async #reevaluatedBy(
    controller: ControllerProcess,
    binding: string,
    expected: number,
  ): Promise<number> {
    const before = (await controller.metric(REEVALUATIONS)) ?? 0;
    await this.kube.request(
      "PATCH",
      this.#bindingPath(binding),
      {
        metadata: { annotations: { "ldpc.bench/changed": String(Date.now()) } },
        spec: { destinations: ["bench-*", `x-${Date.now()}`] },
      },
      MERGE_PATCH,
    );
    if (expected > 0) await controller.waitForMetric(REEVALUATIONS, before + expected, 60_000);
    // Anything more would show up within the watch's latency.
    await sleep(2_000);
    return ((await controller.metric(REEVALUATIONS)) ?? 0) - before;
  }

  async startController(namespace: string, args = this.#controllerArgs) {
    const run = ++this.#runs;
    const nodeArgs = [...this.options.nodeOptions];
    if (this.options.cpuProf) {
      nodeArgs.push(
        "--cpu-prof",
        `--cpu-prof-dir=${this.options.cpuProf}`,
        `--cpu-prof-name=${namespace}-${run}.cpuprofile`,
      );
    }
    return ControllerProcess.start({
      kubeconfigPath: this.cp.kubeconfigPath,
      awsEndpoint: this.endpoint.url,
      region: REGION,
      namespace,
      args,
      entry: this.options.entry,
      logFile: join(this.options.logDir, `controller-${run}-${logName(namespace)}.log`),
      nodeArgs,
    });
  }

  counts(): Promise<RequestCounts> {
    return apiserverRequestCounts(this.kube, RESOURCES);
  }

  /** Waits until the controller's trailing writes (events are fire and forget) have landed. */
  async settledCounts(rounds = 20): Promise<RequestCounts> {
    let last = await this.counts();
    for (let i = 0; i < rounds; i++) {
      await sleep(500);
      const next = await this.counts();
      if (countWrites(next) === countWrites(last)) return next;
      last = next;
    }
    return last;
  }

  async createObjects(namespace: string, n: number, destination: (i: number) => string) {
    const started = performance.now();
    await forEachConcurrent(n, SETUP_CONCURRENCY, async (i) => {
      await this.kube.request("POST", policyPath(namespace), {
        apiVersion: "logs.gitops.dev/v1alpha1",
        kind: "LogDestinationPolicy",
        metadata: { name: `p${i}` },
        spec: specFor(destination(i)),
      });
    });
    return n / seconds(performance.now() - started);
  }

  /**
   * The physical limit: the writes the controller must make for each object (one
   * annotation merge patch, one status merge patch), made by a bare client with
   * `concurrency` requests in flight.
   */
  async ceiling(
    n: number,
    concurrency: number,
    asController = false,
  ): Promise<{ create: number; patch: number }> {
    const namespace = `ceiling-${n}-${concurrency}-${++this.#ceilings}`;
    await createNamespace(this.kube, namespace);
    const destination = (i: number) => `${namespace}-d${i}`;
    const create = await this.createObjects(namespace, n, destination);
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
    // The controller's own watch and the bench's ReadyWatch, as at convergence.
    const watches = asController
      ? await Promise.all([0, 1].map(() => ReadyWatch.start(this.kube, namespace)))
      : [];
    const started = performance.now();
    await forEachConcurrent(n, concurrency, async (i) => {
      const desired = desiredState(specSchema.parse(specFor(destination(i))), REGION);
      const name = `p${i}`;
      await this.kube.request(
        "PATCH",
        `${policyPath(namespace, name)}?fieldManager=bench`,
        { metadata: { annotations: { [LAST_APPLIED_ANNOTATION]: desired.annotation } } },
        MERGE_PATCH,
      );
      const message = `Policy ${desired.hash} is applied to destination ${desired.destinationName} in ${REGION}`;
      await this.kube.request(
        "PATCH",
        `${policyPath(namespace, name, "status")}?fieldManager=bench`,
        {
          status: {
            conditions: [
              {
                type: "Ready",
                status: "True",
                observedGeneration: 1,
                reason: "Applied",
                message,
                lastTransitionTime: now,
              },
            ],
            observedGeneration: 1,
            appliedPolicyHash: desired.hash,
            lastAppliedTime: now,
            ...(asController ? controllerStatusFields(desired, destination(i), now) : {}),
          },
        },
        MERGE_PATCH,
      );
    });
    const patch = n / seconds(performance.now() - started);
    for (const watch of watches) watch.stop();
    // Deleted so that later phases run against the same amount of data.
    await this.kube.request("DELETE", policyPath(namespace));
    return { create, patch };
  }

  async prepare(namespace: string, n: number): Promise<string[]> {
    await createNamespace(this.kube, namespace, { [TEAM_LABEL]: BENCH_TEAM });
    const destinations = Array.from({ length: n }, (_, i) => `${namespace}-d${i}`);
    await this.endpoint.createDestinations(destinations);
    await this.createObjects(namespace, n, (i) => destinations[i] ?? "");
    return destinations;
  }

  /**
   * CPU seconds used so far by the API server, etcd, this process (the bench's
   * watch and CloudWatch Logs endpoint) and the controller: where 2 CPUs went.
   */
  #cpuSeconds(controllerPid?: number): Record<string, number> {
    const byName = (name: string) => this.cp.state().processes.find((p) => p.name === name)?.pid;
    const cpu = (pid: number | undefined) => (pid === undefined ? 0 : footprintOf(pid).cpuSeconds);
    const own = process.cpuUsage();
    return {
      apiserver: cpu(byName("kube-apiserver")),
      etcd: cpu(byName("etcd")),
      controller: cpu(controllerPid),
      bench: (own.user + own.system) / 1e6,
    };
  }

  /** Starts the controller on N objects it has never seen; until all are Ready. */
  async converge(namespace: string, n: number, args: readonly string[], timeoutMs: number) {
    const watch = await ReadyWatch.start(this.kube, namespace);
    let controller: ControllerProcess | undefined;
    try {
      const countsBefore = await this.counts();
      const putsBefore = this.endpoint.puts().length;
      const cpuBefore = this.#cpuSeconds();
      controller = await this.startController(namespace, [...args]);
      const allReady = await watch.waitForAll(n, timeoutMs);
      const cpuAtReady = this.#cpuSeconds(controller.pid);
      // Writes the API server served while objects were still waiting for Ready.
      const countsAtReady = await this.counts();
      const countsAfter = await this.settledCounts();
      const footprint = controller.footprint();
      const eventsDropped = await controller.metric("log_destination_policy_events_dropped_total");
      return {
        eventsDropped: eventsDropped ?? NaN,
        seconds: seconds(allReady - controller.startedAt),
        firstReadySeconds: seconds((watch.firstReadyAt ?? NaN) - controller.startedAt),
        puts: this.endpoint.puts().length - putsBefore,
        requests: diffCounts(countsAfter, countsBefore),
        requestsAtReady: diffCounts(countsAtReady, countsBefore),
        footprint,
        cpuToReady: Object.fromEntries(
          Object.entries(cpuAtReady).map(([k, v]) => [k, v - (cpuBefore[k] ?? 0)]),
        ),
      };
    } finally {
      watch.stop();
      await controller?.stop();
    }
  }

  async size(n: number): Promise<SizeResult> {
    const o = this.options;
    let best = { create: 0, patch: 0, concurrency: 0 };
    for (const concurrency of o.ceilingConcurrency) {
      log(`N=${n}: ceiling with ${concurrency} requests in flight`);
      const c = await this.ceiling(n, concurrency);
      log(
        `  creates ${c.create.toFixed(0)}/s, annotation + status ${c.patch.toFixed(0)} objects/s`,
      );
      if (c.patch > best.patch) best = { ...c, concurrency };
    }
    log(`N=${n}: ceiling as the controller writes, ${best.concurrency} in flight`);
    const asController = (await this.ceiling(n, best.concurrency, true)).patch;
    log(
      `  annotation + the controller's status, two watches open: ${asController.toFixed(0)} objects/s`,
    );

    // One convergence per bindings count, each on fresh objects; the later phases
    // use the objects and settings of the last one.
    const convergeByBindings: SizeResult["convergeByBindings"] = [];
    let namespace = "";
    let destinations: string[] = [];
    let converged: Awaited<ReturnType<Bench["converge"]>> | undefined;
    let bindings = 0;
    for (const [run, count] of o.bindings.entries()) {
      bindings = count;
      namespace = `bench-${n}-b${count}-${run}`;
      await this.setBindings(count);
      log(`N=${n}: creating ${n} destinations and objects in ${namespace}`);
      destinations = await this.prepare(namespace, n);
      log(`N=${n}: convergence with ${count} bindings`);
      converged = await this.converge(namespace, n, this.#argsFor(count), 30 * 60_000);
      convergeByBindings.push({
        bindings: count,
        seconds: converged.seconds,
        cpuSeconds: converged.footprint.cpuSeconds,
      });
      log(
        `  ${converged.seconds.toFixed(1)} s, ${(n / converged.seconds).toFixed(0)} objects/s, ${converged.puts} puts, ${converged.footprint.cpuSeconds.toFixed(1)} s CPU`,
      );
    }
    if (!converged) throw new Error("--bindings lists no run");
    this.lastArgs = this.#argsFor(bindings);
    this.last = { namespace, destinations };

    log(`N=${n}: restart with nothing changed`);
    const watch = await ReadyWatch.start(this.kube, namespace);
    let controller: ControllerProcess | undefined;
    try {
      const countsBefore = await this.counts();
      const putsBefore = this.endpoint.puts().length;
      controller = await this.startController(namespace, this.#argsFor(bindings));
      const verifiedAt = await controller.waitForMetric(
        "log_destination_policy_apply_skipped_total",
        n,
        10 * 60_000,
      );
      const noopSeconds = seconds(verifiedAt - controller.startedAt);
      const noopCounts = diffCounts(await this.settledCounts(), countsBefore);
      const noopPuts = this.endpoint.puts().length - putsBefore;
      log(`  ${noopSeconds.toFixed(1)} s to verify, ${noopPuts} puts`);

      log(`N=${n}: ${o.changes} single-object changes`);
      const changeCountsBefore = await this.counts();
      const toPut: number[] = [];
      const toReady: number[] = [];
      for (let k = 0; k < o.changes; k++) {
        const { writtenAt, putAt, readyAt } = await timedChange(
          this,
          watch,
          { namespace, destinations, n },
          { k, total: o.changes, account: String(300_000_000_000 + k), readyTimeoutMs: 30_000 },
        );
        toPut.push(putAt - writtenAt);
        toReady.push(readyAt - writtenAt);
      }
      const changeCounts = diffCounts(await this.settledCounts(), changeCountsBefore);
      // The bench's own spec patches are not the controller's.
      const own = `PATCH ${PLURAL}`;
      changeCounts.set(own, (changeCounts.get(own) ?? 0) - o.changes);
      if (changeCounts.get(own) === 0) changeCounts.delete(own);
      const restartFootprint = controller.footprint();
      let reevaluations: SizeResult["reevaluations"];
      if (bindings >= 2) {
        log(`N=${n}: changing a binding that selects the ${n} objects, then one that selects none`);
        reevaluations = {
          selectingBench: await this.#reevaluatedBy(controller, PERMITTING_BINDING, n),
          selectingNone: await this.#reevaluatedBy(controller, UNUSED_BINDING, 0),
        };
        log(
          `  re-evaluated ${reevaluations.selectingBench} and ${reevaluations.selectingNone} objects`,
        );
      }
      const result: SizeResult = {
        n,
        ceilingConcurrency: best.concurrency,
        createRate: best.create,
        ceilingRate: best.patch,
        controllerCeilingRate: asController,
        convergeSeconds: converged.seconds,
        firstReadySeconds: converged.firstReadySeconds,
        convergePuts: converged.puts,
        convergeFootprint: converged.footprint,
        convergeCpuToReady: converged.cpuToReady,
        convergeRequests: converged.requests,
        convergeRequestsAtReady: converged.requestsAtReady,
        convergeEventsDropped: converged.eventsDropped,
        noopPuts,
        noopSeconds,
        noopRequests: noopCounts,
        changes: o.changes,
        changeToPut: latency(toPut),
        changeToReady: latency(toReady),
        changeRequests: changeCounts,
        restartFootprint,
        convergeByBindings,
        ...(reevaluations ? { reevaluations } : {}),
      };
      log(
        `  change → put p50 ${result.changeToPut.p50} ms, p99 ${result.changeToPut.p99} ms; → Ready p50 ${result.changeToReady.p50} ms, p99 ${result.changeToReady.p99} ms`,
      );
      return result;
    } finally {
      watch.stop();
      await controller?.stop();
    }
  }

  /** The kopf operator on N objects of its own, which are deleted afterwards. */
  async kopf(n: number): Promise<KopfResult> {
    const result = await kopfComparison(this, n);
    await this.kube.request("DELETE", policyPath(`bench-kopf-${n}`));
    return result;
  }

  /** Steady state on N applied objects of their own with the given drift interval. */
  async steadyAt(n: number, interval: string): Promise<SteadyResult> {
    const namespace = `bench-steady-${n}-${interval}`;
    log(`N=${n}: steady state at ${interval}: creating and applying ${n} objects`);
    const destinations = await this.prepare(namespace, n);
    await this.converge(namespace, n, this.lastArgs, 30 * 60_000);
    return steadyState(this, namespace, destinations, interval);
  }

  /** N objects with the controller's default AWS rate limit: must take N ÷ rate seconds. */
  async rateCheck(n: number): Promise<RateCheck> {
    const namespace = `rate-${n}`;
    log(`rate-limit check: ${n} objects at the default ${DEFAULT_AWS_RATE} requests/s`);
    await this.prepare(namespace, n);
    const args = [
      "--max-concurrent-reconciles",
      String(this.options.reconciles),
      ...this.#argsFor(0).slice(this.#controllerArgs.length),
    ];
    const bound = n / DEFAULT_AWS_RATE;
    const converged = await this.converge(namespace, n, args, bound * 3_000 + 120_000);
    log(`  ${converged.seconds.toFixed(1)} s (bound ${bound} s)`);
    return {
      n,
      rate: DEFAULT_AWS_RATE,
      boundSeconds: bound,
      measuredSeconds: converged.seconds,
      puts: converged.puts,
    };
  }
}

/** The command line as typed: npm run bench adds --entry image itself. */
function benchCommand(): string {
  let args = process.argv.slice(2);
  if (process.env.npm_lifecycle_event === "bench" && args[0] === "--entry=image")
    args = args.slice(1);
  if (process.env.npm_lifecycle_event !== "bench")
    return ["node test/bench/main.ts", ...args.map(shellWord)].join(" ");
  return args.length === 0
    ? "npm run bench"
    : ["npm run bench --", ...args.map(shellWord)].join(" ");
}

/** An argument as it would be typed, e.g. --node-options="--a --b". */
function shellWord(arg: string): string {
  if (!/\s/.test(arg)) return arg;
  const eq = arg.indexOf("=");
  return eq > 0 && arg.startsWith("--")
    ? `${arg.slice(0, eq + 1)}"${arg.slice(eq + 1)}"`
    : `"${arg}"`;
}

async function installCrd(cp: ControlPlane): Promise<void> {
  const run = promisify(execFile);
  const kubeconfig = ["--kubeconfig", cp.kubeconfigPath];
  for (const name of [CRD_NAME, BINDING_CRD_NAME, GRANT_CRD_NAME]) {
    const file = join(repoRoot, "crds", `${name}.yaml`);
    await run(cp.kubectl, [...kubeconfig, "apply", "--server-side", "-f", file]);
  }
  await run(cp.kubectl, [
    ...kubeconfig,
    "wait",
    "--for=condition=Established",
    "--timeout=60s",
    `crd/${CRD_NAME}`,
    `crd/${BINDING_CRD_NAME}`,
    `crd/${GRANT_CRD_NAME}`,
  ]);
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const startedAt = new Date();
  const loadBefore = currentLoad();
  if (!existsSync(entryPoint(options.entry)))
    throw new Error(`--entry ${options.entry} needs ${ENTRY_FILES[options.entry]}: see --help`);
  const flags = supportedFlags(options.entry);
  const rateLimitFlag = flags.has("--aws-rate-limit");
  const notes: string[] = [];
  if (!rateLimitFlag)
    notes.push("The controller's --help lists no --aws-rate-limit flag; none was passed.");

  // etcd's data on tmpfs when there is one: a benchmark of the controller, not of the disk.
  const shm = "/dev/shm";
  const stateDir = existsSync(shm) ? mkdtempSync(join(shm, "ldpc-bench-")) : undefined;
  log(`machine: ${machineDescription()}; load ${loadBefore.join(" ")}`);
  mkdirSync(options.logDir, { recursive: true });
  const cp = await startControlPlane({ ...(stateDir ? { stateDir } : {}), log });
  const kube = new KubeHttp(cp.kubeconfigPath, 64);
  let endpoint: LogsEndpoint | undefined;
  try {
    await installCrd(cp);
    endpoint =
      options.endpoint === "memory"
        ? await MemoryLogsEndpoint.start(REGION)
        : new MotoLogsEndpoint(cp);
    const bench = new Bench(options, cp, kube, endpoint, flags);
    const results: SizeResult[] = [];
    const steady: SteadyResult[] = [];
    const kopf: KopfResult[] = [];
    for (const n of options.sizes) {
      results.push(await bench.size(n));
      if (options.steadySizes && bench.last) {
        const { namespace, destinations } = bench.last;
        steady.push(await steadyState(bench, namespace, destinations, undefined));
      }
      if (options.kopf) kopf.push(await bench.kopf(n));
    }
    for (const { n, interval } of options.steady) {
      steady.push(await bench.steadyAt(n, interval));
    }
    const rateCheck =
      rateLimitFlag && options.rateCheck > 0 ? await bench.rateCheck(options.rateCheck) : undefined;
    const fair =
      options.fairShare > 0
        ? await fairShare(bench, options.fairShare, options.fairChanges)
        : undefined;

    const regions =
      options.regions > 0
        ? await regionsSideBySide(bench, options.regions, [
            ...bench.controllerArgs,
            "--require-binding=false",
          ])
        : undefined;

    const grants =
      options.grants.burst > 0 ? await grantsSideBySide(bench, options.grants) : undefined;

    const report: Report = {
      startedAt,
      machine: machineDescription(),
      loadBefore,
      loadAfter: currentLoad(),
      endpoint:
        endpoint.kind === "memory"
          ? "in-process AWS JSON 1.1 server (test/bench/logs-endpoint.ts)"
          : "moto behind the fault proxy",
      controllerCommand: [
        ...(options.entry === "image"
          ? Object.entries(imageEnv()).map(([k, v]) => `${k}=${v}`)
          : []),
        "node",
        ...options.nodeOptions,
        ENTRY_FILES[options.entry],
        ...bench.controllerArgs,
      ].join(" "),
      benchCommand: benchCommand(),
      kubernetesVersion: cp.kubernetesVersion,
      etcdOnTmpfs: stateDir !== undefined,
      results,
      rateLimitFlag,
      rateCheck,
      fairShare: fair,
      regions,
      grants,
      steady,
      kopf,
      notes,
    };
    const markdown = renderReport(report);
    console.log(markdown);
    mkdirSync(dirname(options.out), { recursive: true });
    writeFileSync(options.out, `${markdown}\n`);
    log(`results written to ${options.out}; controller logs in ${options.logDir}`);
  } finally {
    kube.close();
    await endpoint?.close();
    // stop() removes the state directory; keep the servers' logs next to the controller's.
    cpSync(join(cp.stateDir, "logs"), options.logDir, { recursive: true });
    await cp.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
});

/**
 * The status fields an applied object carries besides the bare ceiling's
 * (conditions, observedGeneration, appliedPolicyHash, lastAppliedTime): the
 * record's proof, the live policy's hash and check time, and the live fields
 * `kubectl get` shows. Values have the controller's sizes, not its meaning.
 */
function controllerStatusFields(
  desired: { hash: string },
  destinationName: string,
  now: string,
): Record<string, unknown> {
  const account = "123456789012";
  return {
    appliedRecordHash: desired.hash,
    livePolicyHash: desired.hash,
    lastDriftCheckTime: now,
    region: REGION,
    accountId: account,
    destinationArn: `arn:aws:logs:${REGION}:${account}:destination:${destinationName}`,
    policySizeBytes: 512,
    grantedAccounts: ["111111111111"],
  };
}

/** A file name for a controller watching these namespaces: the first, and how many more (names have a length limit). */
function logName(namespaces: string): string {
  const [first = "", ...rest] = namespaces.split(",");
  return rest.length === 0 ? first : `${first}+${String(rest.length)}`;
}
