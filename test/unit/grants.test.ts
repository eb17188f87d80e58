// Grants end to end against a world with memory: the fake API server applies
// the controller's patches (policies and grants) and echoes them back, and fake
// AWS holds what is put. Each test follows one rule of shared destinations.
import assert from "node:assert/strict";
import { after, afterEach, describe, test } from "node:test";
import { API_VERSION, GRANT_FINALIZER, KIND } from "../../src/api/names.ts";
import type { LogDestinationPolicy } from "../../src/api/v1alpha1.ts";
import { GRANT_MAX_WAIT_MS } from "../../src/controller/options.ts";
import { GRANT_REASONS } from "../../src/controller/outcomes.ts";
import { Tenancy } from "../../src/controller/tenancy.ts";
import { StatefulWorld } from "./fakes/cluster.ts";
import { GrantStore } from "./fakes/grants.ts";
import { OWN_ACCOUNT } from "./fakes/objects.ts";

const POLICY = "logging/central";
const WHERE = `${OWN_ACCOUNT.accountId}/us-east-1/central`;
const ARN = `arn:aws:logs:us-east-1:${OWN_ACCOUNT.accountId}:destination:central`;

function account(n: number): string {
  return String(100000000000 + n);
}

class GrantWorld {
  readonly grants = new GrantStore();
  readonly tenancy: Tenancy;
  readonly world: StatefulWorld;

  constructor(tenancy = new Tenancy(false, () => () => false)) {
    this.tenancy = tenancy;
    for (const [name, labels] of [
      ["logging", {}],
      ["payments", { "logs-sender": "true" }],
      ["checkout", { "logs-sender": "true" }],
      ["stranger", {}],
    ] as const) {
      tenancy.upsertNamespace({ metadata: { name, labels } });
    }
    this.world = new StatefulWorld(
      { tenancy, grants: this.grants, grantWriter: this.grants },
      (controller) => {
        this.grants.attach(controller);
      },
    );
    this.world.aws.create(OWN_ACCOUNT.accountId, "us-east-1", "central", "{}");
  }

  policy(spec: Record<string, unknown> = {}): void {
    const object: LogDestinationPolicy = {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: {
        name: "central",
        namespace: "logging",
        uid: "uid-central",
        generation: 1,
        creationTimestamp: "2025-12-01T00:00:00Z",
      },
      spec: {
        destinationName: "central",
        grants: { from: { namespaceSelector: { matchLabels: { "logs-sender": "true" } } } },
        ...spec,
      },
    };
    this.world.cluster.create(object);
  }

  /** Lets every burst of grant events reach its policy, and everything it started finish. */
  async settle(): Promise<void> {
    await this.world.settle();
    for (let i = 0; i < 10 && this.world.clock.pending().length > 0; i++) {
      const next = this.world.clock.pending()[0];
      if (!next || next.delayMs > GRANT_MAX_WAIT_MS) break;
      await this.world.tick();
    }
  }

  live(): {
    Statement: { Sid?: string; Principal?: { AWS?: string | string[] }; Effect: string }[];
  } {
    return JSON.parse(this.world.aws.policies.get(WHERE) ?? "{}") as ReturnType<GrantWorld["live"]>;
  }

  accounts(): string[] {
    const granted = this.live().Statement.find((s) => s.Sid === "GrantedAccounts");
    const aws = granted?.Principal?.AWS ?? [];
    return (Array.isArray(aws) ? aws : [aws]).sort();
  }

  puts(): number {
    return this.world.aws.calls.filter((c) => c === "put central").length;
  }

  async stop(): Promise<void> {
    await this.world.stop();
  }
}

const reached = new Set<string>();

