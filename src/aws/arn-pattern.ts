// ARN patterns where `*` stands for any run of characters within one segment:
// it never crosses a `:` (ARN field) or a `/` (path segment). So
// `arn:aws:iam::*:role/ldp-*` allows `role/ldp-writer` in every account, but not
// `role/ldp-x/OrganizationAccountAccessRole`, a role under the path `/ldp-x/`.
//
// No regular expression: a pattern with many `*` against a long name must not
// backtrack. Each segment is a glob (src/util/glob.ts), matched in time linear
// in the lengths of the name and the pattern.
import { compileGlob, type Glob } from "../util/glob.ts";

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

/** A compiled pattern; `matches` runs in time linear in the ARN's and the pattern's lengths. */
export class ArnPattern {
  readonly source: string;
  readonly #segments: (Glob | string)[];

  constructor(pattern: string) {
    this.source = pattern;
    // Odd positions hold the separators, which must match exactly.
    this.#segments = segments(pattern).map((s, i) => (i % 2 === 1 ? s : compileGlob(s)));
  }

  matches(arn: string): boolean {
    const parts = segments(arn);
    if (parts.length !== this.#segments.length) return false;
    return this.#segments.every((segment, i) => {
      const text = parts[i] ?? "";
      return typeof segment === "string" ? segment === text : segment.matches(text);
    });
  }
}
