// Durations as Kubernetes users write them (Go's time.ParseDuration subset):
// "90s", "10m", "1h30m", "0". Pure, shared by the API and the controller.
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds, or undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === "0") return 0;
  let total = 0;
  let consumed = 0;
  for (const match of trimmed.matchAll(PART)) {
    if (match.index !== consumed) return undefined;
    consumed += match[0].length;
    total += Number(match[1]) * (UNIT_MS[match[2] ?? ""] ?? NaN);
  }
  return consumed === trimmed.length && consumed > 0 && Number.isFinite(total) ? total : undefined;
}
