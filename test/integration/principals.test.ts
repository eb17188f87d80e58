// Every principal counts, on the real API server and the emulator. A binding
// limits principals to two accounts; Allow statements whose principals it
// cannot read (no Principal, {"Service": "*"}, {"Federated": "*"}, each with a
// narrowing condition that used to get them through) are refused as public
// before any AWS call, counted at the fault proxy. A named service passes only
// a binding that lists it, and public access needs both the object's flag and
// a binding's.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { getTestEnv, newNamespace, type TestEnv } from "../support/env.ts";
import { startController, type RunningController } from "../support/controller.ts";
import { callsFor, createDestination, storedPolicy } from "../support/aws.ts";
import { applyBinding, deleteBinding, installCrd, Policies } from "../support/policies.ts";
import { unique } from "../support/setup.ts";

const TEAM_LABEL = "principals.ldpc.test/team";
const ACCOUNTS = ["111111111111", "444444444444"];
const PUT = "PutDestinationPolicy";

function policyWith(principal: Record<string, unknown>, condition?: unknown) {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        ...principal,
        Action: "logs:PutSubscriptionFilter",
        Resource: "*",
        ...(condition === undefined ? {} : { Condition: condition }),
      },
    ],
  };
}

describe("every principal counts against a binding limited to two accounts", () => {
  let env: TestEnv;
  let controller: RunningController;
  /** limited: two accounts; listing: the same and logs.amazonaws.com; open: public access. */
  let limited: Policies;
  let listing: Policies;
  let open: Policies;
  const run = `${process.pid}`;
  const bindingName = (name: string) => `principals-${name}-${run}`;

  before(async () => {
    env = await getTestEnv();
    await installCrd(env);
    const labelled = async (team: string) =>
      new Policies(
        env.kubeConfig,
        await newNamespace(env.kubeConfig, team, { [TEAM_LABEL]: `${team}-${run}` }),
      );
    limited = await labelled("limited");
    listing = await labelled("listing");
    open = await labelled("open");
    const selecting = (team: string) => ({ matchLabels: { [TEAM_LABEL]: `${team}-${run}` } });
    await applyBinding(env.kubeConfig, bindingName("limited"), {
      namespaceSelector: selecting("limited"),
      destinations: ["*"],
      principals: { accounts: ACCOUNTS },
    });
    await applyBinding(env.kubeConfig, bindingName("listing"), {
      namespaceSelector: selecting("listing"),
      destinations: ["*"],
      principals: { accounts: ACCOUNTS, services: ["logs.amazonaws.com"] },
    });
    await applyBinding(env.kubeConfig, bindingName("open"), {
      namespaceSelector: selecting("open"),
      destinations: ["*"],
      allowPublicAccess: true,
    });
    controller = await startController(env, {
      args: ["--watch-namespace", [limited, listing, open].map((p) => p.namespace).join(",")],
    });
  });

  after(async () => {
    assert.equal(await controller.stop(), 0);
    for (const name of ["limited", "listing", "open"]) {
      await deleteBinding(env.kubeConfig, bindingName(name)).catch(() => undefined);
    }
  });

  /** Creates the destination and the object, waits for the reason, and returns the message. */
  async function outcome(
    policies: Policies,
    policy: unknown,
    reason: string,
    extra: Record<string, unknown> = {},
  ): Promise<{ destination: string; message: string }> {
    const destination = unique("principals");
    await createDestination(env, destination);
    await policies.create(destination, {
      destinationName: destination,
      accessPolicy: policy,
      ...extra,
    });
    const obj = await policies.waitForReason(destination, reason);
    return { destination, message: policies.condition(obj, "Ready")?.message ?? "" };
  }

  const cases: [string, Record<string, unknown>, unknown][] = [
    ["no Principal", {}, { StringEquals: { "aws:PrincipalOrgID": "o-a1b2c3d4e5" } }],
    [
      '{"Service": "*"}',
      { Principal: { Service: "*" } },
      { StringEquals: { "aws:SourceAccount": ACCOUNTS[0] } },
    ],
    [
      '{"Federated": "*"}',
      { Principal: { Federated: "*" } },
      { StringEquals: { "aws:PrincipalAccount": ACCOUNTS[0] } },
    ],
  ];
  for (const [shape, principal, condition] of cases) {
    test(`an Allow statement with ${shape} and a narrowing condition is refused as public, with no AWS call`, async () => {
      const { destination, message } = await outcome(
        limited,
        policyWith(principal, condition),
        "NotPermitted",
      );
      assert.match(message, /access for every AWS account is not permitted/);
      assert.equal((await callsFor(env, destination)).length, 0, "no AWS call of any kind");
      assert.equal(await storedPolicy(env, destination), undefined);
    });
  }

  test("the guardrail refuses the same statements where a binding allows public access but the object does not", async () => {
    for (const [, principal, condition] of cases) {
      const { destination, message } = await outcome(
        open,
        policyWith(principal, condition),
        "UnsafePolicy",
      );
      assert.match(message, /Statement\[0\]/);
      assert.equal((await callsFor(env, destination, PUT)).length, 0);
    }
    // Both the object and its binding allow public access: then, and only then, it is written.
    const [, principal, condition] = cases[1] ?? [];
    const { destination } = await outcome(open, policyWith(principal ?? {}, condition), "Applied", {
      allowPublicAccess: true,
    });
    assert.equal((await callsFor(env, destination, PUT)).length, 1);
  });

  test("a named service passes only a binding that lists it in principals.services", async () => {
    const service = policyWith({ Principal: { Service: "logs.amazonaws.com" } });
    const refused = await outcome(limited, service, "NotPermitted");
    assert.match(refused.message, /service "logs\.amazonaws\.com"/);
    assert.equal((await callsFor(env, refused.destination)).length, 0);

    const applied = await outcome(listing, service, "Applied");
    assert.equal((await callsFor(env, applied.destination, PUT)).length, 1);
    assert.ok(await storedPolicy(env, applied.destination));
  });
});
