// Every file in examples/ is applied with kubectl, as the README tells users to,
// and reconciled by the real controller to Ready, with the policy in the emulator.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { startController, type RunningController } from "../support/controller.ts";
import { getTestEnv, newNamespace, type TestEnv } from "../support/env.ts";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import type { LogDestinationGrant } from "../../src/api/grant.ts";
import { GRANT_PLURAL, GROUP, VERSION } from "../../src/api/names.ts";
import {
  applyExampleBindings,
  BINDINGS_FILE,
  applyObjects,
  EXAMPLES_NAMESPACE_LABELS,
  expectedPolicy,
  loadExamples,
  loadSharedExample,
  type KubectlTarget,
} from "../../env/examples.ts";
import { createDestination, storedPolicy } from "../support/aws.ts";
import { installCrd, Policies, waitFor } from "../support/policies.ts";

const examples = loadExamples();

/** `kubectl apply` of a List; `--dry-run=server` checks the schemas and CEL rules, storing nothing. */
function kubectlApply(
  target: KubectlTarget,
  objects: readonly unknown[],
  ...flags: string[]
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      target.kubectl,
      ["--kubeconfig", target.kubeconfigPath, "apply", ...flags, "-f", "-"],
      (err, stdout, stderr) => {
        if (err) reject(new Error(`kubectl apply: ${stderr || err.message}`));
        else resolve(stdout);
      },
    );
    child.stdin?.end(JSON.stringify({ apiVersion: "v1", kind: "List", items: objects }));
  });
}

const dryRun = (target: KubectlTarget, objects: readonly unknown[]) =>
  kubectlApply(target, objects, "--dry-run=server");

/**
 * Objects of the shared example (or the bindings it needs) moved apart for a
 * cluster and an emulator other tests share: every namespace to one made for
 * this run, and the destination `central-logs` (which cross-account.yaml uses
 * too) to one of its own. Names of objects and the owner's Resource stay.
 */
function moveShared(
  objects: readonly Record<string, unknown>[],
  namespaces: ReadonlyMap<string, string>,
  destination?: string,
): Record<string, unknown>[] {
  const text = JSON.stringify(
    objects.filter((o) => o.kind !== "Namespace"),
    (key, value: unknown) => {
      if (typeof value !== "string") return value;
      if (key === "namespace" || key === "kubernetes.io/metadata.name") {
        return namespaces.get(value) ?? value;
      }
      // destinationName, or an entry of a binding's destinations.
      const isDestination = key === "destinationName" || /^\d+$/.test(key);
      return destination !== undefined && isDestination && value === SHARED_DESTINATION
        ? destination
        : value;
    },
  );
  return JSON.parse(text) as Record<string, unknown>[];
}

const SHARED_DESTINATION = "central-logs";

describe("the examples", () => {
  let env: TestEnv;
  let controller: RunningController;
  const namespaces = new Map<string, string>();
  // The shared example's namespaces, as made for this run, and its destination's name here.
  const sharedNamespaces = new Map<string, string>();
  const sharedDestination = `${SHARED_DESTINATION}-${randomBytes(4).toString("hex")}`;

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
    // The shared example: its namespaces with their labels, its own destination,
    // and the bindings of examples/bindings.yaml that name that destination.
    for (const object of loadSharedExample()) {
      if (object.kind !== "Namespace") continue;
      const { name, labels } = object.metadata as { name: string; labels?: Record<string, string> };
      sharedNamespaces.set(name, await newNamespace(env.kubeConfig, name, labels ?? {}));
    }
    await createDestination(env, sharedDestination, "us-east-1");
    const bindings = parseAllDocuments(readFileSync(BINDINGS_FILE, "utf8"))
      .map((d) => d.toJS() as { metadata: { name: string }; spec: { destinations: string[] } })
      .filter((b) => b.spec.destinations.includes(SHARED_DESTINATION))
      .map((b) => ({ ...b, metadata: { name: `${b.metadata.name}-${sharedDestination}` } }));
    await kubectlApply(env, moveShared(bindings, sharedNamespaces, sharedDestination));
    // Only these namespaces: objects other test files left behind would
    // otherwise share this controller's AWS rate limit.
    controller = await startController(env, {
      args: ["--watch-namespace", [...namespaces.values(), ...sharedNamespaces.values()].join(",")],
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
    const objects = moveShared(example, renamed);
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

  test("examples/shared-destination.yaml: both grants are Applied and the emulator holds the merged policy", async () => {
    const objects = moveShared(loadSharedExample(), sharedNamespaces, sharedDestination);
    await kubectlApply(env, objects);
    const owner = sharedNamespaces.get("logging") ?? "";
    const policies = new Policies(env.kubeConfig, owner);
    for (const object of objects) {
      if (object.kind !== "LogDestinationGrant") continue;
      const { name, namespace = "" } = object.metadata as { name: string; namespace?: string };
      let grant: LogDestinationGrant | undefined;
      await waitFor(
        `grant ${namespace}/${name} Applied`,
        async () => {
          grant = (await policies.api.getNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            plural: GRANT_PLURAL,
            namespace,
            name,
          })) as LogDestinationGrant;
          return (grant.status?.conditions ?? []).some(
            (c) => c.type === "Ready" && c.status === "True" && c.reason === "Applied",
          );
        },
        20_000,
        () => JSON.stringify(grant?.status),
      );
    }
    const applied = await policies.waitForReason(SHARED_DESTINATION, "Applied", 20_000);
    assert.equal(policies.condition(applied, "Ready")?.status, "True");
    const stored = JSON.parse(
      (await storedPolicy(env, sharedDestination, "us-east-1")) ?? "{}",
    ) as { Statement: { Sid?: string; Principal?: { AWS?: unknown } }[] };
    assert.deepEqual(
      stored.Statement.map((s) => [s.Sid, s.Principal?.AWS]),
      [
        ["SecurityAccount", "999988887777"],
        ["GrantedAccounts", ["222233334444", "444455556666", "777788889999"]],
      ],
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
