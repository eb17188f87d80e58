// The tenancy matcher by example: globs, label selectors, principals, the
// refusal message, and which namespaces a change of a binding or a namespace
// sends back for re-evaluation.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { RoleAllowList } from "../../src/aws/roles.ts";
import { Tenancy } from "../../src/controller/tenancy.ts";
import { allowGrants } from "../../src/policy/index.ts";
import {
  compileBinding,
  compileGlob,
  compileSelector,
  decide,
  permissionRequest,
  selecting,
  type Permission,
  type PermissionRequest,
} from "../../src/tenancy/index.ts";

const roles = (patterns: readonly string[]) => {
  const list = RoleAllowList.parse(patterns);
  return (arn: string) => list.allows(arn);
};

const allow = (principal: unknown, condition?: unknown) => ({
  Effect: "Allow",
  Principal: principal,
  Action: "logs:PutSubscriptionFilter",
  Resource: "*",
  ...(condition === undefined ? {} : { Condition: condition }),
});

function refusal(decision: Permission): string {
  if (decision.permitted) assert.fail(`permitted by ${decision.binding}`);
  return decision.message;
}

function request(overrides: Partial<PermissionRequest> = {}): PermissionRequest {
  return {
    namespace: "team-a",
    destinationName: "payments-eu",
    region: "us-east-1",
    allowPublicAccess: false,
    document: { Version: "2012-10-17", Statement: [allow({ AWS: "444444444444" })] } as never,
    ...overrides,
  };
}

const payments = compileBinding(
  "team-payments",
  {
    namespaceSelector: { matchLabels: { team: "payments" } },
    destinations: ["payments-*", "shared-audit"],
    regions: ["us-east-1", "eu-west-1"],
    roleArns: ["arn:aws:iam::222222222222:role/ldp-payments"],
    principals: { accounts: ["444444444444", "555555555555"], organizationIds: ["o-a1b2c3d4e5"] },
  },
  roles,
);

describe("globs", () => {
  test("* matches any run of characters, everything else is literal", () => {
    const g = compileGlob("payments-*");
    assert.ok(g.matches("payments-"));
    assert.ok(g.matches("payments-eu-1"));
    assert.ok(!g.matches("xpayments-eu"));
    assert.ok(compileGlob("*").matches("anything"));
    assert.ok(compileGlob("a*b*c").matches("abc"));
    assert.ok(!compileGlob("a*b*c").matches("acb"));
    assert.ok(!compileGlob("ab*ba").matches("aba"), "pieces never overlap");
    assert.ok(compileGlob("shared-audit").matches("shared-audit"));
    assert.ok(!compileGlob("shared-audit").matches("shared-audit2"));
    // No backtracking: a glob of many stars against a long name is one pass.
    assert.ok(!compileGlob(`${"*a".repeat(200)}*b`).matches("a".repeat(512)));
  });
});

describe("label selectors", () => {
  test("matchLabels and every operator, as Kubernetes means them", () => {
    const s = compileSelector({
      matchLabels: { team: "payments" },
      matchExpressions: [
        { key: "env", operator: "In", values: ["prod", "staging"] },
        { key: "tier", operator: "NotIn", values: ["sandbox"] },
        { key: "owner", operator: "Exists" },
        { key: "frozen", operator: "DoesNotExist" },
      ],
    });
    const ok = { team: "payments", env: "prod", owner: "x" };
    assert.ok(s(ok));
    assert.ok(s({ ...ok, tier: "core" }));
    assert.ok(!s({ ...ok, tier: "sandbox" }));
    assert.ok(!s({ ...ok, env: "dev" }));
    assert.ok(!s({ team: "payments", owner: "x" }), "In needs the label");
    assert.ok(!s({ ...ok, frozen: "" }));
    assert.ok(!s({ env: "prod", owner: "x" }));
    assert.ok(compileSelector({})({}), "{} selects every namespace");
  });
});

