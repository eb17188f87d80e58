// Maps a failed AWS call to the outcome the user sees.
import { awsErrorText } from "../../aws/error-text.ts";
import { whereText } from "../wording.ts";
import { quote } from "../../util/quote.ts";
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
  const where = whereText(desired);
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
    case "unreachable":
      return new ReconcileFailure(
        "RegionUnreachable",
        `No AWS endpoint answers for region ${quote(desired.region)}: check spec.region`,
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
