// Maps a failed AWS call to the outcome the user sees.
import { AwsCallError } from "../../aws/errors.ts";
import { RoleNotAllowedError } from "../../aws/roles.ts";
import { ReconcileFailure } from "../outcomes.ts";

/** The abort reason of a reconcile cut short because its object is being deleted. */
export class DeletionObserved extends Error {
  override name = "DeletionObserved";
}

/** The abort reason of a reconcile cut short because a binding or namespace change withdrew its permission. */
export class PermissionWithdrawn extends Error {
  override name = "PermissionWithdrawn";
}

function interruptedBy(reason: unknown): string {
  if (reason instanceof DeletionObserved) return "The object's deletion";
  if (reason instanceof PermissionWithdrawn) return "A change of bindings or namespace labels";
  return "Shutdown";
}

export function failureFromAws(
  error: unknown,
  desired: { destinationName: string; region: string },
  signal: AbortSignal,
): ReconcileFailure {
  const where = `destination ${desired.destinationName} in ${desired.region}`;
  if (signal.aborted) {
    return new ReconcileFailure(
      "Interrupted",
      `${interruptedBy(signal.reason)} interrupted the update of ${where}`,
    );
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
    case "unreachable":
      return new ReconcileFailure(
        "RegionUnreachable",
        `No AWS endpoint answers for region ${desired.region}: check spec.region`,
      );
    case "transient":
      return new ReconcileFailure(
        "AWSUnavailable",
        `AWS did not accept the update of ${where} after ${error.attempts} attempts: ${detail}`,
      );
    case "unknown":
      return new ReconcileFailure("ReconcileError", `Updating ${where} failed: ${detail}`);
  }
}
