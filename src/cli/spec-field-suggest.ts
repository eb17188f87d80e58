// "Did you mean" for a misspelt spec field: the API server refuses unknown
// fields under strict field validation, and kubectl applies with it.
import { specSchema } from "../api/v1alpha1.ts";
import { nearest } from "../util/nearest.ts";

export const SPEC_FIELDS = new Set(Object.keys(specSchema.shape));

export function suggest(key: string): string {
  const best = nearest(key, SPEC_FIELDS);
  return best === undefined ? "" : ` (did you mean ${JSON.stringify(best)}?)`;
}
