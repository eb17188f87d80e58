// The certificate /metrics is served with when secured: tls.crt and tls.key
// from a mounted Secret (the names kubernetes.io/tls Secrets and cert-manager
// use), read again when the kubelet updates the files, or else a self-signed
// one made at start.
import { createSecureContext } from "node:tls";
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { selfSignedCertificate, type KeyAndCert } from "./self-signed.ts";

export const CERT_FILE = "tls.crt";
export const KEY_FILE = "tls.key";
const SELF_SIGNED_DAYS = 365;
// The kubelet refreshes Secret volumes about once a minute.
const RELOAD_CHECK_MS = 30_000;

export interface ServingCertificate extends KeyAndCert {
  source: "files" | "self-signed";
}

export async function servingCertificate(certDir: string | undefined): Promise<ServingCertificate> {
  if (certDir === undefined) {
    const names = ["localhost", "127.0.0.1", "::1", hostname()];
    return {
      ...(await selfSignedCertificate(hostname(), names, SELF_SIGNED_DAYS)),
      source: "self-signed",
    };
  }
  return { ...(await readPair(certDir)), source: "files" };
}

/** Reads and checks the pair; the error names the file and what is wrong with it. */
async function readPair(certDir: string): Promise<KeyAndCert> {
  const read = async (file: string) => {
    try {
      return await readFile(join(certDir, file), "utf8");
    } catch (err) {
      throw new Error(
        `--metrics-cert-dir: cannot read ${join(certDir, file)}: ${(err as Error).message}`,
        { cause: err },
      );
    }
  };
  const pair = { cert: await read(CERT_FILE), key: await read(KEY_FILE) };
  try {
    createSecureContext(pair);
  } catch (err) {
    throw new Error(
      `--metrics-cert-dir: ${CERT_FILE} and ${KEY_FILE} in ${certDir} are not a certificate and its key: ${(err as Error).message}`,
      { cause: err },
    );
  }
  return pair;
}

/**
 * Looks at the files every half minute and hands over a new pair once they
 * change and make a valid pair; a half-written or bad pair keeps the old one.
 */
export function watchServingCertificate(
  certDir: string,
  current: KeyAndCert,
  apply: (pair: KeyAndCert) => void,
  onError: (err: unknown) => void,
  intervalMs = RELOAD_CHECK_MS,
): () => void {
  let last = current;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    readPair(certDir)
      .then((pair) => {
        if (pair.cert === last.cert && pair.key === last.key) return;
        last = pair;
        apply(pair);
      }, onError)
      .finally(() => {
        busy = false;
      });
  }, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
  };
}
