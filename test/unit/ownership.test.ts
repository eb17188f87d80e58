import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { LogDestinationPolicy } from "../../src/api/v1alpha1.ts";
import { OwnershipIndex, targetOf, unresolved } from "../../src/controller/ownership.ts";

const obj = (spec: Record<string, unknown>): LogDestinationPolicy => ({
  metadata: { name: "x", namespace: "ns" },
  spec,
});

describe("destination ownership", () => {
  test("the target is account, region and name, with the default region and own account filled in", () => {
    assert.equal(
      targetOf(obj({ destinationName: "d" }), "eu-west-1", "123456789012"),
      "123456789012/eu-west-1/d",
    );
    assert.equal(
      targetOf(
        obj({
          destinationName: "d",
          region: "us-east-1",
          roleArn: "arn:aws:iam::123456789012:role/r",
        }),
        "eu-west-1",
        undefined,
      ),
      "123456789012/us-east-1/d",
    );
  });

  test("a role-less object and a role in the own account name one destination", () => {
    const roleLess = targetOf(obj({ destinationName: "d" }), "us-east-1", "123456789012");
    const role = targetOf(
      obj({ destinationName: "d", roleArn: "arn:aws:iam::123456789012:role/r" }),
      "us-east-1",
      "123456789012",
    );
    assert.equal(roleLess, role);
  });

  test("until the own account is known a role-less target is unresolved", () => {
    const target = targetOf(obj({ destinationName: "d" }), "us-east-1", undefined);
    assert.equal(target, "?/us-east-1/d");
    assert.equal(unresolved("?/us-east-1/d"), true);
  });

  test("observe-mode objects neither own nor block a destination", () => {
    assert.equal(
      targetOf(obj({ destinationName: "d", mode: "Observe" }), "eu-west-1", "123456789012"),
      undefined,
    );
  });

  test("the oldest object owns the destination and a newer one never takes it", () => {
    const index = new OwnershipIndex();
    index.set("ns/old", "t", { createdAt: 1, uid: "b" });
    const affected = index.set("ns/new", "t", { createdAt: 2, uid: "a" });
    assert.deepEqual(affected, ["ns/old"]);
    assert.equal(index.ownerOtherThan("ns/old"), undefined);
    assert.equal(index.ownerOtherThan("ns/new"), "ns/old");
  });

  test("equal creation times are broken by uid so every process picks the same owner", () => {
    const index = new OwnershipIndex();
    index.set("ns/b", "t", { createdAt: 5, uid: "uid-2" });
    index.set("ns/a", "t", { createdAt: 5, uid: "uid-1" });
    assert.equal(index.ownerOtherThan("ns/b"), "ns/a");
  });

  test("when the owner goes, the others are named for another reconcile and the next-oldest owns it", () => {
    const index = new OwnershipIndex();
    index.set("ns/1", "t", { createdAt: 1, uid: "1" });
    index.set("ns/2", "t", { createdAt: 2, uid: "2" });
    index.set("ns/3", "t", { createdAt: 3, uid: "3" });
    assert.deepEqual(index.delete("ns/1").sort(), ["ns/2", "ns/3"]);
    assert.equal(index.ownerOtherThan("ns/2"), undefined);
    assert.equal(index.ownerOtherThan("ns/3"), "ns/2");
  });

  test("retargeting an object releases its old destination", () => {
    const index = new OwnershipIndex();
    index.set("ns/1", "t", { createdAt: 1, uid: "1" });
    index.set("ns/2", "t", { createdAt: 2, uid: "2" });
    assert.deepEqual(index.set("ns/1", "u", { createdAt: 1, uid: "1" }), ["ns/2"]);
    assert.equal(index.ownerOtherThan("ns/2"), undefined);
    assert.deepEqual(
      index.set("ns/1", "u", { createdAt: 1, uid: "1" }),
      [],
      "an unchanged target affects nobody",
    );
  });
});
