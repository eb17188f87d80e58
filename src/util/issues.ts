/** Issues as one line, `path: message; …`, for a condition message, an event or a log line. */
export function formatIssues(issues: readonly { path: string; message: string }[]): string {
  return issues.map((issue) => `${issue.path}: ${issue.message}`).join("; ");
}
