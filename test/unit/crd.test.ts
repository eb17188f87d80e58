import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildCrd } from "../../src/api/crd.ts";
import { specSchema } from "../../src/api/v1alpha1.ts";

type Json = Record<string, unknown>;
const get = (value: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((v, key) => (v as Json | undefined)?.[key], value);

describe("the CRD generated from the zod schema", () => {
  const crd = buildCrd();
  const version = (get(crd, "spec", "versions") as Json[])[0];
  const spec = get(version, "schema", "openAPIV3Schema", "properties", "spec");

  test("has the names, status subresource and printer columns users rely on", () => {
    assert.equal(get(crd, "metadata", "name"), "logdestinationpolicies.logs.gitops.dev");
    assert.deepEqual(get(crd, "spec", "names", "shortNames"), ["ldp"]);
    assert.equal(get(crd, "spec", "scope"), "Namespaced");
    assert.deepEqual(get(version, "subresources"), { status: {} });
    const columns = (get(version, "additionalPrinterColumns") as Json[]).map((c) => c.name);
    for (const name of ["Destination", "Region", "Ready", "Reason", "Age"])
      assert.ok(columns.includes(name), name);
  });

  test("carries the structural limits of the zod schema", () => {
    assert.deepEqual(get(spec, "required"), ["destinationName"]);
    assert.equal(get(spec, "properties", "destinationName", "maxLength"), 512);
    assert.equal(
      get(spec, "properties", "destinationName", "pattern"),
      "^[^:*\\x00-\\x1f\\x7f-\\x9f]*$",
    );
    assert.equal(get(spec, "properties", "accessPolicyJson", "maxLength"), 5120);
    assert.equal(
      get(spec, "properties", "accessPolicy", "x-kubernetes-preserve-unknown-fields"),
      true,
    );
    const rules = get(spec, "x-kubernetes-validations") as Json[];
    assert.ok(
      rules.some((r) => r.rule === "!(has(self.accessPolicy) && has(self.accessPolicyJson))"),
    );
    assert.ok(
      rules.some(
        (r) =>
          r.rule === "has(self.accessPolicy) || has(self.accessPolicyJson) || has(self.grants)",
      ),
    );
  });

  test("lists every spec field that zod knows, so neither side can drift", () => {
    const crdFields = Object.keys(get(spec, "properties") as Json).sort();
    assert.deepEqual(crdFields, Object.keys(specSchema.shape).sort());
  });

  test("declares conditions as a map list keyed by type", () => {
    const conditions = get(
      version,
      "schema",
      "openAPIV3Schema",
      "properties",
      "status",
      "properties",
      "conditions",
    );
    assert.equal(get(conditions, "x-kubernetes-list-type"), "map");
    assert.deepEqual(get(conditions, "x-kubernetes-list-map-keys"), ["type"]);
  });

  test("contains only keywords a structural schema allows", () => {
    const walk = (node: unknown): void => {
      if (typeof node !== "object" || node === null) return;
      for (const [k, v] of Object.entries(node)) {
        assert.ok(!["$schema", "anyOf", "oneOf", "$ref"].includes(k), `unexpected ${k}`);
        // A schema for map values is structural; a boolean (as JSON Schema allows) is not.
        if (k === "additionalProperties") assert.equal(typeof v, "object", "additionalProperties");
        walk(v);
      }
    };
    walk(get(version, "schema"));
  });
});
