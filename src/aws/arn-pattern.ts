// ARN patterns where `*` stands for any run of characters within one segment:
// it never crosses a `:` (ARN field) or a `/` (path segment). So
// `arn:aws:iam::*:role/ldp-*` allows `role/ldp-writer` in every account, but not
// `role/ldp-x/OrganizationAccountAccessRole`, a role under the path `/ldp-x/`.
//
// No regular expression: a pattern with many `*` against a long name must not
// backtrack. Each segment is matched by splitting the pattern at `*` and finding
// the literal parts left to right, leftmost first, with Knuth-Morris-Pratt, so
// matching takes time linear in the lengths of the name and the pattern.

const SEPARATOR = /[:/]/;

/** Splits at every `:` and `/`, keeping which separator came before each segment. */
function segments(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (SEPARATOR.test(text[i] ?? "")) {
      out.push(text.slice(start, i), text[i] ?? "");
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

/** The first index >= from where `needle` occurs in `hay`, or -1; O(|hay| + |needle|). */
function find(hay: string, needle: string, from: number, failure: Int32Array): number {
  if (needle.length === 0) return from;
  let k = 0;
  for (let i = from; i < hay.length; i++) {
    while (k > 0 && hay[i] !== needle[k]) k = failure[k - 1] ?? 0;
    if (hay[i] === needle[k]) k++;
    if (k === needle.length) return i - needle.length + 1;
  }
  return -1;
}

function failureTable(needle: string): Int32Array {
  const table = new Int32Array(needle.length);
  let k = 0;
  for (let i = 1; i < needle.length; i++) {
    while (k > 0 && needle[i] !== needle[k]) k = table[k - 1] ?? 0;
    if (needle[i] === needle[k]) k++;
    table[i] = k;
  }
  return table;
}

interface SegmentPattern {
  /** The literal parts between the `*`; one part means no `*`. */
  parts: string[];
  tables: Int32Array[];
}

function compileSegment(pattern: string): SegmentPattern {
  const parts = pattern.split("*");
  return { parts, tables: parts.map(failureTable) };
}

function matchSegment({ parts, tables }: SegmentPattern, text: string): boolean {
  const first = parts[0] ?? "";
  if (parts.length === 1) return text === first;
  const last = parts[parts.length - 1] ?? "";
  if (text.length < first.length + last.length) return false;
  if (!text.startsWith(first) || !text.endsWith(last)) return false;
  // Leftmost matches of the middle parts leave the most room for the rest,
  // so a greedy scan decides the match without backtracking.
  let at = first.length;
  const end = text.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const part = parts[i] ?? "";
    const found = find(text, part, at, tables[i] ?? new Int32Array());
    if (found < 0 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}

/** A compiled pattern; `matches` runs in time linear in the ARN's and the pattern's lengths. */
export class ArnPattern {
  readonly source: string;
  readonly #segments: (SegmentPattern | string)[];

  constructor(pattern: string) {
    this.source = pattern;
    // Odd positions hold the separators, which must match exactly.
    this.#segments = segments(pattern).map((s, i) => (i % 2 === 1 ? s : compileSegment(s)));
  }

  matches(arn: string): boolean {
    const parts = segments(arn);
    if (parts.length !== this.#segments.length) return false;
    return this.#segments.every((segment, i) => {
      const text = parts[i] ?? "";
      return typeof segment === "string" ? segment === text : matchSegment(segment, text);
    });
  }
}
