import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  compileBinding,
  decide,
  grantPermissionRequest,
  ownerAccepts,
  selecting,
  type GrantTarget,
} from "../../src/tenancy/index.ts";
import { NO_PRINCIPALS, type GrantPrincipals } from "../../src/policy/merge.ts";

const roles = () => () => false;
const senders = compileBinding(
  "senders",
  {
    namespaceSelector: { matchLabels: { "logs-sender": "true" } },
    destinations: ["central-*"],
    regions: ["us-east-1"],
    principals: { accounts: ["444455556666", "777788889999"], organizationIds: ["o-a1b2c3d4e5"] },
  },
  roles,
);
const target: GrantTarget = {
  destinationName: "central-logs",
  region: "us-east-1",
  resource: "arn:aws:logs:us-east-1:111122223333:destination:central-logs",
  actions: ["logs:PutSubscriptionFilter"],
};
const labels: Record<string, string> = { "logs-sender": "true" };
const principals = (p: Partial<GrantPrincipals>): GrantPrincipals => ({ ...NO_PRINCIPALS, ...p });
const judge = (p: Partial<GrantPrincipals>, t: GrantTarget = target, l = labels) =>
  decide(selecting([senders], l), grantPermissionRequest("payments", principals(p), t));

describe("the two consents of a grant", () => {
  it("the owner accepts a namespace its selector matches, and none when it accepts no grants", () => {
    assert.equal(ownerAccepts({ matchLabels: { "logs-sender": "true" } }, labels), true);
    assert.equal(ownerAccepts({ matchLabels: { "logs-sender": "true" } }, {}), false);
    assert.equal(ownerAccepts({}, {}), true);
    assert.equal(ownerAccepts(undefined, labels), false);
  });

  const rows: { name: string; principals: Partial<GrantPrincipals>; refused?: RegExp }[] = [
    { name: "accounts the binding lists pass", principals: { accounts: ["444455556666"] } },
    {
      name: "an organization path inside a listed organization passes",
      principals: { organizationPaths: ["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"] },
    },
    {
      name: "an account the binding does not list is refused, naming the grant's field",
      principals: { accounts: ["444455556666", "123412341234"] },
      refused:
        /spec\.principals\.accounts: account "123412341234" is not permitted by binding senders/,
    },
    {
      name: "an organization the binding does not list is refused",
      principals: { organizationIds: ["o-zzzzzzzzzz"] },
      refused: /spec\.principals\.organizationIds: organization "o-zzzzzzzzzz"/,
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const permission = judge(row.principals);
      if (!row.refused) {
        assert.equal(permission.permitted, true);
        return;
      }
      assert.ok(!permission.permitted);
      assert.match(permission.message, row.refused);
    });
  }

  it("the policy's destination and region must be permitted to the grant's namespace too", () => {
    const permission = judge({ accounts: ["444455556666"] }, { ...target, region: "eu-west-1" });
    assert.ok(!permission.permitted);
    assert.match(permission.message, /spec\.region: "eu-west-1"/);
  });

  it("a namespace no binding selects gets nothing, whatever the owner accepts", () => {
    const permission = judge({ accounts: ["444455556666"] }, target, {});
    assert.ok(!permission.permitted);
    assert.match(permission.message, /No LogDestinationPolicyBinding selects namespace payments/);
  });
});
