// How install.yaml is assembled from helm's output: order, the namespace, and
// what kubectl apply could not honour. Rendering by the real helm and applying
// the result is test/integration/install-manifest.test.ts.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseAllDocuments } from "yaml";
import { assemble, INSTALL_NAMESPACE, splitRendered } from "../../scripts/install-manifest.ts";

const doc = (kind: string, name: string, extra = "") =>
  `# Source: chart/templates/${name}.yaml\napiVersion: v1\nkind: ${kind}\nmetadata:\n  name: ${name}\n${extra}`;

describe("assembling install.yaml", () => {
  const helmOutput = [
    doc("ServiceAccount", "sa"),
    doc("ValidatingAdmissionPolicyBinding", "vapb"),
    doc("Deployment", "deploy"),
    doc("ConfigMap", "config"),
    doc("CustomResourceDefinition", "crd-b"),
    doc("Service", "svc"),
    doc("ClusterRole", "role"),
    doc("CustomResourceDefinition", "crd-a"),
    doc("ValidatingAdmissionPolicy", "vap"),
    doc("ClusterRoleBinding", "binding"),
  ]
    .map((d) => `---\n${d}`)
    .join("\n");

  test("puts the namespace first, then CRDs, RBAC, ServiceAccount, other kinds, Deployment, Service and admission policies", () => {
    const out = assemble(splitRendered(helmOutput));
    const names = parseAllDocuments(out).map(
      (d) => (d.toJS() as { metadata: { name: string } }).metadata.name,
    );
    assert.deepEqual(names, [
      INSTALL_NAMESPACE,
      "crd-b",
      "crd-a",
      "role",
      "binding",
      "sa",
      "config",
      "deploy",
      "svc",
      "vap",
      "vapb",
    ]);
    assert.match(out, /^# Generated from charts\/log-destination-policy-controller/);
    assert.match(out, /# Source: chart\/templates\/deploy\.yaml/, "helm's source comments stay");
  });

  test("refuses a Helm hook, which kubectl apply would create as an ordinary object", () => {
    const hook = doc("Pod", "test", "  annotations:\n    helm.sh/hook: test\n");
    assert.throws(() => splitRendered(`---\n${hook}`), /Pod test is a Helm hook/);
  });

  test("skips empty documents and refuses one without a kind", () => {
    assert.equal(splitRendered("---\n# Source: x\n---\n").length, 0);
    assert.throws(() => splitRendered("---\nmetadata: {name: x}\n"), /without a kind/);
  });
});
