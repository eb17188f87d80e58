// Policies shared by the policy unit tests.

import type { PolicyDocument } from "../../src/policy/index.ts";

export const DESTINATION_ARN = "arn:aws:logs:eu-west-1:999999999999:destination:central";

export function accountPolicy(...accounts: string[]): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "AllowAccounts",
        Effect: "Allow",
        Principal: { AWS: accounts },
        Action: "logs:PutSubscriptionFilter",
        Resource: DESTINATION_ARN,
      },
    ],
  };
}

export function orgPolicy(orgId = "o-a1b2c3d4e5"): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "AllowOrg",
        Effect: "Allow",
        Principal: "*",
        Action: "logs:PutSubscriptionFilter",
        Resource: DESTINATION_ARN,
        Condition: { StringEquals: { "aws:PrincipalOrgID": [orgId] } },
      },
    ],
  };
}

/** Deep copy with every object's keys in reverse order. */
export function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).reverse();
    return Object.fromEntries(entries.map(([key, item]) => [key, reverseKeys(item)]));
  }
  return value;
}
