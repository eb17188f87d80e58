// Rendering of issue paths and offending values. Messages end up in Kubernetes conditions and
// events, so everything user-controlled is quoted and bounded in length.

import { quote as quoteValue, truncate } from "../util/quote.ts";

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const MAX_SHOWN_CHARS = 60;

export type PathSegment = string | number;

export { truncate };

/** A quoted, bounded rendering of a user-supplied string (src/util/quote.ts). */
export function quote(text: string): string {
  return quoteValue(text, MAX_SHOWN_CHARS);
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
