// What a sweep compares and where it reads: whether a live destination still
// says what an object's status says, the name prefix one listing can narrow
// to, and the target of a group's calls.
import type { AwsTarget, LiveDestination } from "../aws/destinations.ts";
import { sweepSessionName, sweepSessionTags } from "../aws/role-sessions.ts";
import { liveHash } from "./live.ts";
import type { SweepMember } from "./sweep.ts";

/** Whether the live destination says what the member's status already says. */
export function settled(member: SweepMember, live: LiveDestination | undefined): boolean {
  if (!live) return false;
  if (live.arn !== undefined && live.arn !== member.arn) return false;
  const hash = liveHash(live.accessPolicy);
  if (member.expectEqual) return hash === member.desiredHash || hash === member.liveHash;
  return hash === member.liveHash && hash !== member.desiredHash;
}

/** The longest prefix all names share; DescribeDestinations narrows by prefix only. */
export function commonPrefix(names: Iterable<string>): string {
  let prefix: string | undefined;
  for (const name of names) {
    if (prefix === undefined) {
      prefix = name;
      continue;
    }
    let i = 0;
    while (i < prefix.length && i < name.length && prefix[i] === name[i]) i++;
    prefix = prefix.slice(0, i);
    if (prefix === "") return "";
  }
  return prefix ?? "";
}

export interface Group {
  region: string;
  roleArn: string | undefined;
  /**
   * With a role, a group holds one namespace's objects: the role's trust policy
   * may admit only sessions tagged with a namespace that may use it.
   */
  namespace: string | undefined;
  members: Map<string, SweepMember>;
  timer?: { cancel(): void; at: number };
  running: boolean;
}

/** Where a group's calls go; with a role, as its namespace's sweep session. */
export function groupTarget(group: Group): AwsTarget {
  if (group.roleArn === undefined) return { region: group.region };
  return {
    region: group.region,
    roleArn: group.roleArn,
    sessionName: sweepSessionName(group.namespace ?? ""),
    sessionTags: sweepSessionTags(group.namespace ?? ""),
    ...(group.namespace === undefined ? {} : { flow: group.namespace }),
  };
}

export function newGroup(
  region: string,
  roleArn: string | undefined,
  namespace: string | undefined,
): Group {
  return { region, roleArn, namespace, members: new Map(), running: false };
}
