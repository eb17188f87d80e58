// The cost of the regions a tenant may invent: the same N objects converged
// twice by a fresh controller, once all in one region and once each in a region
// of its own that passes the CRD's pattern but that AWS does not have. The
// bench's logs endpoint answers for every region, so both runs are applied;
// the difference in the controller's peak RSS is what the regions cost, which
// --aws-max-clients bounds.
import { API_VERSION, KIND } from "../../src/api/names.ts";
import { REGION, log, specFor } from "./fixtures.ts";
import { createNamespace, forEachConcurrent, policyPath, type KubeHttp } from "./kube.ts";
import type { LogsEndpoint } from "./logs-endpoint.ts";

export interface RegionsResult {
  n: number;
  /** Peak RSS, MiB, with every object in one region. */
  oneRegionMiB: number;
  /** Peak RSS, MiB, with each object in a made-up region of its own. */
  distinctRegionsMiB: number;
  oneRegionSeconds: number;
  distinctRegionsSeconds: number;
}

/** What the phase needs of the bench. */
export interface RegionsBench {
  readonly kube: KubeHttp;
  readonly endpoint: LogsEndpoint;
  converge(
    namespace: string,
    n: number,
    args: readonly string[],
    timeoutMs: number,
  ): Promise<{ seconds: number; footprint: { peakRssMiB: number } }>;
}

/** Distinct strings that pass the region pattern and name no AWS region: zz-aa-1, zz-ba-2, … */
export function madeUpRegion(i: number): string {
  const letters = "abcdefghijklmnopqrstuvwxyz";
  const word = (k: number) => `${letters[k % 26] ?? "a"}${letters[Math.floor(k / 26) % 26] ?? "a"}`;
  return `zz-${word(i)}-${String((Math.floor(i / 676) % 9) + 1)}`;
}

async function run(
  bench: RegionsBench,
  namespace: string,
  n: number,
  args: readonly string[],
  region: (i: number) => string,
): Promise<{ seconds: number; peakMiB: number }> {
  await createNamespace(bench.kube, namespace);
  const destinations = Array.from({ length: n }, (_, i) => `${namespace}-d${i}`);
  await bench.endpoint.createDestinations(destinations);
  await forEachConcurrent(n, 32, async (i) => {
    await bench.kube.request("POST", policyPath(namespace), {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name: `p${i}` },
      spec: { ...specFor(destinations[i] ?? ""), region: region(i) },
    });
  });
  const converged = await bench.converge(namespace, n, args, 10 * 60_000);
  return { seconds: converged.seconds, peakMiB: converged.footprint.peakRssMiB };
}

export async function regionsSideBySide(
  bench: RegionsBench,
  n: number,
  args: readonly string[],
): Promise<RegionsResult> {
  log(`regions: ${n} objects in ${REGION}, then ${n} in ${n} distinct made-up regions`);
  const one = await run(bench, `regions-one-${n}`, n, args, () => REGION);
  const many = await run(bench, `regions-many-${n}`, n, args, madeUpRegion);
  log(`  peak RSS ${one.peakMiB.toFixed(0)} MiB vs ${many.peakMiB.toFixed(0)} MiB`);
  return {
    n,
    oneRegionMiB: one.peakMiB,
    distinctRegionsMiB: many.peakMiB,
    oneRegionSeconds: one.seconds,
    distinctRegionsSeconds: many.seconds,
  };
}

export function renderRegions(r: RegionsResult | undefined): string[] {
  if (!r) return [];
  const delta = r.distinctRegionsMiB - r.oneRegionMiB;
  return [
    `Regions a tenant invents: ${r.n} objects in one region peaked at ${r.oneRegionMiB.toFixed(0)} MiB RSS (all Ready in ${r.oneRegionSeconds.toFixed(1)} s); the same ${r.n} objects, each in a made-up region of its own, at ${r.distinctRegionsMiB.toFixed(0)} MiB (${r.distinctRegionsSeconds.toFixed(1)} s): ${delta >= 0 ? "+" : ""}${delta.toFixed(1)} MiB.`,
    "",
  ];
}

export function regionsTarget(r: RegionsResult | undefined) {
  if (!r) return [];
  const delta = r.distinctRegionsMiB - r.oneRegionMiB;
  return [
    {
      what: `Peak RSS, ${r.n} made-up regions vs one, within 20 MiB`,
      measured: `${delta >= 0 ? "+" : ""}${delta.toFixed(1)} MiB`,
      reached: delta <= 20,
    },
  ];
}
