// Turns whatever the SDK or the network throws into a small, closed set of kinds.
// The kind decides what the controller does next (retry now, requeue later, or
// stall until the spec changes) and becomes a metric label, so it must stay small.

export type AwsErrorKind =
  | "transient" // retry in place: OperationAborted, 5xx, throttling, network
  | "invalid" // the request itself is wrong; only a spec change can fix it
  | "not-found" // the destination does not exist (yet)
  | "access-denied" // credentials lack permission; an operator may fix IAM later
  | "unreachable" // no AWS endpoint exists for the region: retrying cannot help
  | "unknown";

const TRANSIENT_NAMES = new Set([
  "OperationAbortedException",
  "ServiceUnavailableException",
  "ThrottlingException",
  "Throttling",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "LimitExceededException",
  "InternalFailure",
  "InternalServerError",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
]);

/** Transient errors that mean "slow down": retried, but never sooner than the throttle delay. */
const THROTTLING_NAMES = new Set([
  "ThrottlingException",
  "Throttling",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "LimitExceededException",
]);

export function isThrottling(classified: ClassifiedError): boolean {
  return (
    classified.kind === "transient" &&
    (THROTTLING_NAMES.has(classified.name) || classified.httpStatus === 429)
  );
}

const ACCESS_DENIED_NAMES = new Set([
  "AccessDeniedException",
  "AccessDenied",
  "UnauthorizedOperation",
  "UnrecognizedClientException",
  "InvalidClientTokenId",
  "ExpiredTokenException",
  "ExpiredToken",
  "CredentialsProviderError",
]);

// Node's socket-level errors carry these codes; they never reach AWS, so a retry is safe.
const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

export interface ClassifiedError {
  kind: AwsErrorKind;
  /** The AWS error code, or a stable stand-in for errors that never reached AWS. */
  name: string;
  message: string;
  httpStatus?: number;
}

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $fault?: unknown;
}

/**
 * A region the SDK cannot reach: its endpoint rules refuse it (EndpointError),
 * or DNS answers that the endpoint's host name does not exist (getaddrinfo
 * ENOTFOUND, NXDOMAIN). Every string that passes the region pattern gets a
 * host name, so a made-up region ends here, at the first attempt. A DNS server
 * that does not answer (EAI_AGAIN) stays transient.
 */
const UNREACHABLE_NAME = "EndpointNotFound";

function unreachable(error: ErrorLike, depth = 0): boolean {
  if (error.name === "EndpointError" || error.code === "ENOTFOUND") return true;
  if (depth < 3 && typeof error.cause === "object" && error.cause !== null) {
    return unreachable(error.cause, depth + 1);
  }
  return false;
}

function networkCode(error: ErrorLike, depth = 0): string | undefined {
  if (typeof error.code === "string" && NETWORK_CODES.has(error.code)) return error.code;
  if (depth < 3 && typeof error.cause === "object" && error.cause !== null) {
    return networkCode(error.cause, depth + 1);
  }
  return undefined;
}

export function classifyAwsError(error: unknown): ClassifiedError {
  if (typeof error !== "object" || error === null) {
    return { kind: "unknown", name: "UnknownError", message: String(error) };
  }
  const e = error as ErrorLike;
  const name = typeof e.name === "string" && e.name !== "" ? e.name : "UnknownError";
  const message = typeof e.message === "string" ? e.message : "";
  const status = e.$metadata?.httpStatusCode;
  const httpStatus = typeof status === "number" ? status : undefined;
  const base = { name, message, ...(httpStatus === undefined ? {} : { httpStatus }) };

  if (unreachable(e)) return { kind: "unreachable", name: UNREACHABLE_NAME, message };
  const code = networkCode(e);
  if (code !== undefined)
    return { kind: "transient", name: "NetworkError", message: `${code}: ${message}` };
  if (name === "InvalidParameterException" || name === "ValidationException")
    return { ...base, kind: "invalid" };
  if (name === "ResourceNotFoundException") return { ...base, kind: "not-found" };
  if (ACCESS_DENIED_NAMES.has(name) || httpStatus === 403)
    return { ...base, kind: "access-denied" };
  if (TRANSIENT_NAMES.has(name)) return { ...base, kind: "transient" };
  if (httpStatus !== undefined && httpStatus >= 500) return { ...base, kind: "transient" };
  if (e.$fault === "server") return { ...base, kind: "transient" };
  return { ...base, kind: "unknown" };
}

/** An AWS call that failed for good, after any retries. */
export class AwsCallError extends Error {
  readonly kind: AwsErrorKind;
  readonly awsName: string;
  readonly attempts: number;
  readonly operation: string;

  constructor(
    operation: string,
    classified: ClassifiedError,
    attempts: number,
    options?: ErrorOptions,
  ) {
    super(classified.message || classified.name, options);
    this.name = "AwsCallError";
    this.operation = operation;
    this.kind = classified.kind;
    this.awsName = classified.name;
    this.attempts = attempts;
  }
}
