// Every file in examples/ is applied with kubectl, as the README tells users to,
// and reconciled by the real controller to Ready, with the policy in the emulator.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { startController, type RunningController } from "../support/controller.ts";
import { getTestEnv, newNamespace, type TestEnv } from "../support/env.ts";
import {
  applyExampleBindings,
  applyObjects,
  EXAMPLES_NAMESPACE_LABELS,
  expectedPolicy,
  loadExamples,
  loadSharedExample,
  type KubectlTarget,
} from "../../env/examples.ts";
import { createDestination, storedPolicy } from "../support/aws.ts";
import { installCrd, Policies } from "../support/policies.ts";

const examples = loadExamples();

/** `kubectl apply --dry-run=server`: the API server's schemas and CEL rules, nothing stored. */
function dryRun(target: KubectlTarget, objects: readonly unknown[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      target.kubectl,
      ["--kubeconfig", target.kubeconfigPath, "apply", "--dry-run=server", "-f", "-"],
      (err, stdout, stderr) => {
        if (err) reject(new Error(`kubectl apply: ${stderr || err.message}`));
        else resolve(stdout);
      },
    );
    child.stdin?.end(JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));
  });
}

/**
 * The shared example's objects with every namespace renamed to one made for
 * this run, so that it can be checked on a cluster other tests share.
 */
function renameSharedExample(
  objects: readonly Record<string, unknown>[],
  renamed: ReadonlyMap<string, string>,
): Record<string, unknown>[] {
  const text = JSON.stringify(
    objects.filter((o) => o.kind !== "Namespace"),
    (key, value: unknown) =>
      typeof value === "string" && key === "namespace" ? (renamed.get(value) ?? value) : value,
  );
  return JSON.parse(text) as Record<string, unknown>[];
}

describe("the examples", () => {
  let env: TestEnv;
  let controller: RunningController;
  const namespaces = new Map<string, string>();

  before(async () => {
    env = await getTestEnv();
    await installCrd(env);
    const destinations = new Set<string>();
    for (const { objects } of examples) {
      for (const { spec } of objects) {
        const region = spec.region ?? env.region;
        const key = `${region}/${spec.destinationName}`;
        if (destinations.has(key)) continue;
        destinations.add(key);
        await createDestination(env, spec.destinationName, region);
      }
    }
    // Permitted by examples/bindings.yaml alone: these namespaces carry its label,
    // not the one the other tests' binding selects.
    await applyExampleBindings(env);
    for (const { file } of examples) {
      const prefix = file.replace(/\.ya?ml$/, "");
      namespaces.set(file, await newNamespace(env.kubeConfig, prefix, EXAMPLES_NAMESPACE_LABELS));
    }
    // Only these namespaces: objects other test files left behind would
    // otherwise share this controller's AWS rate limit.
    controller = await startController(env, {
      args: ["--watch-namespace", [...namespaces.values()].join(",")],
    });
  });

  after(async () => {
    assert.equal(await controller.stop(), 0);
  });

  test("cover the four documented uses", () => {
    const files = examples.map((e) => e.file);
    for (const file of [
      "cross-account.yaml",
      "json-string.yaml",
      "multi-region.yaml",
      "organization.yaml",
    ]) {
      assert.ok(files.includes(file), file);
    }
    const regions = new Set(
      examples.find((e) => e.file === "multi-region.yaml")?.objects.map((o) => o.spec.region),
    );
    assert.ok(regions.size >= 2, "multi-region.yaml uses several regions");
    const organization = examples.find((e) => e.file === "organization.yaml")?.objects[0];
    assert.equal(organization?.spec.forceUpdate, true);
    assert.match(JSON.stringify(organization.spec.accessPolicy), /aws:PrincipalOrgID/);
  });

  test("examples/shared-destination.yaml passes the API server's schemas for every kind it holds", async () => {
    const example = loadSharedExample();
    const renamed = new Map<string, string>();
    for (const object of example) {
      if (object.kind !== "Namespace") continue;
      const { name, labels } = object.metadata as { name: string; labels?: Record<string, string> };
      renamed.set(name, await newNamespace(env.kubeConfig, name, labels ?? {}));
    }
    const objects = renameSharedExample(example, renamed);
    assert.deepEqual(objects.map((o) => String(o.kind)).sort(), [
      "LogDestinationGrant",
      "LogDestinationGrant",
      "LogDestinationPolicy",
    ]);
    const out = await dryRun(env, objects);
    for (const kind of ["logdestinationgrant", "logdestinationpolicy"]) {
      assert.match(
        out,
        new RegExp(`${kind}\\.logs\\.gitops\\.dev/\\S+ created \\(server dry run\\)`),
      );
    }
    // The CRD's own rules are in force: a grant that names nobody is refused.
    const grant = objects.find((o) => o.kind === "LogDestinationGrant") ?? {};
    await assert.rejects(
      dryRun(env, [{ ...grant, spec: { ...(grant.spec as object), principals: {} } }]),
      /name at least one account, organization ID or organization path/,
    );
  });

  for (const example of examples) {
    test(`examples/${example.file} is reconciled to Ready and the emulator holds its policy`, async () => {
      const namespace = namespaces.get(example.file) ?? "";
      const policies = new Policies(env.kubeConfig, namespace);
      await applyObjects(env, example.objects, namespace);
      for (const object of example.objects) {
        const name = object.metadata.name;
        const applied = await policies.waitForReason(name, "Applied", 20_000);
        assert.equal(policies.condition(applied, "Ready")?.status, "True", name);
        const region = object.spec.region ?? env.region;
        assert.equal(
          await storedPolicy(env, object.spec.destinationName, region),
          expectedPolicy(object),
          `${object.spec.destinationName} in ${region}`,
        );
      }
    });
  }
});
