/** A Kubernetes timestamp: RFC 3339 in UTC, whole seconds, as metav1.Time serialises it. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