describe("principals of Allow statements", () => {
  test("accounts, account ARNs, organizations by condition, and anything unfixed", () => {
    const grants = allowGrants({
      Version: "2012-10-17",
      Statement: [
        allow({ AWS: ["444444444444", "arn:aws:iam::555555555555:root"] }) as never,
        allow("*", { StringEquals: { "aws:PrincipalOrgID": "o-a1b2c3d4e5" } }) as never,
        allow("*", {
          StringEquals: { "aws:PrincipalOrgPaths": ["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/"] },
        }) as never,
        allow("*", { StringLike: { "aws:PrincipalOrgID": "o-*" } }) as never,
        allow({ AWS: "arn:aws:iam::${aws:username}:root" }) as never,
        allow({ AWS: "arn:aws:iam::666666666666:role/sender" }) as never,
        allow("*") as never,
        { Effect: "Deny", Principal: "*", Action: "logs:*", Resource: "*" } as never,
      ],
    });
    assert.deepEqual(
      grants.map((g) => [g.index, g.public, g.grants]),
      [
        [
          0,
          false,
          [
            { kind: "account", value: "444444444444" },
            { kind: "account", value: "555555555555" },
          ],
        ],
        [1, false, [{ kind: "organization", value: "o-a1b2c3d4e5" }]],
        [2, false, [{ kind: "organization", value: "o-a1b2c3d4e5" }]],
        // A wildcard organization is no narrowing at all: public, as the guardrail says.
        [3, true, []],
        // So is a policy variable where an account belongs.
        [4, true, []],
        [5, false, [{ kind: "account", value: "666666666666" }]],
        [6, true, []],
      ],
    );
  });
});

