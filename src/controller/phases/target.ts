// The AWS target of an object's calls: region, role, an audit-friendly session
// name unique to the object, and session tags a trust policy can match on.
import type { AwsTarget } from "../../aws/destinations.ts";
import { roleSessionName, roleSessionTags } from "../../aws/role-sessions.ts";
import type { ObjectRef } from "../../kube/keys.ts";

export function awsTarget(ref: ObjectRef, region: string, roleArn: string | undefined): AwsTarget {
  if (roleArn === undefined) return { region };
  return {
    region,
    roleArn,
    sessionName: roleSessionName(ref.namespace, ref.name),
    sessionTags: roleSessionTags(ref.namespace, ref.name),
  };
}
