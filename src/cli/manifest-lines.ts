// Where a field is in a YAML manifest, so that every problem `validate` reports
// names the line an editor or a CI log can jump to.
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter } from "yaml";
import { isRecord } from "../util/record.ts";

export type Segment = string | number;

/**
 * The line of the deepest node on the path that exists: the key's line for a
 * map entry, the item's for a list element, the document's when nothing matches.
 * A JSON string (accessPolicyJson) has no nodes inside, so its key's line is used.
 */
export function lineOf(
  document: Document.Parsed,
  lines: LineCounter,
  segments: readonly Segment[],
): number {
  let node: unknown = document.contents;
  let offset = rangeStart(node) ?? document.range[0];
  for (const segment of segments) {
    if (isAlias(node)) node = node.resolve(document);
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isScalar(item.key) && String(item.key.value) === String(segment),
      );
      if (!pair) break;
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number") {
      const item: unknown = node.items[segment];
      const start = rangeStart(item);
      if (start === undefined) break;
      offset = start;
      node = item;
    } else {
      break;
    }
  }
  return lines.linePos(offset).line;
}

function rangeStart(node: unknown): number | undefined {
  if (!isRecord(node)) return undefined;
  const range = node.range;
  return Array.isArray(range) && typeof range[0] === "number" ? range[0] : undefined;
}

/** A parser message without its own position, which the problem's line already gives. */
export function firstLine(message: string): string {
  const line = message.split("\n", 1)[0] ?? message;
  // The line is in the prefix already; the parser's "at line L, column C" repeats it.
  return line.replace(/ at line \d+, column \d+:?$/, "");
}

/**
 * Splits a path as the policy core writes it (spec.accessPolicy.Statement[0],
 * Condition["aws:PrincipalOrgID"]) back into segments. Parsing stops at anything
 * unexpected, which only makes the reported line less precise.
 */
export function parsePath(path: string): Segment[] {
  const segments: Segment[] = [];
  const token = /\.?([A-Za-z_$][\w$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  let match: RegExpExecArray | null;
  while (token.lastIndex < path.length && (match = token.exec(path)) !== null) {
    if (match[1] !== undefined) segments.push(match[1]);
    else if (match[2] !== undefined) segments.push(Number(match[2]));
    else if (match[3] !== undefined) segments.push(String(JSON.parse(match[3])));
  }
  return segments;
}