describe("the decision", () => {
  const selected = selecting([payments], { team: "payments" });

  test("an object within the binding is permitted, naming the binding", () => {
    assert.deepEqual(decide(selected, request()), { permitted: true, binding: "team-payments" });
    const org = request({
      document: {
        Version: "2012-10-17",
        Statement: [allow("*", { StringEquals: { "aws:PrincipalOrgID": "o-a1b2c3d4e5" } })],
      } as never,
      roleArn: "arn:aws:iam::222222222222:role/ldp-payments",
    });
    assert.ok(decide(selected, org).permitted);
  });

  test("the message names the first thing not permitted and the bindings, and nothing of AWS", () => {
    const cases: [Partial<PermissionRequest>, RegExp][] = [
      [
        { destinationName: "central-security-logs" },
        /^spec\.destinationName: "central-security-logs" is not permitted by binding team-payments/,
      ],
      [{ region: "ap-south-1" }, /^spec\.region: "ap-south-1"/],
      [{ roleArn: "arn:aws:iam::222222222222:role/other" }, /^spec\.roleArn: /],
      [
        {
          document: { Version: "2012-10-17", Statement: [allow({ AWS: "999999999999" })] } as never,
        },
        /^spec\.accessPolicy\.Statement\[0\]: account "999999999999"/,
      ],
      [
        {
          document: {
            Version: "2012-10-17",
            Statement: [allow({ Service: "logs.amazonaws.com" })],
          } as never,
        },
        /Statement\[0\]: service "logs.amazonaws.com" \(list it in principals.services\)/,
      ],
      [
        {
          allowPublicAccess: true,
          document: { Version: "2012-10-17", Statement: [allow("*")] } as never,
        },
        /Statement\[0\]: access for every AWS account/,
      ],
    ];
    for (const [overrides, expected] of cases) {
      const message = refusal(decide(selected, request(overrides)));
      assert.match(message, expected);
      assert.match(message, /the bindings that select namespace team-a/);
      assert.match(message, /No AWS call was made/);
    }
  });

  // A binding limited to two accounts, one service, no public access: each
  // principal shape, with the narrowing condition that used to let some through.
  const twoAccounts = compileBinding(
    "two-accounts",
    {
      namespaceSelector: {},
      destinations: ["*"],
      principals: { accounts: ["444444444444", "555555555555"], services: ["logs.amazonaws.com"] },
    },
    roles,
  );
  const publicBinding = compileBinding(
    "public",
    { namespaceSelector: {}, destinations: ["*"], allowPublicAccess: true },
    roles,
  );
  const narrowed = { StringEquals: { "aws:SourceAccount": "444444444444" } };
  const principalCases: [string, unknown, boolean][] = [
    ["a listed account is permitted", { AWS: "444444444444" }, true],
    ["a role in a listed account is permitted", { AWS: "arn:aws:iam::555555555555:role/r" }, true],
    ["an account the binding does not list is refused", { AWS: "999999999999" }, false],
    ["a listed service is permitted", { Service: "logs.amazonaws.com" }, true],
    [
      "a service the binding does not list is refused",
      { Service: "firehose.amazonaws.com" },
      false,
    ],
    ['"*" narrowed to a listed account is permitted', "*", true],
    ["no Principal is refused as public, whatever the condition", undefined, false],
    ['{"Service": "*"} is refused as public, whatever the condition', { Service: "*" }, false],
    ['{"Federated": "*"} is refused as public, whatever the condition', { Federated: "*" }, false],
    [
      "a named Federated provider is refused as public",
      { Federated: "cognito-identity.amazonaws.com" },
      false,
    ],
    ["a CanonicalUser is refused as public", { CanonicalUser: "79a59df900b949e5" }, false],
  ];
  for (const [name, principal, permitted] of principalCases) {
    test(`with a binding limited to two accounts and one service, ${name}`, () => {
      const statement = allow(principal, narrowed) as Record<string, unknown>;
      if (principal === undefined) delete statement.Principal;
      const document = { Version: "2012-10-17", Statement: [statement] } as never;
      const decision = decide([twoAccounts], request({ document }));
      assert.equal(decision.permitted, permitted, JSON.stringify(decision));
      const isPublic = allowGrants(document)[0]?.public === true;
      if (isPublic) {
        assert.match(refusal(decision), /access for every AWS account is not permitted/);
        // Public statements pass only a binding that allows public access, with the object's flag.
        assert.ok(
          decide([publicBinding], request({ document, allowPublicAccess: true })).permitted,
        );
      }
    });
  }

  test("a NotPrincipal statement is public to the binding, whatever its condition", () => {
    const statement = { ...allow(undefined, narrowed), NotPrincipal: { AWS: "444444444444" } };
    delete (statement as Record<string, unknown>).Principal;
    const document = { Version: "2012-10-17", Statement: [statement] } as never;
    assert.match(
      refusal(decide([twoAccounts], request({ document }))),
      /access for every AWS account/,
    );
  });

  test("principals.services rejects wildcards and names the field and the example", () => {
    const bad = compileBinding(
      "bad",
      { namespaceSelector: {}, destinations: ["*"], principals: { services: ["*.amazonaws.com"] } },
      roles,
    );
    assert.match(bad.problem ?? "", /spec\.principals\.services\[0\].*logs\.amazonaws\.com/);
  });

  test("no binding selecting the namespace is said as such", () => {
    const message = refusal(decide(selecting([payments], { team: "other" }), request()));
    assert.match(message, /^No LogDestinationPolicyBinding selects namespace team-a/);
  });

  test("each selecting binding is named with its own first refusal; one permitting binding is enough", () => {
    const audit = compileBinding(
      "shared-audit",
      { namespaceSelector: {}, destinations: ["audit-*"] },
      roles,
    );
    const both = selecting([payments, audit], { team: "payments" });
    assert.deepEqual(
      both.map((b) => b.name),
      ["shared-audit", "team-payments"],
    );
    const decision = decide(both, request({ destinationName: "audit-1", region: "ap-south-1" }));
    assert.deepEqual(decision, { permitted: true, binding: "shared-audit" });
    const refused = refusal(decide(both, request({ destinationName: "x", region: "ap-south-1" })));
    {
      assert.match(
        refused,
        /^spec\.destinationName: "x" is not permitted by binding shared-audit; binding team-payments does not permit spec\.destinationName "x" \(the bindings that select namespace team-a: shared-audit, team-payments\)/,
      );
    }
  });

  test("without roleArns no role may be named; a binding's roleArns patterns match as --allowed-role-arns does", () => {
    const noRoles = compileBinding("n", { namespaceSelector: {}, destinations: ["*"] }, roles);
    assert.equal(
      decide([noRoles], request({ roleArn: "arn:aws:iam::222222222222:role/ldp-payments" }))
        .permitted,
      false,
    );
    const pattern = compileBinding(
      "p",
      { namespaceSelector: {}, destinations: ["*"], roleArns: ["arn:aws:iam::*:role/ldp-*"] },
      roles,
    );
    assert.ok(
      decide([pattern], request({ roleArn: "arn:aws:iam::333333333333:role/ldp-x" })).permitted,
    );
  });

  test("an invalid binding selects nothing and says why", () => {
    const bad = compileBinding("bad", { namespaceSelector: {}, destinations: [] }, roles);
    assert.match(bad.problem ?? "", /spec\.destinations/);
    assert.deepEqual(selecting([bad], {}), []);
  });

  test("a request is read from the raw spec, invalid or not", () => {
    const r = permissionRequest(
      "ns",
      { destinationName: "d", roleArn: "arn:x", accessPolicyJson: "{" },
      "eu-west-1",
    );
    assert.deepEqual(r, {
      namespace: "ns",
      destinationName: "d",
      region: "eu-west-1",
      allowPublicAccess: false,
      policyField: "spec.accessPolicyJson",
      roleArn: "arn:x",
    });
    assert.equal(permissionRequest("ns", { destinationName: "d" }, undefined), undefined);
  });
});

