// The account an ARN names. Each caller decides what stands in when there is
// none (the controller's own account, a shared rate-limit bucket, a guess from
// another ARN), so this only parses.

export interface AwsAccount {
  partition: string;
  accountId: string;
}

const ARN_ACCOUNT = /^arn:(aws[a-z-]*):[a-z0-9-]+:[a-z0-9-]*:(\d{12}):/;

/** The partition and account an ARN names, if it has the usual shape. */
export function accountOfArn(arn: string): AwsAccount | undefined {
  const match = ARN_ACCOUNT.exec(arn);
  return match?.[1] && match[2] ? { partition: match[1], accountId: match[2] } : undefined;
}
