// Maps a failed AWS call to the outcome the user sees.
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
  const where = `destination ${desired.destinationName} in ${desired.region}`;
  if (signal.aborted) {
    const why = signal.reason instanceof DeletionObserved ? "The object's deletion" : "Shutdown";
    return new ReconcileFailure("Interrupted", `${why} interrupted the update of ${where}`);
  }
  const roleError = error instanceof AwsCallError ? error.cause : error;
  if (roleError instanceof RoleNotAllowedError) {
    return new ReconcileFailure("RoleNotAllowed", `spec.roleArn: ${roleError.message}`);
  }
  if (!(error instanceof AwsCallError)) {
    return new ReconcileFailure("ReconcileError", `Updating ${where}: ${String(error)}`, {
      cause: error,
    });
  }
  const detail = `${error.awsName}: ${error.message}`;
  switch (error.kind) {
    case "invalid":
      return new ReconcileFailure("AWSRejected", `AWS rejected the policy for ${where}: ${detail}`);
    case "not-found":
      return new ReconcileFailure("DestinationNotFound", `The ${where} does not exist: ${detail}`);
    case "access-denied":
      return new ReconcileFailure("AccessDenied", `Access denied updating ${where}: ${detail}`);
    case "transient":
      return new ReconcileFailure(
        "AWSUnavailable",
        `AWS did not accept the update of ${where} after ${error.attempts} attempts: ${detail}`,
      );
    case "unknown":
      return new ReconcileFailure("ReconcileError", `Updating ${where} failed: ${detail}`);
  }
}
