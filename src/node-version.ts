// Whether this Node.js is new enough for package.json "engines", checked by the
// entry point before any dependency loads. No imports: it must run on old Node.

/** Why the running Node.js is too old for `engines` (">=X.Y[.Z]"), or undefined. */
export function nodeTooOld(engines: string | undefined, running: string): string | undefined {
  const minimum = /^>=\s*(\d+(?:\.\d+){0,2})$/.exec(engines?.trim() ?? "")?.[1];
  if (minimum === undefined || atLeast(running, minimum)) return undefined;
  return `log-destination-policy-controller needs Node.js ${minimum} or newer, and this is Node.js ${running}`;
}

function atLeast(have: string, want: string): boolean {
  const a = have.split(".").map((part) => parseInt(part, 10) || 0);
  const b = want.split(".").map((part) => parseInt(part, 10) || 0);
  for (let i = 0; i < 3; i++) {
    const [x, y] = [a[i] ?? 0, b[i] ?? 0];
    if (x !== y) return x > y;
  }
  return true;
}
