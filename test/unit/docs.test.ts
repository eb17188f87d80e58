// The generated documentation covers the whole API and keeps hand-written text.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  apiReference,
  configurationTable,
  markers,
  metricsTable,
  replaceSection,
} from "../../scripts/docs.ts";
import { specSchema } from "../../src/api/v1alpha1.ts";
import { FLAGS } from "../../src/cli/config.ts";
import { OUTCOMES } from "../../src/controller/outcomes.ts";

describe("generated docs", () => {
  test("the API reference names every spec field and every Ready reason", () => {
    const reference = apiReference();
    for (const field of Object.keys(specSchema.shape)) {
      assert.match(reference, new RegExp(`^\\| \`${field}\` `, "m"), field);
    }
    for (const reason of Object.keys(OUTCOMES)) {
      assert.match(reference, new RegExp(`^\\| \`${reason}\` `, "m"), reason);
    }
  });

  test("the configuration table has a row per flag with its environment variable", () => {
    const table = configurationTable();
    for (const flag of FLAGS)
      assert.ok(table.includes(`| \`${flag.flag}\` | \`${flag.env}\` |`), flag.flag);
  });

  test("the metrics table lists the controller-runtime names", () => {
    const table = metricsTable();
    assert.match(table, /`controller_runtime_reconcile_total` \| counter \| controller, result \|/);
    assert.match(
      table,
      /`log_destination_policy_aws_retries_total` \| counter \| operation, error \|/,
    );
    assert.doesNotMatch(table, /process_cpu/);
  });

  test("a generated section replaces only what lies between its markers", () => {
    const m = markers("table", "src/x.ts");
    const text = `# Title\n\nintro\n\n${m.begin}\nold\n${m.end}\n\noutro\n`;
    const once = replaceSection(text, m, "| new |\n", "README.md");
    assert.equal(once, `# Title\n\nintro\n\n${m.begin}\n\n| new |\n\n${m.end}\n\noutro\n`);
    assert.equal(replaceSection(once, m, "| new |", "README.md"), once);
    assert.throws(
      () => replaceSection("# no markers\n", m, "x", "README.md"),
      /README\.md: the markers/,
    );
  });
});
