// Rendering of issue paths and offending values. Messages end up in Kubernetes conditions and
// events, so everything user-controlled is quoted and bounded in length.

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const MAX_SHOWN_CHARS = 60;

export type PathSegment = string | number;

export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, Math.max(0, max - 1));
  // Never leave half of a surrogate pair behind: it would not survive UTF-8 encoding.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/** A quoted, bounded rendering of a user-supplied string. */
export function quote(text: string): string {
  return JSON.stringify(truncate(text, MAX_SHOWN_CHARS));
}

/** What to print after "got": short enough for a condition message, precise for scalars. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (typeof value === "string") return quote(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return value.length === 0 ? "an empty array" : "an array";
  if (typeof value === "object") return "an object";
  return `a ${typeof value}`;
}

export function appendPath(base: string, segment: PathSegment): string {
  if (typeof segment === "number") return `${base}[${segment}]`;
  if (IDENTIFIER.test(segment)) return base === "" ? segment : `${base}.${segment}`;
  return `${base}[${quote(segment)}]`;
}

export function joinPath(base: string, segments: readonly PathSegment[]): string {
  return segments.reduce<string>(appendPath, base);
}

/** A hint for the commonest mistake in hand-written policies: wrong capitalisation. */
export function didYouMean(key: string, allowed: readonly string[]): string {
  const match = allowed.find((candidate) => candidate.toLowerCase() === key.toLowerCase());
  return match === undefined ? "" : ` (did you mean ${quote(match)}?)`;
}
