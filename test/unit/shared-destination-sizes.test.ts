// The size arithmetic docs/shared-destinations.md states, measured with the
// merge the controller sends: if the merge's output changes, the numbers in
// the guide fail here instead of going stale.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { mergeGrants, type GrantPrincipals } from "../../src/policy/merge.ts";
import type { PolicyDocument } from "../../src/policy/types.ts";
import { MAX_POLICY_BYTES } from "../../src/util/limits.ts";

const guide = readFileSync(
  join(import.meta.dirname, "..", "..", "docs", "shared-destinations.md"),
  "utf8",
);

const RESOURCE = "arn:aws:logs:us-east-1:111122223333:destination:central-logs";

/** The owner statement of the guide's worked example. */
const TYPICAL_OWNER: PolicyDocument = {
  Version: "2012-10-17",
  Statement: [
    {
      Sid: "SecurityAccount",
      Effect: "Allow",
      Principal: { AWS: "999988887777" },
      Action: "logs:PutSubscriptionFilter",
      Resource: RESOURCE,
    },
  ],
};

const none: GrantPrincipals = { accounts: [], organizationIds: [], organizationPaths: [] };
const account = (i: number) => String(100000000000 + i);
const path = (i: number) => `o-a1b2c3d4e5/r-ab12/ou-ab12-${String(10000000 + i)}/*`;

/** The merged bytes with `count` principals made by `make`, in one grant. */
function bytes(owner: PolicyDocument | undefined, principals: GrantPrincipals): number {
  const merged = mergeGrants({
    resource: RESOURCE,
    actions: ["logs:PutSubscriptionFilter"],
    owner,
    grants: [{ namespace: "team", name: "senders", createdAt: 0, desired: principals }],
    forceUpdate: false,
    limitBytes: Number.MAX_SAFE_INTEGER,
  });
  return merged.bytes;
}

/** The most principals that fit in MAX_POLICY_BYTES, by bisection. */
function most(owner: PolicyDocument | undefined, make: (count: number) => GrantPrincipals): number {
  let low = 0;
  let high = 2000;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (bytes(owner, make(mid)) <= MAX_POLICY_BYTES) low = mid;
    else high = mid - 1;
  }
  return low;
}

const accounts = (count: number) => ({
  ...none,
  accounts: Array.from({ length: count }, (_, i) => account(i)),
});
const paths = (count: number) => ({
  ...none,
  organizationPaths: Array.from({ length: count }, (_, i) => path(i)),
});

/** The number in the guide's size table for a row whose first cell starts with `row`. */
function stated(row: string): number {
  const line = guide.split("\n").find((l) => l.startsWith(`| ${row}`));
  assert.ok(line, `docs/shared-destinations.md has a size-table row "${row}"`);
  const cells = line.split("|").map((cell) => cell.trim());
  return Number((cells[2] ?? "").replace(/[,*]/g, ""));
}

describe("docs/shared-destinations.md: the size arithmetic", () => {
  test("how many 12-digit accounts fit, with no owner statement and beside a typical one", () => {
    assert.equal(stated("12-digit accounts, no owner statement"), most(undefined, accounts));
    assert.equal(
      stated("12-digit accounts, beside the example's owner statement"),
      most(TYPICAL_OWNER, accounts),
    );
  });

  test("how many organization paths fit, and what one more account or path costs", () => {
    assert.equal(stated("organization paths"), most(undefined, paths));
    assert.equal(
      stated("each further account"),
      bytes(undefined, accounts(2)) - bytes(undefined, accounts(1)),
    );
    assert.equal(
      stated("each further organization path"),
      bytes(undefined, paths(2)) - bytes(undefined, paths(1)),
    );
    assert.equal(
      stated("the example's owner statement"),
      bytes(TYPICAL_OWNER, accounts(1)) - bytes(undefined, accounts(1)),
    );
    assert.equal(
      stated("the accounts statement with its first account"),
      bytes(undefined, accounts(1)),
    );
  });
});
