// Destination-name globs: `*` stands for any run of characters, everything
// else is literal. Matching never backtracks: the pattern is split at its
// stars once, the first piece must start the name and the last must end it,
// and each piece in between is found at the leftmost place after the one
// before. For `*`-only globs leftmost is always right (any later match would
// leave less room for the rest), so one pass over the name decides.

export interface Glob {
  readonly source: string;
  matches(name: string): boolean;
}

export function compileGlob(source: string): Glob {
  const pieces = source.split("*");
  if (pieces.length === 1) return { source, matches: (name) => name === source };
  const first = pieces[0] ?? "";
  const last = pieces[pieces.length - 1] ?? "";
  const middle = pieces.slice(1, -1).filter((piece) => piece !== "");
  const minLength = first.length + last.length;
  return {
    source,
    matches(name: string): boolean {
      if (name.length < minLength || !name.startsWith(first) || !name.endsWith(last)) return false;
      let at = first.length;
      const end = name.length - last.length;
      for (const piece of middle) {
        const found = name.indexOf(piece, at);
        if (found < 0 || found + piece.length > end) return false;
        at = found + piece.length;
      }
      return true;
    },
  };
}
