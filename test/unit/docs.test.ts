// The generated documentation covers the whole API and keeps hand-written text.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  alertsTable,
  anchor,
  apiReference,
  configurationTable,
  markers,
  metricsTable,
  readAlerts,
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
      const link = `[\`${reason}\`](troubleshooting.md#${reason.toLowerCase()})`;
      assert.ok(reference.includes(`\n| ${link} `), reason);
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

describe("troubleshooting and monitoring", () => {
  const root = join(import.meta.dirname, "..", "..");
  const read = (file: string) => readFileSync(join(root, "docs", file), "utf8");
  const headings = (text: string) =>
    new Set([...text.matchAll(/^#{2,4} (.+)$/gm)].map((m) => anchor(m[1] ?? "")));

  test("troubleshooting.md has a section for every Ready reason of the outcome table", () => {
    const sections = headings(read("troubleshooting.md"));
    const missing = Object.keys(OUTCOMES).filter((reason) => !sections.has(anchor(reason)));
    assert.deepEqual(missing, [], "reasons without a section in docs/troubleshooting.md");
  });

  test("troubleshooting.md and runbooks.md have a section for every alert, and monitoring.md lists it", async () => {
    const alerts = (await readAlerts(root)).map((rule) => rule.alert);
    assert.ok(alerts.length >= 10);
    const monitoring = read("monitoring.md");
    for (const file of ["troubleshooting.md", "runbooks.md"]) {
      const sections = headings(read(file));
      const missing = alerts.filter((alert) => !sections.has(anchor(alert)));
      assert.deepEqual(missing, [], `alerts without a section in docs/${file}`);
    }
    for (const alert of alerts) {
      assert.ok(monitoring.includes(`[${alert}](runbooks.md#${anchor(alert)})`), alert);
    }
  });

  test("runbooks.md links the reasons it names to their troubleshooting sections", () => {
    const runbooks = read("runbooks.md");
    for (const [, reason = ""] of runbooks.matchAll(/\[`(\w+)`\]\(troubleshooting\.md#(\w+)\)/g)) {
      assert.ok(reason in OUTCOMES, reason);
    }
    assert.match(runbooks, /\[`AccessDenied`\]\(troubleshooting\.md#accessdenied\)/);
  });

  test("the alerts table links each alert to its runbook with its severity", () => {
    const table = alertsTable([
      {
        alert: "SomeAlert",
        for: "5m",
        labels: { severity: "critical" },
        annotations: { summary: "s" },
      },
    ]);
    assert.match(table, /^\| \[SomeAlert\]\(runbooks\.md#somealert\) \| s \| 5m \| critical \|$/m);
  });
});
