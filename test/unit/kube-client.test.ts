// Every API request must reuse one connection pool: client-node would otherwise
// open a new TLS connection per request.
import assert from "node:assert/strict";
import { test } from "node:test";
import { HttpMethod, KubeConfig, RequestContext } from "@kubernetes/client-node";
import { reuseConnections } from "../../src/kube/client.ts";

const b64 = (s: string) => Buffer.from(s).toString("base64");

function kubeConfig(cert: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      { name: "c", server: "https://127.0.0.1:6443", caData: b64("ca"), skipTLSVerify: false },
    ],
    users: [{ name: "u", certData: b64(cert), keyData: b64("key") }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return kc;
}

async function dispatcherOf(kc: KubeConfig): Promise<unknown> {
  const context = new RequestContext("https://127.0.0.1:6443/api", HttpMethod.GET);
  await kc.applySecurityAuthentication(context);
  return context.getDispatcher();
}

test("API requests share one dispatcher", async () => {
  const kc = kubeConfig("cert");
  reuseConnections(kc);
  const first = await dispatcherOf(kc);
  assert.ok(first);
  assert.equal(await dispatcherOf(kc), first);
});

test("new TLS credentials get a new dispatcher", async () => {
  const kc = kubeConfig("cert");
  reuseConnections(kc);
  const first = await dispatcherOf(kc);
  kc.loadFromOptions({
    clusters: kc.clusters,
    users: [{ name: "u", certData: b64("rotated"), keyData: b64("key") }],
    contexts: kc.contexts,
    currentContext: "x",
  });
  assert.notEqual(await dispatcherOf(kc), first);
});

test("client-node alone still builds a dispatcher per request; once it does not, reuseConnections can go", async () => {
  const kc = kubeConfig("cert");
  assert.notEqual(await dispatcherOf(kc), await dispatcherOf(kc));
});
