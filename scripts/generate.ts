// Writes every file derived from src/api. With --check it writes nothing and
// exits 1 when a committed file differs from what the code generates, so CI
// catches a schema change whose CRD was not regenerated.
import { readFile, writeFile, mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import * as prettier from "prettier";
import { stringify } from "yaml";
import { z } from "zod";
import { diffReportSchema } from "../src/cli/diff-report.ts";
import { validateReportSchema } from "../src/cli/validate-report.ts";
import { argocdOutputs } from "./argocd.ts";
import { buildBindingCrd, buildCrd, buildGrantCrd } from "../src/api/crd.ts";
import { BINDING_CRD_NAME, CRD_NAME, GRANT_CRD_NAME } from "../src/api/names.ts";
import { chartOutputs } from "./chart.ts";
import { docsOutputs } from "./docs.ts";
import { installOutputs } from "./install-manifest.ts";
import { kubeStateMetricsOutputs } from "./kube-state-metrics.ts";

const root = join(import.meta.dirname, "..");
const header = "# Generated from src/api by `npm run generate`. Do not edit.\n";

const outputs: Record<string, string> = {
  [join("crds", `${CRD_NAME}.yaml`)]: header + stringify(buildCrd(), { lineWidth: 0 }),
  [join("crds", `${BINDING_CRD_NAME}.yaml`)]:
    header + stringify(buildBindingCrd(), { lineWidth: 0 }),
  [join("crds", `${GRANT_CRD_NAME}.yaml`)]: header + stringify(buildGrantCrd(), { lineWidth: 0 }),
};
// The Helm chart's copies of the CRD and alerts, its dashboard, values schema and table.
Object.assign(outputs, await chartOutputs(root, outputs));
// The kube-state-metrics configuration's ConfigMap and its chart copy.
Object.assign(outputs, await kubeStateMetricsOutputs(root));
// install.yaml, the chart rendered by helm with those files.
Object.assign(outputs, await installOutputs(root, outputs));
// docs/api-reference.md, and the tables of README.md and docs/operations.md.
Object.assign(outputs, await docsOutputs(root));
// The documented schemas of `diff -o json` and `validate -o json`, from the schemas their
// tests check output against; read as input, so that they let through the fields a later
// version may add.
const prettierJson = {
  ...(await prettier.resolveConfig(join(root, "README.md"))),
  parser: "json",
};
for (const [file, schema] of [
  ["diff-output.schema.json", diffReportSchema],
  ["validate-output.schema.json", validateReportSchema],
] as const) {
  outputs[join("docs", file)] = await prettier.format(
    JSON.stringify(z.toJSONSchema(schema, { io: "input" })),
    prettierJson,
  );
}
// The Argo CD health check's fixtures, its chart copy and its argocd-cm snippet.
Object.assign(outputs, await argocdOutputs(root));

const check = process.argv.includes("--check");
let stale = 0;
for (const [path, content] of Object.entries(outputs)) {
  const file = join(root, path);
  const current = await readFile(file, "utf8").catch(() => undefined);
  if (current === content) continue;
  if (check) {
    console.error(`${path} is stale: run \`npm run generate\` and commit the result`);
    stale++;
  } else {
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content);
    console.log(`wrote ${path}`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
