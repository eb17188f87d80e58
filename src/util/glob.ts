// Globs where `*` stands for any run of characters and everything else is
// literal: binding destination names, and each segment of an ARN pattern. Matching never backtracks: the pattern is split at its
// stars once, the first piece must start the name and the last must end it,
// and each piece in between is found at the leftmost place after the one
// before. For `*`-only globs leftmost is always right (any later match would
// leave less room for the rest). Pieces are found with Knuth-Morris-Pratt, so
// a match takes time linear in the lengths of the name and the pattern.

export interface Glob {
  readonly source: string;
  matches(name: string): boolean;
}

interface Piece {
  text: string;
  failure: Int32Array;
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

/** The first index >= from where the piece occurs in `hay` and ends by `end`, or -1. */
function find(hay: string, piece: Piece, from: number, end: number): number {
  const needle = piece.text;
  let k = 0;
  for (let i = from; i < end; i++) {
    while (k > 0 && hay[i] !== needle[k]) k = piece.failure[k - 1] ?? 0;
    if (hay[i] === needle[k]) k++;
    if (k === needle.length) return i - needle.length + 1;
  }
  return -1;
}

export function compileGlob(source: string): Glob {
  const parts = source.split("*");
  if (parts.length === 1) return { source, matches: (name) => name === source };
  const first = parts[0] ?? "";
  const last = parts[parts.length - 1] ?? "";
  const middle: Piece[] = parts
    .slice(1, -1)
    .filter((text) => text !== "")
    .map((text) => ({ text, failure: failureTable(text) }));
  const minLength = first.length + last.length;
  return {
    source,
    matches(name: string): boolean {
      if (name.length < minLength || !name.startsWith(first) || !name.endsWith(last)) return false;
      let at = first.length;
      const end = name.length - last.length;
      for (const piece of middle) {
        const found = find(name, piece, at, end);
        if (found < 0) return false;
        at = found + piece.text.length;
      }
      return true;
    },
  };
}
