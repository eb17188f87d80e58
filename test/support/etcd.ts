// Direct access to the test cluster's etcd through its v3 HTTP gateway, for
// faults the API server cannot be asked to make: writes that happen while this
// API server is down (as through another replica of an HA control plane), and
// compaction. Custom resources are stored as plain JSON under
// /registry/<group>/<plural>/<namespace>/<name>.
import { GROUP, PLURAL } from "../../src/api/names.ts";

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");

async function call<T>(etcdUrl: string, path: string, body: unknown): Promise<T> {
  const res = await fetch(`${etcdUrl}/v3/${path}`, {
    method: "POST",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

export function policyKey(namespace: string, name: string): string {
  return `/registry/${GROUP}/${PLURAL}/${namespace}/${name}`;
}

export async function etcdGet(etcdUrl: string, key: string): Promise<unknown> {
  const out = await call<{ kvs?: { value: string }[] }>(etcdUrl, "kv/range", { key: b64(key) });
  const value = out.kvs?.[0]?.value;
  return value === undefined
    ? undefined
    : (JSON.parse(Buffer.from(value, "base64").toString("utf8")) as unknown);
}

export async function etcdPut(etcdUrl: string, key: string, value: unknown): Promise<void> {
  await call(etcdUrl, "kv/put", { key: b64(key), value: b64(JSON.stringify(value)) });
}

export async function etcdDelete(etcdUrl: string, key: string): Promise<void> {
  await call(etcdUrl, "kv/deleterange", { key: b64(key) });
}

/** Compacts etcd's history up to its current revision; older resourceVersions are gone. */
export async function etcdCompact(etcdUrl: string): Promise<number> {
  const head = await call<{ header: { revision: string } }>(etcdUrl, "kv/range", {
    key: b64("/"),
    limit: 1,
  });
  const revision = Number(head.header.revision);
  await call(etcdUrl, "kv/compaction", { revision, physical: true });
  return revision;
}
