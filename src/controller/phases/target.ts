// The AWS target of an object's calls: region, role, an audit-friendly session
// name unique to the object, and session tags a trust policy can match on. The
// namespace goes along as the rate limit's fairness key (`flow`), nothing more.
import type { AwsTarget } from "../../aws/destinations.ts";
import { roleSessionName, roleSessionTags } from "../../aws/role-sessions.ts";
import type { ObjectRef } from "../../kube/keys.ts";

export function awsTarget(ref: ObjectRef, region: string, roleArn: string | undefined): AwsTarget {
  if (roleArn === undefined) return { region, flow: ref.namespace };
  return {
    region,
    flow: ref.namespace,
    roleArn,
    sessionName: roleSessionName(ref.namespace, ref.name),
    sessionTags: roleSessionTags(ref.namespace, ref.name),
  };
}
