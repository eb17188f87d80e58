// The built kubectl and helm report the pinned versions, so charts are rendered
// for the Kubernetes version the tests run against.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { getTestEnv } from "../support/env.ts";
import type { TestEnv } from "../support/env.ts";

const run = promisify(execFile);
let env: TestEnv;
let versions: Record<string, string>;

before(async () => {
  env = await getTestEnv();
  const text = await readFile(new URL("../../env/versions.env", import.meta.url), "utf8");
  versions = Object.fromEntries(
    text
      .split("\n")
      .map((line) => /^([A-Z_]+)=(\S+)/.exec(line))
      .filter((m) => m !== null)
      .map((m) => [m[1] ?? "", m[2] ?? ""]),
  );
});

void test("kubectl and the apiserver both report the pinned Kubernetes version", async () => {
  const { stdout } = await run(env.kubectl, [
    "--kubeconfig",
    env.kubeconfigPath,
    "version",
    "-o",
    "json",
  ]);
  const version = JSON.parse(stdout) as {
    clientVersion: { gitVersion: string };
    serverVersion: { gitVersion: string };
  };
  assert.equal(version.clientVersion.gitVersion, versions.KUBERNETES_VERSION);
  assert.equal(version.serverVersion.gitVersion, versions.KUBERNETES_VERSION);
  assert.equal(env.kubernetesVersion, versions.KUBERNETES_VERSION);
});

void test("helm reports its pinned version and renders charts for the pinned Kubernetes minor", async () => {
  const { stdout } = await run(env.helm, ["version", "--template", "{{.Version}}"]);
  assert.equal(stdout.trim(), versions.HELM_VERSION);

  const chart = await mkdtemp(join(tmpdir(), "ldpc-chart-"));
  after(() => rm(chart, { recursive: true, force: true }));
  await mkdir(join(chart, "templates"));
  await writeFile(join(chart, "Chart.yaml"), "apiVersion: v2\nname: probe\nversion: 0.1.0\n");
  await writeFile(
    join(chart, "templates", "cm.yaml"),
    "apiVersion: v1\nkind: ConfigMap\nmetadata: { name: probe }\ndata: { kube: '{{ .Capabilities.KubeVersion.Version }}' }\n",
  );
  const rendered = await run(env.helm, ["template", chart]);
  const minor = (versions.KUBERNETES_VERSION ?? "").split(".").slice(0, 2).join(".");
  assert.match(rendered.stdout, new RegExp(`kube: '${minor.replace(".", "\\.")}\\.\\d+'`));
});
