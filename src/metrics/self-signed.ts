// A self-signed serving certificate for /metrics when no Secret is mounted,
// made in-process: the image has no openssl, and the npm libraries that build
// certificates bring a dozen packages and a global Reflect polyfill for what is
// one fixed DER structure. Node's X509Certificate parses the result in the tests.
import { generateKeyPair, randomBytes, sign } from "node:crypto";
import { isIP } from "node:net";
import { promisify } from "node:util";

const generate = promisify(generateKeyPair);

export interface KeyAndCert {
  /** PEM */
  cert: string;
  /** PEM (PKCS#8) */
  key: string;
}

// DER: tag, length, contents.
function tlv(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  const n = body.length;
  const length =
    n < 0x80
      ? Buffer.from([n])
      : n < 0x100
        ? Buffer.from([0x81, n])
        : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, body]);
}

const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, "utf8"));
const bool = (b: boolean) => tlv(0x01, Buffer.from([b ? 0xff : 0]));
const octets = (b: Buffer) => tlv(0x04, b);

function oid(dotted: string): Buffer {
  const [a = 0, b = 0, ...rest] = dotted.split(".").map(Number);
  const bytes = [a * 40 + b];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/**
 * A positive INTEGER from unsigned bytes, in DER's one encoding: no leading zero
 * byte unless the next byte's high bit needs one (OpenSSL refuses a certificate
 * whose serial has one too many: "illegal padding").
 */
export function derInteger(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  const value = bytes.subarray(start);
  return tlv(0x02, (value[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), value]) : value);
}

/** UTCTime until 2049, GeneralizedTime after, as RFC 5280 requires. */
function time(date: Date): Buffer {
  const iso = date.toISOString().replace(/[-:T]/g, "").slice(0, 14);
  return date.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`))
    : tlv(0x18, Buffer.from(`${iso}Z`));
}

function subjectAltNames(names: readonly string[]): Buffer {
  return seq(
    ...names.map((name) => {
      const family = isIP(name);
      if (family === 4) return tlv(0x87, Buffer.from(name.split(".").map(Number)));
      if (family === 6) return tlv(0x87, ipv6Bytes(name));
      return tlv(0x82, Buffer.from(name, "ascii"));
    }),
  );
}

function ipv6Bytes(address: string): Buffer {
  const [head = "", tail] = address.split("::");
  const part = (s: string) => (s === "" ? [] : s.split(":"));
  const groups = [...part(head)];
  const end = part(tail ?? "");
  if (tail !== undefined) while (groups.length + end.length < 8) groups.push("0");
  return Buffer.from(
    [...groups, ...end].flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]),
  );
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString("base64").match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

const ECDSA_WITH_SHA256 = seq(oid("1.2.840.10045.4.3.2"));

/**
 * An ECDSA P-256 certificate for `names` (DNS names or IP addresses), valid
 * from an hour ago (clock skew) for `days`. Not a CA, so it cannot sign others.
 */
export async function selfSignedCertificate(
  commonName: string,
  names: readonly string[],
  days: number,
  now = new Date(),
): Promise<KeyAndCert> {
  const { publicKey, privateKey } = await generate("ec", { namedCurve: "prime256v1" });
  const subject = seq(set(seq(oid("2.5.4.3"), utf8(commonName))));
  const extensions = tlv(
    0xa3,
    seq(
      seq(oid("2.5.29.19"), bool(true), octets(seq())),
      seq(oid("2.5.29.15"), bool(true), octets(tlv(0x03, Buffer.from([0x07, 0x80])))),
      seq(oid("2.5.29.37"), octets(seq(oid("1.3.6.1.5.5.7.3.1")))),
      seq(oid("2.5.29.17"), octets(subjectAltNames(names))),
    ),
  );
  const serial = randomBytes(16);
  // Positive and a full 16 bytes long (RFC 5280 allows at most 20).
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x01;
  const tbs = seq(
    tlv(0xa0, derInteger(Buffer.from([2]))),
    derInteger(serial),
    ECDSA_WITH_SHA256,
    subject,
    seq(
      time(new Date(now.getTime() - 3_600_000)),
      time(new Date(now.getTime() + days * 86_400_000)),
    ),
    subject,
    publicKey.export({ type: "spki", format: "der" }),
    extensions,
  );
  const signature = sign("sha256", tbs, privateKey);
  const cert = seq(tbs, ECDSA_WITH_SHA256, tlv(0x03, Buffer.from([0]), signature));
  return {
    cert: pem("CERTIFICATE", cert),
    key: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}
