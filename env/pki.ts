// Certificates for the local apiserver, made with the openssl CLI so the harness
// needs no crypto dependency. They are valid for one week and live in the state
// directory only.
import { randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface Pki {
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly adminCert: string;
  readonly adminKey: string;
  /** RSA key pair that signs and verifies ServiceAccount tokens. */
  readonly serviceAccountKey: string;
  readonly serviceAccountPub: string;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? "";
    throw new Error(`openssl ${args[0] ?? ""} failed: ${stderr || String(err)}`, { cause: err });
  }
}

const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

async function issue(
  dir: string,
  name: string,
  subject: string,
  extensions: string,
  ca: { cert: string; key: string },
): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  await writeFile(ext, extensions);
  await openssl(["req", "-new", ...ecKey, "-keyout", key, "-out", csr, "-subj", subject]);
  await openssl([
    // A serial of its own: certificates are issued in parallel, and -CAcreateserial
    // would have them race on one ca.srl file.
    ...["x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key],
    ...["-set_serial", `0x01${randomBytes(15).toString("hex")}`],
    ...["-days", "7", "-extfile", ext, "-out", cert],
  ]);
  return { cert, key };
}

export async function createPki(dir: string): Promise<Pki> {
  const caCert = join(dir, "ca.crt");
  const caKey = join(dir, "ca.key");
  const serviceAccountKey = join(dir, "sa.key");
  const serviceAccountPub = join(dir, "sa.pub");
  const caDone = openssl([
    ...["req", "-x509", ...ecKey, "-keyout", caKey, "-out", caCert],
    ...["-days", "7", "-subj", "/CN=ldpc-local-ca"],
    // Explicit, so the result does not depend on the system's openssl.cnf.
    ...["-addext", "basicConstraints=critical,CA:TRUE"],
    ...["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
  ]);
  const saDone = (async () => {
    await openssl([
      "genpkey",
      "-algorithm",
      "RSA",
      "-pkeyopt",
      "rsa_keygen_bits:2048",
      "-out",
      serviceAccountKey,
    ]);
    await openssl(["pkey", "-in", serviceAccountKey, "-pubout", "-out", serviceAccountPub]);
  })();
  await caDone;
  const ca = { cert: caCert, key: caKey };
  const [server, admin] = await Promise.all([
    issue(
      dir,
      "apiserver",
      "/CN=kube-apiserver",
      [
        "basicConstraints=CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth",
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc",
      ].join("\n"),
      ca,
    ),
    // Members of system:masters bypass RBAC, like envtest's admin user.
    issue(
      dir,
      "admin",
      "/O=system:masters/CN=ldpc-admin",
      [
        "basicConstraints=CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage=clientAuth",
      ].join("\n"),
      ca,
    ),
    saDone,
  ]);
  return {
    caCert,
    caKey,
    serverCert: server.cert,
    serverKey: server.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    serviceAccountKey,
    serviceAccountPub,
  };
}

/** A kubeconfig with the certificates embedded, so it stays valid when copied. */
export async function writeKubeconfig(path: string, server: string, pki: Pki): Promise<void> {
  const b64 = async (file: string) => (await readFile(file)).toString("base64");
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "ldpc-local",
        cluster: { server, "certificate-authority-data": await b64(pki.caCert) },
      },
    ],
    users: [
      {
        name: "ldpc-admin",
        user: {
          "client-certificate-data": await b64(pki.adminCert),
          "client-key-data": await b64(pki.adminKey),
        },
      },
    ],
    contexts: [{ name: "ldpc-local", context: { cluster: "ldpc-local", user: "ldpc-admin" } }],
    "current-context": "ldpc-local",
  };
  // JSON is valid YAML, and every kubeconfig reader accepts it.
  await writeFile(path, JSON.stringify(config, null, 2) + "\n", { mode: 0o600 });
}
