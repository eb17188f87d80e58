// What an AWS JSON 1.1 service puts on the wire, for the servers that stand in
// for one: the fault proxy and the benchmark's in-process endpoint.
import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";

/** The AWS JSON 1.1 error shape: the SDK reads the class name from x-amzn-ErrorType or __type. */
export function sendAwsError(
  res: ServerResponse,
  status: number,
  name: string,
  message: string,
): void {
  const body = JSON.stringify({ __type: name, message });
  res.writeHead(status, {
    "content-type": "application/x-amz-json-1.1",
    "content-length": Buffer.byteLength(body),
    "x-amzn-errortype": name,
    "x-amzn-requestid": randomUUID(),
  });
  res.end(body);
}