describe("the controller's tenancy state", () => {
  const binding = (name: string, spec: unknown) => ({ metadata: { name }, spec });
  const namespace = (name: string, labels: Record<string, string>) => ({
    metadata: { name, labels },
  });

  test("a binding change touches exactly the namespaces it selected or selects", () => {
    const t = new Tenancy(true, roles);
    assert.deepEqual(t.upsertNamespace(namespace("a", { team: "a" })), ["a"]);
    assert.deepEqual(t.upsertNamespace(namespace("b", { team: "b" })), ["b"]);
    assert.deepEqual(t.upsertNamespace(namespace("c", {})), ["c"]);
    const a = { namespaceSelector: { matchLabels: { team: "a" } }, destinations: ["*"] };
    assert.deepEqual(t.upsertBinding(binding("x", a)), ["a"]);
    const ab = {
      namespaceSelector: {
        matchExpressions: [{ key: "team", operator: "In", values: ["a", "b"] }],
      },
      destinations: ["*"],
    };
    assert.deepEqual(t.upsertBinding(binding("x", ab)).sort(), ["a", "b"]);
    assert.ok(t.decide(request({ namespace: "b", document: undefined })).permitted);
    assert.equal(t.decide(request({ namespace: "c", document: undefined })).permitted, false);
    assert.deepEqual(t.removeBinding(binding("x", ab)).sort(), ["a", "b"]);
    assert.equal(t.decide(request({ namespace: "b", document: undefined })).permitted, false);
    assert.equal(t.bindingCount, 0);
  });

  test("a namespace matters only when its labels change", () => {
    const t = new Tenancy(true, roles);
    t.upsertNamespace(namespace("a", { team: "a" }));
    assert.deepEqual(t.upsertNamespace(namespace("a", { team: "a" })), []);
    assert.deepEqual(t.upsertNamespace(namespace("a", { team: "b" })), ["a"]);
    assert.deepEqual(t.removeNamespace(namespace("a", {})), ["a"]);
  });

  test("switched off, every object is permitted", () => {
    const t = new Tenancy(false, roles);
    assert.ok(t.decide(request({ namespace: "nowhere" })).permitted);
  });
});
