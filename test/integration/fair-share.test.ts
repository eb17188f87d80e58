// One namespace cannot starve the others: a flood of objects whose destinations
// do not exist keeps failing and retrying in one namespace, under a low rate
// limit; a new object in another namespace is applied after a handful of AWS
// calls, counted at the fault proxy, not after the flood's backlog.
//
// First come, first served, the new object would wait behind every flood key
// the queue holds and every flood call waiting for a token: about FLOOD calls.
// In turns, it waits for one key of the flood at the queue, for a worker to
// finish one flood call, and for one flood call at the rate limit.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createDestination } from "../support/aws.ts";
import { samplePolicy, waitFor } from "../support/policies.ts";
import { suite, unique } from "../support/setup.ts";

const FLOOD = 60;
const PUT = "PutDestinationPolicy";
/** Calls the new object may wait behind: a few flood reconciles of one or two calls each. */
const MOST_CALLS_AHEAD = 10;

describe("a fair share per namespace", () => {
  const { env, namespaces, controller } = suite(
    ["fair-flood", "fair-quiet"],
    ["--aws-rate-limit", "2", "--aws-burst", "1", "--max-concurrent-reconciles", "8"],
  );

  test(`behind ${FLOOD} failing objects in one namespace, another namespace's new object waits at most ${MOST_CALLS_AHEAD} AWS calls`, async (t) => {
    const [flood, quiet] = namespaces;
    const missing = Array.from({ length: FLOOD }, () => unique("missing"));
    await Promise.all(
      missing.map((n) => flood.create(n, { destinationName: n, accessPolicy: samplePolicy(n) })),
    );
    const floodNames = new Set(missing);
    // The flood holds the workers and the rate limit: calls arrive, most objects still wait.
    await waitFor(
      "the flood is under way",
      async () =>
        (await env.proxy.calls()).filter((c) => floodNames.has(c.destination ?? "")).length >= 6,
      60_000,
    );
    assert.ok(
      (await controller.metric("log_destination_policy_workqueue_max_namespace_depth")) > 10,
      "the flood's namespace has a backlog",
    );

    const name = unique("quiet");
    await createDestination(env, name);
    const createdAt = Date.now();
    await quiet.create(name, { destinationName: name, accessPolicy: samplePolicy(name) });
    await quiet.waitForReason(name, "Applied", 60_000);

    const all = await env.proxy.calls();
    const put = all.find((c) => c.operation === PUT && c.destination === name);
    assert.ok(put, "the new object's put reached AWS");
    const ahead = all.filter(
      (c) => c.at >= createdAt && c.at < put.at && floodNames.has(c.destination ?? ""),
    );
    const untried = missing.filter(
      (n) => !all.some((c) => c.at <= put.at && c.destination === n),
    ).length;
    t.diagnostic(
      `${ahead.length} flood calls between the new object's creation and its put; ` +
        `${untried} flood objects not yet called by then`,
    );
    assert.ok(ahead.length <= MOST_CALLS_AHEAD, `${ahead.length} flood calls went first`);
    assert.ok(untried > MOST_CALLS_AHEAD, "the flood still had a backlog it did not pass");
  });
});
