// The demo's table and live terminal region.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  humanDuration,
  LiveRegion,
  metricValue,
  renderTable,
  rowOf,
} from "../../scripts/demo-view.ts";

describe("demo view", () => {
  test("ages are printed the way kubectl prints them", () => {
    const s = 1000;
    assert.equal(humanDuration(0), "0s");
    assert.equal(humanDuration(119 * s), "119s");
    assert.equal(humanDuration(125 * s), "2m5s");
    assert.equal(humanDuration(600 * s), "10m");
    assert.equal(humanDuration(3 * 3600 * s + 120 * s), "3h2m");
    assert.equal(humanDuration(30 * 3600 * s), "30h");
    assert.equal(humanDuration(3 * 86400 * s), "3d");
  });

  test("a row takes the printer columns of the CRD from an object", () => {
    const now = Date.parse("2026-01-01T00:01:00Z");
    const row = rowOf(
      {
        metadata: { name: "a", namespace: "ns", creationTimestamp: "2026-01-01T00:00:00Z" },
        spec: { destinationName: "d", region: "eu-west-1", mode: "Enforce" },
        status: {
          conditions: [
            {
              type: "Ready",
              status: "False",
              reason: "InvalidSpec",
              message: "m",
              lastTransitionTime: "2026-01-01T00:00:01Z",
            },
          ],
        },
      },
      now,
    );
    assert.deepEqual(row, {
      namespace: "ns",
      name: "a",
      destination: "d",
      region: "eu-west-1",
      mode: "Enforce",
      ready: "False",
      reason: "InvalidSpec",
      age: "60s",
    });
    assert.deepEqual(renderTable([row]), [
      "NAMESPACE   NAME   DESTINATION   REGION      MODE      READY   REASON        AGE",
      "ns          a      d             eu-west-1   Enforce   False   InvalidSpec   60s",
    ]);
  });

  test("on a terminal the footer is redrawn in place below the log lines", () => {
    let written = "";
    const region = new LiveRegion({ isTTY: true, columns: 80, write: (t) => (written += t) });
    region.footer(["table 1", "row"]);
    region.log("event");
    region.footer(["table 2"]);
    assert.equal(
      written,
      "table 1\nrow\n" + "\x1b[2F\x1b[Jevent\ntable 1\nrow\n" + "\x1b[2F\x1b[Jtable 2\n",
    );
  });

  test("on a pipe the footer is printed only when it changed", () => {
    let written = "";
    const region = new LiveRegion({ write: (t) => (written += t) });
    region.footer(["t", "1s"], "same");
    region.footer(["t", "2s"], "same");
    region.log("event");
    region.footer(["t", "3s"], "other");
    assert.equal(written, "t\n1s\nevent\nt\n3s\n");

    let quiet = "";
    const once = new LiveRegion({ write: (t) => (quiet += t) }, { pipeFooter: false });
    once.footer(["t", "1s"]);
    once.footer(["t", "2s"]);
    once.release();
    assert.equal(quiet, "t\n2s\n");
  });

  test("a metric is summed over the samples whose labels match", () => {
    const text = [
      "# HELP x help",
      'x{operation="Put",error="A"} 2',
      'x{operation="Put",error="B"} 3',
      'x_other{operation="Put"} 7',
      "y 1",
    ].join("\n");
    assert.equal(metricValue(text, "x", { operation: "Put" }), 5);
    assert.equal(metricValue(text, "x", { error: "B" }), 3);
    assert.equal(metricValue(text, "y", {}), 1);
  });
});
