// How close a canonical policy is to the size PutDestinationPolicy accepts. Teams
// that list sender accounts one by one reach the limit at a few hundred accounts;
// the warning comes early enough to switch to an organization condition first.
import { MAX_POLICY_BYTES } from "../util/limits.ts";

/** 80 % of the limit. */
export const POLICY_SIZE_WARNING_BYTES = Math.floor(MAX_POLICY_BYTES * 0.8);

/** A sentence for an event or a validate warning, or undefined below the threshold. */
export function policySizeWarning(bytes: number): string | undefined {
  if (bytes <= POLICY_SIZE_WARNING_BYTES) return undefined;
  const percent = Math.floor((bytes / MAX_POLICY_BYTES) * 100);
  return (
    `the canonical policy is ${bytes} bytes, ${percent} % of the ${MAX_POLICY_BYTES}-byte limit; ` +
    "instead of listing accounts one by one, grant an organization with a condition on aws:PrincipalOrgID"
  );
}
