// Maps a failed AWS call to the outcome the user sees.
import { awsErrorText } from "../../aws/error-text.ts";
import { whereText } from "../wording.ts";
import { AwsCallError } from "../../aws/errors.ts";
import { RoleNotAllowedError } from "../../aws/roles.ts";
import { ReconcileFailure } from "../outcomes.ts";

/** The abort reason of a reconcile cut short because its object is being deleted. */
export class DeletionObserved extends Error {
  override name = "DeletionObserved";
}

export function failureFromAws(
  error: unknown,
  desired: { destinationName: string; region: string },
  signal: AbortSignal,
): ReconcileFailure {
  const where = whereText(desired);
  if (signal.aborted) {
    const why = signal.reason instanceof DeletionObserved ? "The object's deletion" : "Shutdown";
    return new ReconcileFailure("Interrupted", `${why} interrupted the update of ${where}`);
  }
  const roleError = error instanceof AwsCallError ? error.cause : error;
  if (roleError instanceof RoleNotAllowedError) {
    return new ReconcileFailure("RoleNotAllowed", `spec.roleArn: ${roleError.message}`);
  }
  if (!(error instanceof AwsCallError)) {
    const name = error instanceof Error ? error.name : typeof error;
    return new ReconcileFailure(
      "ReconcileError",
      `Updating ${where} failed: ${awsErrorText(name)}`,
      { cause: error, logDetail: String(error) },
    );
  }
  // Status gets the error's name and our sentence; AWS's own text (which can name the
  // controller's role) goes to the log only.
  const detail = awsErrorText(error.awsName);
  const options = { cause: error, logDetail: `${error.awsName}: ${error.message}` };
  switch (error.kind) {
    case "invalid":
      return new ReconcileFailure(
        "AWSRejected",
        `AWS rejected the policy for ${where}: ${detail}`,
        options,
      );
    case "not-found":
      return new ReconcileFailure(
        "DestinationNotFound",
        `The ${where} does not exist: ${detail}`,
        options,
      );
    case "access-denied":
      return new ReconcileFailure(
        "AccessDenied",
        `Access denied updating ${where}: ${detail}`,
        options,
      );
    case "transient":
      return new ReconcileFailure(
        "AWSUnavailable",
        `AWS did not accept the update of ${where} after ${error.attempts} attempts: ${detail}`,
        options,
      );
    case "unknown":
      return new ReconcileFailure("ReconcileError", `Updating ${where} failed: ${detail}`, options);
  }
}
