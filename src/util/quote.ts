// Tenant-supplied text inside status messages, Events and logs. A destination
// name may hold any character but ':' and '*', so a newline or an ANSI escape
// in it could forge a second line in `kubectl describe` or repaint a terminal.
// Every such value is quoted with JSON's rules, and the characters JSON leaves
// raw but terminals and viewers still act on (DEL, C1 controls, line and
// paragraph separators, bidirectional and invisible format characters) are
// escaped too. Pure, so the policy core and the controller share it.

// C0 controls are escaped by JSON.stringify already; these are the rest.
const UNSAFE =
  /[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/g;
// Raw controls anywhere in a finished message: the same set plus C0 (tab and newline included).
const UNSAFE_RAW =
  // eslint-disable-next-line no-control-regex -- escaping controls is the point
  /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]/g;

const escape = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

/** Cuts text to `max` characters, with "…" where it was cut; never half a surrogate pair. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, Math.max(0, max - 1));
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/** A tenant-supplied value, quoted, bounded and safe to print: `"central\nlogs"`. */
export function quote(text: string, max = 128): string {
  return JSON.stringify(truncate(text, max)).replace(UNSAFE, escape);
}

/**
 * A finished message with every control or invisible format character escaped.
 * The last line of defence where messages leave the controller (conditions,
 * Events); the values inside should already be quoted.
 */
export function printable(message: string): string {
  return message.replace(UNSAFE_RAW, escape);
}
