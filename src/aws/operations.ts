// Every AWS API operation the controller and its commands send, with the IAM
// actions it needs and what IAM lets a policy scope it to. The IAM policies in
// deploy/aws/ (docs/aws-setup.md) are held to this list by
// test/unit/aws-setup.test.ts, which also finds every SDK command the code
// constructs and holds this list to the code.

export interface AwsOperation {
  /** The IAM actions an identity needs for the call; empty when IAM checks none. */
  iamActions: readonly string[];
  /** What the action's Resource can name: a resource type, or "*" when IAM has no resource-level permissions. */
  resource: "destination" | "role" | "*" | "none";
  why: string;
}

export const AWS_OPERATIONS = {
  PutDestinationPolicy: {
    iamActions: ["logs:PutDestinationPolicy"],
    resource: "destination",
    why: "writes the access policy of a destination",
  },
  DescribeDestinations: {
    iamActions: ["logs:DescribeDestinations"],
    resource: "*",
    why: "reads the live policy (drift, adoption, diff); IAM scopes it to no resource, only to the caller's account",
  },
  AssumeRole: {
    // Sessions carry the object's namespace and name as tags (role-sessions.ts).
    iamActions: ["sts:AssumeRole", "sts:TagSession"],
    resource: "role",
    why: "credentials for an object's spec.roleArn, in the role's account",
  },
  GetCallerIdentity: {
    iamActions: [],
    resource: "none",
    why: "the controller's own account, shown in status; STS answers it for every identity and no policy can deny it",
  },
} as const satisfies Record<string, AwsOperation>;

export type AwsOperationName = keyof typeof AWS_OPERATIONS;
