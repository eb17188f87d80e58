// `validate --bindings FILE…`: binding manifests read offline, so that a
// tenant's pull request fails before it merges when no binding permits what it
// asks for. Without a cluster, a namespace's labels come from Namespace
// manifests in the same files; every namespace also carries the label the API
// server gives it, kubernetes.io/metadata.name, so selectors on that work too.
import { LineCounter, parseAllDocuments } from "yaml";
import { BINDING_KIND, GROUP } from "../api/names.ts";
import { RoleAllowList } from "../aws/roles.ts";
import { isRecord } from "../util/record.ts";
import {
  compileBinding,
  decide,
  permissionRequest,
  selecting,
  type CompiledBinding,
  type Labels,
  type Permission,
  type RoleMatcherFactory,
} from "../tenancy/index.ts";

export interface OfflineProblem {
  file: string;
  line: number;
  path: string;
  message: string;
}

/** Bindings and namespace labels read from files; problems of the bindings themselves. */
export interface OfflineTenancy {
  bindings: CompiledBinding[];
  namespaces: Map<string, Labels>;
  problems: OfflineProblem[];
}

const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

/** The same matcher the controller gives bindings: the --allowed-role-arns one. */
const roleMatcher: RoleMatcherFactory = (patterns) => {
  const list = RoleAllowList.parse(patterns);
  return (arn) => list.allows(arn);
};

export function emptyTenancy(): OfflineTenancy {
  return { bindings: [], namespaces: new Map(), problems: [] };
}

/** Adds the bindings and Namespace objects of one file (YAML or JSON, several documents). */
export function readBindings(into: OfflineTenancy, text: string, file: string): void {
  const lines = new LineCounter();
  for (const document of parseAllDocuments(text, { lineCounter: lines, prettyErrors: false })) {
    const contents = document.contents as { range?: [number, number, number] } | null;
    const line = lines.linePos(contents?.range?.[0] ?? document.range[0]).line;
    if (document.errors.length > 0) {
      for (const error of document.errors) {
        const at = lines.linePos(error.pos[0]).line;
        into.problems.push({
          file,
          line: at,
          path: "yaml",
          message: error.message.split("\n")[0] ?? "",
        });
      }
      continue;
    }
    const value: unknown = document.toJS({ maxAliasCount: 1000 });
    const items = isList(value) ? value.items : [value];
    for (const item of items) readObject(into, item, file, line);
  }
}

function readObject(into: OfflineTenancy, value: unknown, file: string, line: number): void {
  if (!isRecord(value)) return;
  const metadata = isRecord(value.metadata) ? value.metadata : {};
  const name = typeof metadata.name === "string" ? metadata.name : "";
  if (value.kind === "Namespace" && value.apiVersion === "v1" && name !== "") {
    const labels = isRecord(metadata.labels) ? (metadata.labels as Record<string, string>) : {};
    into.namespaces.set(name, labels);
    return;
  }
  const apiVersion = typeof value.apiVersion === "string" ? value.apiVersion : "";
  if (value.kind !== BINDING_KIND || !apiVersion.startsWith(`${GROUP}/`)) return;
  const binding = compileBinding(name, value.spec, roleMatcher);
  if (name === "") {
    into.problems.push({ file, line, path: "metadata.name", message: "required" });
    return;
  }
  if (binding.problem !== undefined) {
    into.problems.push({ file, line, path: `${BINDING_KIND} ${name}`, message: binding.problem });
  }
  into.bindings.push(binding);
}

/** The labels a namespace has as far as the files say, plus the one every namespace has. */
function labelsOf(tenancy: OfflineTenancy, namespace: string): Labels {
  return { ...tenancy.namespaces.get(namespace), [NAMESPACE_NAME_LABEL]: namespace };
}

/** The controller's decision for one object, offline. Undefined when the spec names no target yet. */
export function decideOffline(
  tenancy: OfflineTenancy,
  namespace: string,
  spec: unknown,
  defaultRegion: string | undefined,
): Permission | "no-region" | undefined {
  const request = permissionRequest(namespace, spec, defaultRegion);
  if (request === undefined) {
    const raw = (spec ?? {}) as Record<string, unknown>;
    return typeof raw.destinationName === "string" ? "no-region" : undefined;
  }
  return decide(selecting(tenancy.bindings, labelsOf(tenancy, namespace)), request);
}

function isList(value: unknown): value is { items: unknown[] } {
  return isRecord(value) && value.kind === "List" && Array.isArray(value.items);
}
