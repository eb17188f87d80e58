// The table of public-access shapes in docs/public-access.md, read by the unit
// test (controller and validate) and the admission test (the chart's CEL).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { PolicyStatement } from "../../src/policy/index.ts";

export interface ShapeRow {
  number: number;
  statement: PolicyStatement;
  verdict: "public" | "not public";
  admission: "refused" | "admitted";
  why: string;
}

/** The rows of the table, parsed from the Markdown source. */
export function readShapeTable(): ShapeRow[] {
  const text = readFileSync(
    join(import.meta.dirname, "..", "..", "docs", "public-access.md"),
    "utf8",
  );
  const begin = text.indexOf("<!-- public-access-table:begin -->");
  const end = text.indexOf("<!-- public-access-table:end -->");
  const rows: ShapeRow[] = [];
  for (const line of text.slice(begin, end).split("\n")) {
    const match =
      /^\|\s*(\d+)\s*\|\s*`(.+)`\s*\|\s*(public|not public)\s*\|\s*(refused|admitted)\s*\|\s*(.*?)\s*\|$/.exec(
        line,
      );
    if (!match) continue;
    const [, number = "", json = "", verdict = "", admission = "", why = ""] = match;
    const statement = {
      ...(JSON.parse(json) as PolicyStatement),
      Action: "logs:PutSubscriptionFilter",
      Resource: "arn:aws:logs:us-east-1:222222222222:destination:central",
    };
    rows.push({
      number: Number(number),
      statement,
      verdict: verdict as ShapeRow["verdict"],
      admission: admission as ShapeRow["admission"],
      why,
    });
  }
  return rows;
}