describe("LogDestinationGrant", () => {
  let w: GrantWorld;
  afterEach(async () => {
    for (const reason of w.grants.reasonsSeen) reached.add(reason);
    const policy = w.world.cluster.reason(POLICY);
    if (policy) reached.add(policy);
    await w.stop();
  });

  after(() => {
    const missing = GRANT_REASONS.filter((reason) => !reached.has(reason));
    assert.deepEqual(missing, [], `grant reasons no test reaches: ${missing.join(", ")}`);
  });

  test("two teams' grants are merged into one statement and each grant is Applied after two writes", async () => {
    w = new GrantWorld();
    w.policy();
    w.grants.create("payments", "senders", { principals: { accounts: [account(1)] } });
    w.grants.create("checkout", "senders", { principals: { accounts: [account(2)] } });
    await w.settle();
    assert.deepEqual(w.accounts(), [account(1), account(2)]);
    const statement = w.live().Statement.find((s) => s.Sid === "GrantedAccounts") as unknown as {
      Resource: string;
    };
    assert.equal(statement.Resource, ARN);
    assert.equal(w.grants.reason("payments/senders"), "Applied");
    assert.equal(w.grants.reason("checkout/senders"), "Applied");
    assert.equal(w.world.cluster.reason(POLICY), "Applied");
    assert.equal(w.puts(), 1);
    for (const key of ["payments/senders", "checkout/senders"]) {
      assert.deepEqual(
        w.grants.writes.filter((x) => x.endsWith(key)),
        [`finalizers ${key}`, `status ${key}`],
      );
      const status = w.grants.grant(key).status;
      assert.equal(status?.destinationArn, ARN);
      assert.ok(status.policyHash?.startsWith("sha256:"));
      assert.equal(status.bytes, 15);
    }
    assert.deepEqual(w.world.cluster.objects.get(POLICY)?.status?.grants, {
      accepted: 2,
      waiting: 0,
      refused: 0,
    });
  });

  test("a grant from a namespace the policy does not select is NotAccepted and nothing of it is sent", async () => {
    w = new GrantWorld();
    w.policy();
    w.grants.create("stranger", "senders", { principals: { accounts: [account(3)] } });
    await w.settle();
    assert.equal(w.grants.reason("stranger/senders"), "NotAccepted");
    assert.deepEqual(w.accounts(), []);
    assert.equal(w.grants.grant("stranger/senders").metadata.finalizers, undefined);
    assert.equal(w.grants.grant("stranger/senders").status?.destinationArn, undefined);
  });

  test("a policy in Observe mode accepts no grant", async () => {
    w = new GrantWorld();
    w.policy({ mode: "Observe", accessPolicy: undefined });
    w.grants.create("payments", "senders", { principals: { accounts: [account(1)] } });
    await w.settle();
    assert.equal(w.grants.reason("payments/senders"), "NotAccepted");
    assert.match(w.grants.message("payments/senders"), /Observe mode/);
    assert.equal(w.puts(), 0);
  });

  test("a grant whose principals no binding of its namespace permits is NotPermitted", async () => {
    const tenancy = new Tenancy(true, () => () => false);
    w = new GrantWorld(tenancy);
    tenancy.upsertBinding({
      apiVersion: API_VERSION,
      kind: "LogDestinationPolicyBinding",
      metadata: { name: "all", generation: 1 },
      spec: {
        namespaceSelector: {},
        destinations: ["central"],
        regions: ["us-east-1"],
        principals: { accounts: [account(1)] },
      },
    });
    w.policy({
      accessPolicy: undefined,
    });
    w.grants.create("payments", "ok", { principals: { accounts: [account(1)] } });
    w.grants.create("checkout", "wide", { principals: { accounts: [account(9)] } });
    await w.settle();
    assert.equal(w.grants.reason("payments/ok"), "Applied");
    assert.equal(w.grants.reason("checkout/wide"), "NotPermitted");
    assert.match(w.grants.message("checkout/wide"), /spec\.principals/);
    assert.deepEqual(w.accounts(), [account(1)]);
  });

  test("an account two grants name stays until both are deleted, and each finalizer goes after its put", async () => {
    w = new GrantWorld();
    w.policy();
    w.grants.create("payments", "a", { principals: { accounts: [account(1)] } });
    w.grants.create("checkout", "b", { principals: { accounts: [account(1)] } });
    await w.settle();
    assert.deepEqual(w.accounts(), [account(1)]);
    w.grants.delete("payments/a");
    await w.settle();
    assert.equal(w.grants.objects.has("payments/a"), false);
    assert.deepEqual(w.accounts(), [account(1)]);
    w.grants.delete("checkout/b");
    await w.settle();
    assert.equal(w.grants.objects.has("checkout/b"), false);
    assert.deepEqual(w.accounts(), []);
    const deny = w.live().Statement;
    assert.equal(deny.length, 1);
    assert.equal(deny[0]?.Effect, "Deny");
  });

  test("a grant that does not fit waits with the bytes it needs and is admitted when room frees up", async () => {
    w = new GrantWorld();
    w.policy();
    const many = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => account(from + i));
    w.grants.create("payments", "big", { principals: { accounts: many(0, 300) } });
    await w.settle();
    w.grants.create("checkout", "late", { principals: { accounts: many(1000, 40) } });
    await w.settle();
    assert.equal(w.grants.reason("payments/big"), "Applied");
    assert.equal(w.grants.reason("checkout/late"), "PolicySizeExceeded");
    assert.match(
      w.grants.message("checkout/late"),
      /needs \d+ more bytes.*has \d+ of 5120 bytes left/,
    );
    assert.ok(Buffer.byteLength(w.world.aws.policies.get(WHERE) ?? "") <= 5120);
    w.grants.delete("payments/big");
    await w.settle();
    assert.equal(w.grants.reason("checkout/late"), "Applied");
    assert.deepEqual(w.accounts(), many(1000, 40));
  });

  test("a grown grant that no longer fits keeps its applied principals and says so", async () => {
    w = new GrantWorld();
    w.policy();
    const many = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => account(from + i));
    w.grants.create("payments", "a", { principals: { accounts: many(0, 200) } });
    w.grants.create("checkout", "b", { principals: { accounts: many(500, 100) } });
    await w.settle();
    w.grants.edit("payments/a", { principals: { accounts: many(0, 300) } });
    await w.settle();
    assert.equal(w.grants.reason("payments/a"), "PolicySizeExceeded");
    assert.match(w.grants.message("payments/a"), /applied before stay in AWS/);
    assert.deepEqual(w.accounts(), [...many(0, 200), ...many(500, 100)].sort());
    assert.equal(w.grants.reason("checkout/b"), "Applied");
  });

  test("an owner change that would evict applied grants is refused and the old statements stay", async () => {
    w = new GrantWorld();
    const ownStatement = (n: number) => ({
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "Owner",
          Effect: "Allow",
          Principal: { AWS: Array.from({ length: n }, (_, i) => account(7000 + i)) },
          Action: "logs:PutSubscriptionFilter",
          Resource: ARN,
        },
      ],
    });
    w.policy({ accessPolicy: ownStatement(1) });
    const many = Array.from({ length: 300 }, (_, i) => account(i));
    w.grants.create("payments", "a", { principals: { accounts: many } });
    await w.settle();
    assert.equal(w.grants.reason("payments/a"), "Applied");
    w.world.cluster.edit(POLICY, { accessPolicy: ownStatement(100) });
    await w.settle();
    assert.equal(w.world.cluster.reason(POLICY), "PolicySizeExceeded");
    assert.equal(w.grants.reason("payments/a"), "Applied");
    assert.deepEqual(w.accounts(), many);
    const owner = w.live().Statement.find((s) => s.Sid === "Owner");
    assert.deepEqual(owner?.Principal?.AWS, [account(7000)]);
  });

  test("an organization grant to a destination that grants accounts only waits for the owner's forceUpdate", async () => {
    w = new GrantWorld();
    w.policy();
    w.grants.create("payments", "a", { principals: { accounts: [account(1)] } });
    await w.settle();
    w.grants.create("checkout", "org", { principals: { organizationIds: ["o-a1b2c3d4e5"] } });
    await w.settle();
    assert.equal(w.grants.reason("checkout/org"), "ForceUpdateRequired");
    w.world.cluster.edit(POLICY, { forceUpdate: true });
    await w.settle();
    assert.equal(w.grants.reason("checkout/org"), "Applied");
  });

  test("a grant deleted while AWS fails keeps its finalizer until the removal lands", async () => {
    w = new GrantWorld();
    w.policy();
    w.grants.create("payments", "a", { principals: { accounts: [account(1)] } });
    w.grants.create("checkout", "b", { principals: { accounts: [account(2)] } });
    await w.settle();
    w.world.aws.failPuts = true;
    w.grants.delete("payments/a");
    await w.settle();
    assert.deepEqual(w.grants.grant("payments/a").metadata.finalizers, [GRANT_FINALIZER]);
    w.world.aws.failPuts = false;
    for (let i = 0; i < 20 && w.grants.objects.has("payments/a"); i++) await w.world.tick();
    assert.equal(w.grants.objects.has("payments/a"), false);
    assert.deepEqual(w.accounts(), [account(2)]);
  });

  test("the grants of a deleted policy report PolicyNotFound and lose their finalizer", async () => {
    w = new GrantWorld();
    w.policy();
    w.grants.create("payments", "a", { principals: { accounts: [account(1)] } });
    await w.settle();
    w.world.cluster.delete(POLICY);
    await w.settle();
    assert.equal(w.grants.reason("payments/a"), "PolicyNotFound");
    assert.equal(w.grants.grant("payments/a").metadata.finalizers?.length ?? 0, 0);
  });

  test("a restart with every grant applied makes no put and no write", async () => {
    w = new GrantWorld();
    w.policy();
    w.grants.create("payments", "a", { principals: { accounts: [account(1)] } });
    w.grants.create("checkout", "b", {
      principals: { organizationPaths: ["o-a1b2c3d4e5/r-ab12/*"] },
    });
    await w.settle();
    const puts = w.puts();
    const writes = w.grants.writes.length;
    const statuses = w.world.cluster.statusWrites.length;
    await w.world.restart();
    await w.settle();
    assert.equal(w.puts(), puts);
    assert.equal(w.grants.writes.length, writes);
    assert.equal(w.world.cluster.statusWrites.length, statuses);
  });

  test("a grant added beside others writes only its own finalizer and status", async () => {
    w = new GrantWorld();
    w.policy();
    for (let i = 0; i < 20; i++)
      w.grants.create("payments", `g${String(i)}`, { principals: { accounts: [account(i)] } });
    await w.settle();
    const before = w.grants.writes.length;
    w.grants.create("checkout", "new", { principals: { accounts: [account(99)] } });
    await w.settle();
    assert.deepEqual(w.grants.writes.slice(before), [
      "finalizers checkout/new",
      "status checkout/new",
    ]);
    assert.equal(w.grants.reason("checkout/new"), "Applied");
  });

  test("a burst of grants costs one put", async () => {
    w = new GrantWorld();
    w.policy();
    await w.settle();
    const before = w.puts();
    for (let i = 0; i < 50; i++)
      w.grants.create("payments", `g${String(i)}`, { principals: { accounts: [account(i)] } });
    await w.settle();
    assert.equal(w.puts() - before, 1);
    assert.equal(w.accounts().length, 50);
  });
});
