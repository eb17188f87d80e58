// What status says about a failed AWS call: the error's name and our own
// sentence, never AWS's message text. That text is not ours to relay: an
// AccessDenied names the controller's role ARN and session, and a tenant who can
// read status could collect it. The full text goes to the controller's log only.

const SENTENCES: Readonly<Record<string, string>> = {
  InvalidParameterException:
    "AWS refused the request as invalid; only a change of the spec can fix it",
  ValidationException: "AWS refused the request as invalid; only a change of the spec can fix it",
  ResourceNotFoundException: "no destination of that name exists in that account and region",
  AccessDeniedException:
    "the controller's AWS identity (or the role it assumed) may not make this call; an operator must grant it in IAM",
  AccessDenied:
    "the controller's AWS identity (or the role it assumed) may not make this call; an operator must grant it in IAM",
  UnauthorizedOperation:
    "the controller's AWS identity (or the role it assumed) may not make this call; an operator must grant it in IAM",
  UnrecognizedClientException: "AWS does not recognise the controller's credentials",
  InvalidClientTokenId: "AWS does not recognise the controller's credentials",
  ExpiredTokenException: "the controller's AWS credentials have expired",
  ExpiredToken: "the controller's AWS credentials have expired",
  CredentialsProviderError: "the controller found no AWS credentials",
  OperationAbortedException: "another update of the same destination ran at the same time",
  ServiceUnavailableException: "AWS was unavailable",
  InternalFailure: "AWS failed internally",
  InternalServerError: "AWS failed internally",
  ThrottlingException: "AWS throttled the controller's calls",
  Throttling: "AWS throttled the controller's calls",
  TooManyRequestsException: "AWS throttled the controller's calls",
  RequestLimitExceeded: "AWS throttled the controller's calls",
  LimitExceededException: "AWS throttled the controller's calls",
  RequestTimeout: "the call timed out",
  RequestTimeoutException: "the call timed out",
  TimeoutError: "the call timed out",
  NetworkError: "the network failed before AWS answered",
  UnknownError: "the call failed without an AWS error name",
};

// AWS error names are words; anything else did not come from AWS's documented set.
const ERROR_NAME = /^[A-Za-z][A-Za-z0-9.]{0,63}$/;

/** "AccessDeniedException: the controller's AWS identity … may not make this call; …". */
export function awsErrorText(name: string): string {
  const sentence = SENTENCES[name];
  if (sentence !== undefined && Object.hasOwn(SENTENCES, name)) return `${name}: ${sentence}`;
  if (!ERROR_NAME.test(name)) {
    return "an error whose name is not an AWS error name; the controller's log has the details";
  }
  return `${name}: an AWS error the controller has no explanation for; the controller's log has AWS's message`;
}
