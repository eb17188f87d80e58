// The Flux and Argo CD examples of examples/gitops/ against their projects' own
// CRDs (from the Go modules env/build.sh downloads): a server-side dry run with
// strict field validation, the values they pass accepted by the chart's schema,
// and the chart, registry and version they name the ones the chart publishes.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { parseAllDocuments } from "yaml";
import { resolveBinaries } from "../../env/binaries.ts";
import { applyCrds } from "../../env/resources.ts";
import { chartDir, renderChart, root, run, type K8sObject, type Values } from "../support/chart.ts";
import { getTestEnv, type TestEnv } from "../support/env.ts";

const GITOPS = join(root, "examples", "gitops");
const FLUX = join(GITOPS, "flux-helmrelease.yaml");
const ARGOCD = join(GITOPS, "argocd-application.yaml");
const CHART = "log-destination-policy-controller";

async function load(file: string): Promise<K8sObject[]> {
  return parseAllDocuments(await readFile(file, "utf8"))
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

/** The fields of the examples' objects that the tests read; absent ones fail the test. */
interface GitOpsObject extends K8sObject {
  spec?: {
    type?: string;
    url?: string;
    chart?: { spec: { chart: string; version: string } };
    values?: Values;
    source?: {
      repoURL: string;
      chart: string;
      targetRevision: string;
      helm?: { valuesObject?: Values };
    };
  };
  stringData?: Record<string, string>;
}

function find(objects: K8sObject[], kind: string): GitOpsObject {
  const found = objects.find((o) => o.kind === kind);
  assert.ok(found, kind);
  return found;
}

const chartYaml = await readFile(join(chartDir, "Chart.yaml"), "utf8");
const chartVersion = /^version: (\S+)$/m.exec(chartYaml)?.[1];
/** ghcr.io/<org>, from the image the chart runs. */
const registry = /^\s+repository: (ghcr\.io\/[^/\s]+)\/log-destination-policy-controller$/m.exec(
  await readFile(join(chartDir, "values.yaml"), "utf8"),
)?.[1];

describe("the GitOps examples", () => {
  let env: TestEnv;
  const kubectl = (...args: string[]) =>
    run(env.kubectl, ["--kubeconfig", env.kubeconfigPath, ...args]);

  before(async () => {
    env = await getTestEnv();
    const crds = (await resolveBinaries()).gitopsCrds;
    await applyCrds(
      env,
      [
        [
          "source.toolkit.fluxcd.io_helmrepositories.yaml",
          "helmrepositories.source.toolkit.fluxcd.io",
        ],
        ["helm.toolkit.fluxcd.io_helmreleases.yaml", "helmreleases.helm.toolkit.fluxcd.io"],
        ["application-crd.yaml", "applications.argoproj.io"],
      ].map(([file, name]) => ({ file: join(crds, file ?? ""), name: name ?? "" })),
      "60s",
    );
    // Where Flux and Argo CD run; a server-side dry run needs the namespace to exist.
    for (const namespace of ["flux-system", "argocd"]) {
      await kubectl("create", "namespace", namespace).catch((err: unknown) => {
        if (!String(err).includes("AlreadyExists")) throw err;
      });
    }
  });

  const dryRun = async (file: string) =>
    (await kubectl("apply", "--dry-run=server", "--validate=strict", "-f", file)).stdout;

  test("the Flux HelmRepository and HelmRelease pass a strict server-side dry run against Flux's CRDs", async () => {
    const out = await dryRun(FLUX);
    assert.match(
      out,
      /helmrepository\.source\.toolkit\.fluxcd\.io\/log-destination-policy-controller created \(server dry run\)/,
    );
    assert.match(
      out,
      /helmrelease\.helm\.toolkit\.fluxcd\.io\/log-destination-policy-controller created \(server dry run\)/,
    );
  });

  test("the Argo CD Application and its repository Secret pass a strict server-side dry run against Argo CD's CRD", async () => {
    const out = await dryRun(ARGOCD);
    assert.match(
      out,
      /application\.argoproj\.io\/log-destination-policy-controller created \(server dry run\)/,
    );
    assert.match(
      out,
      /secret\/log-destination-policy-controller-charts created \(server dry run\)/,
    );
  });

  test("the strict dry run refuses a misspelt field, so the passes above mean something", async () => {
    const release = find(await load(FLUX), "HelmRelease");
    const broken = { ...release, spec: { ...release.spec, intervall: "1h" } };
    const dir = await mkdtemp(join(tmpdir(), "ldpc-gitops-"));
    try {
      const file = join(dir, "broken.json");
      await writeFile(file, JSON.stringify(broken));
      await assert.rejects(dryRun(file), /intervall/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("both install the chart from its OCI registry at the chart's version, as the README says", async () => {
    assert.ok(chartVersion && registry);
    const flux = await load(FLUX);
    const repository = find(flux, "HelmRepository");
    assert.equal(repository.spec?.type, "oci");
    assert.equal(repository.spec.url, `oci://${registry}/charts`);
    const chart = find(flux, "HelmRelease").spec?.chart?.spec;
    assert.equal(chart?.chart, CHART);
    assert.equal(chart.version, chartVersion);

    const argocd = await load(ARGOCD);
    const source = find(argocd, "Application").spec?.source;
    assert.equal(source?.repoURL, `${registry}/charts`);
    assert.equal(source.chart, CHART);
    assert.equal(source.targetRevision, chartVersion);
    const secret = find(argocd, "Secret").stringData;
    assert.equal(secret?.url, source.repoURL);
    assert.equal(secret.enableOCI, "true");

    const readme = await readFile(join(root, "README.md"), "utf8");
    assert.ok(readme.includes(`oci://${registry}/charts/${CHART}`), "the README's helm install");
    assert.ok(readme.includes("examples/gitops/flux-helmrelease.yaml"));
    assert.ok(readme.includes("examples/gitops/argocd-application.yaml"));
  });

  test("the values each one passes are accepted by the chart's values schema and render", async () => {
    const flux = find(await load(FLUX), "HelmRelease").spec?.values;
    const argocd = find(await load(ARGOCD), "Application").spec?.source?.helm?.valuesObject;
    for (const values of [flux, argocd]) {
      assert.ok(values);
      const rendered = await renderChart(env.helm, values, { kubeVersion: env.kubernetesVersion });
      assert.ok(rendered.some((o) => o.kind === "Deployment"));
    }
  });
});
