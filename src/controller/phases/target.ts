// The AWS target of an object's calls: region, role and an audit-friendly session name.
import type { AwsTarget } from "../../aws/destinations.ts";
import { roleSessionName } from "../../aws/roles.ts";
import type { ObjectRef } from "../../kube/keys.ts";

export function awsTarget(ref: ObjectRef, region: string, roleArn: string | undefined): AwsTarget {
  if (roleArn === undefined) return { region };
  return { region, roleArn, sessionName: roleSessionName(ref.namespace, ref.name) };
}
