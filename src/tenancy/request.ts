// What a LogDestinationPolicy asks for, read from its raw spec. The spec may be
// invalid: what can be read is still checked (an invalid object never reaches
// AWS anyway), so ownership can be decided without a full validation.
import { specSchema } from "../api/v1alpha1.ts";
import { resolveAccessPolicy } from "../policy/access-policy.ts";
import type { PermissionRequest } from "./permission.ts";

export function permissionRequest(
  namespace: string,
  rawSpec: unknown,
  defaultRegion: string | undefined,
): PermissionRequest | undefined {
  const spec = (rawSpec ?? {}) as Record<string, unknown>;
  if (typeof spec.destinationName !== "string") return undefined;
  const region = typeof spec.region === "string" ? spec.region : defaultRegion;
  if (region === undefined) return undefined;
  const request: PermissionRequest = {
    namespace,
    destinationName: spec.destinationName,
    region,
    allowPublicAccess: spec.allowPublicAccess === true,
    policyField: spec.accessPolicy === undefined ? "spec.accessPolicyJson" : "spec.accessPolicy",
  };
  if (typeof spec.roleArn === "string") request.roleArn = spec.roleArn;
  const parsed = specSchema.safeParse(spec);
  if (parsed.success) {
    const resolved = resolveAccessPolicy(
      {
        ...(parsed.data.accessPolicy === undefined
          ? {}
          : { accessPolicy: parsed.data.accessPolicy }),
        ...(parsed.data.accessPolicyJson === undefined
          ? {}
          : { accessPolicyJson: parsed.data.accessPolicyJson }),
      },
      "spec",
    );
    if (resolved.ok) request.document = resolved.document;
  }
  return request;
}
