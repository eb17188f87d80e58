// Every row of the table in docs/public-access.md is a test: the documented
// verdict is what the controller's guardrail (and so `validate`) decides.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { validateManifests } from "../../src/cli/validate-core.ts";
import { findPublicStatements } from "../../src/policy/index.ts";
import { readShapeTable } from "../support/public-access-table.ts";

const rows = readShapeTable();

void describe("the documented public-access shapes", () => {
  void it("the table has at least 30 rows, numbered in order", () => {
    assert.ok(rows.length >= 30, `${rows.length} rows`);
    assert.deepEqual(
      rows.map((r) => r.number),
      rows.map((_, i) => i + 1),
    );
  });

  for (const row of rows) {
    void it(`row ${row.number}: ${row.why} → ${row.verdict}`, () => {
      const found = findPublicStatements({ Version: "2012-10-17", Statement: [row.statement] });
      assert.equal(found.length > 0 ? "public" : "not public", row.verdict);
      // Admission may refuse less than the controller, never more.
      if (row.verdict === "not public") assert.equal(row.admission, "admitted");

      const manifest = JSON.stringify({
        apiVersion: "logs.gitops.dev/v1alpha1",
        kind: "LogDestinationPolicy",
        metadata: { name: "row" },
        spec: {
          destinationName: "central",
          region: "us-east-1",
          accessPolicy: { Version: "2012-10-17", Statement: [row.statement] },
        },
      });
      const problems = validateManifests(manifest, "row.json").problems;
      assert.equal(
        problems.some((p) => p.message.includes("public")),
        row.verdict === "public",
        JSON.stringify(problems),
      );
      assert.ok(
        problems.every((p) => p.message.includes("public")),
        `only the guardrail speaks: ${JSON.stringify(problems)}`,
      );
    });
  }
});
