// Fingerprints of the policy AWS returns, so status can show when it changes.
import { createHash } from "node:crypto";
import { parseLivePolicy, policyHash } from "../policy/index.ts";

/** The semantic hash when the live policy parses, else a hash of its raw text. */
export function liveHash(accessPolicy: string | undefined): string {
  if (accessPolicy === undefined) return "none";
  try {
    const parsed = parseLivePolicy(JSON.parse(accessPolicy));
    if (parsed) return policyHash(parsed);
  } catch {
    // Not JSON: fall through to the raw hash.
  }
  return `sha256:${createHash("sha256").update(accessPolicy).digest("hex")}`;
}
