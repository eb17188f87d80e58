// A policy that accepts grants may carry no statements of its own: its document
// is then made of its grants alone. Until a grant is admitted that document is
// empty, and PutDestinationPolicy needs at least one statement, so what is sent
// then says, in one Deny, that nobody may subscribe: an empty policy in effect,
// and never a left-over of whatever the destination held before.
import type { ResolvedAccessPolicy } from "./access-policy.ts";
import { utf8ByteLength } from "./access-policy.ts";
import { canonicalJson, policyHash } from "./canonical.ts";
import type { PolicyDocument } from "./types.ts";

export const NOBODY_SID = "NoGrantAdmitted";

/** The owner's part of a policy made only of grants: no statements. */
export function ownerlessPolicy(): ResolvedAccessPolicy {
  return resolvedDocument({ Version: "2012-10-17", Statement: [] });
}

/** The document as it can be sent: one with no statements becomes the deny-everyone one. */
export function sendablePolicy(policy: ResolvedAccessPolicy): ResolvedAccessPolicy {
  const statements = policy.document.Statement;
  if (!Array.isArray(statements) || statements.length > 0) return policy;
  return resolvedDocument({
    Version: policy.document.Version,
    Statement: [
      {
        Sid: NOBODY_SID,
        Effect: "Deny",
        Principal: "*",
        Action: "logs:PutSubscriptionFilter",
        Resource: "*",
      },
    ],
  });
}

/** A document as it is sent: its canonical text, hash and size. */
export function resolvedDocument(document: PolicyDocument): ResolvedAccessPolicy {
  const canonical = canonicalJson(document);
  return {
    ok: true,
    document,
    canonical,
    hash: policyHash(document),
    bytes: utf8ByteLength(canonical),
  };
}
