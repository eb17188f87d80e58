// The manifests in examples/, parsed, and applied the way a user applies them:
// `kubectl apply` into a namespace. Shared by the integration test and the demo.
import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { API_VERSION, KIND } from "../src/api/names.ts";
import { resolveAccessPolicy } from "../src/policy/index.ts";

export const examplesDir = join(import.meta.dirname, "..", "examples");

export interface ExampleObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  spec: {
    destinationName: string;
    region?: string;
    accessPolicy?: unknown;
    accessPolicyJson?: string;
    [key: string]: unknown;
  };
}

export interface Example {
  /** The file name inside examples/, e.g. "cross-account.yaml". */
  file: string;
  objects: ExampleObject[];
}

/**
 * Every examples/*.yaml file with LogDestinationPolicy objects that stand alone,
 * sorted by file name. The bindings they need are in BINDINGS_FILE. A policy that
 * accepts grants is whole only with its grants and namespaces, so SHARED_EXAMPLE
 * is read as it is, by loadSharedExample.
 */
export function loadExamples(dir = examplesDir): Example[] {
  return readdirSync(dir)
    .filter((file) => /\.ya?ml$/.test(file))
    .sort()
    .map((file) => ({ file, objects: parseObjects(readFileSync(join(dir, file), "utf8")) }))
    .filter((example) => example.objects.length > 0);
}

/** The cluster-scoped bindings the examples need, and the namespace label they select. */
export const BINDINGS_FILE = join(examplesDir, "bindings.yaml");
export const EXAMPLES_NAMESPACE_LABELS = { team: "logging" };

/** `kubectl apply -f examples/bindings.yaml`, as the README tells the administrator. */
export function applyExampleBindings(target: KubectlTarget): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      target.kubectl,
      ["--kubeconfig", target.kubeconfigPath, "apply", "-f", BINDINGS_FILE],
      (err, stdout, stderr) => {
        if (err) reject(new Error(`kubectl apply: ${stderr || err.message}`));
        else resolve(stdout);
      },
    );
  });
}

export function parseObjects(text: string): ExampleObject[] {
  return parseDocuments(text).filter(
    (value: Record<string, unknown>): value is Record<string, unknown> & ExampleObject =>
      value.kind === KIND &&
      value.apiVersion === API_VERSION &&
      (value.spec as { grants?: unknown } | undefined)?.grants === undefined,
  );
}

/** The shared destination: namespaces, the policy that accepts grants, bindings and grants. */
export const SHARED_EXAMPLE = "shared-destination.yaml";

/** Every object of SHARED_EXAMPLE, in file order. */
export function loadSharedExample(dir = examplesDir): Record<string, unknown>[] {
  return parseDocuments(readFileSync(join(dir, SHARED_EXAMPLE), "utf8"));
}

function parseDocuments(text: string): Record<string, unknown>[] {
  return parseAllDocuments(text)
    .map((document) => document.toJS() as unknown)
    .filter(
      (value): value is Record<string, unknown> => typeof value === "object" && value !== null,
    );
}

/** The exact accessPolicy string the controller sends for an object. */
export function expectedPolicy(object: ExampleObject): string {
  const resolved = resolveAccessPolicy({
    accessPolicy: object.spec.accessPolicy,
    ...(object.spec.accessPolicyJson === undefined
      ? {}
      : { accessPolicyJson: object.spec.accessPolicyJson }),
  });
  if (!resolved.ok) throw new Error(`${object.metadata.name}: ${JSON.stringify(resolved.issues)}`);
  return resolved.canonical;
}

export interface KubectlTarget {
  kubectl: string;
  kubeconfigPath: string;
}

/** `kubectl apply` of the objects, each moved into `namespace`. */
export function applyObjects(
  target: KubectlTarget,
  objects: readonly ExampleObject[],
  namespace: string,
): Promise<string> {
  const list = {
    apiVersion: "v1",
    kind: "List",
    items: objects.map((object) => ({
      ...object,
      metadata: { ...object.metadata, namespace },
    })),
  };
  return new Promise((resolve, reject) => {
    const child = execFile(
      target.kubectl,
      ["--kubeconfig", target.kubeconfigPath, "apply", "-f", "-"],
      (err, stdout, stderr) => {
        if (err) reject(new Error(`kubectl apply: ${stderr || err.message}`));
        else resolve(stdout);
      },
    );
    child.stdin?.end(JSON.stringify(list));
  });
}
