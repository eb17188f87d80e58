// Puts the secured /metrics together: the certificate (mounted or
// self-signed), the access check with the API server's reviews, and the reload
// of a mounted certificate when its Secret changes.
import type { Logger } from "../logger.ts";
import { systemClock } from "../util/clock.ts";
import { MetricsAccess, type AccessReviewer } from "./access.ts";
import { serveMetrics, type AnyServer, type Bind } from "./server.ts";
import { servingCertificate, watchServingCertificate } from "./serving-cert.ts";
import type { Registry } from "prom-client";
import type { AddressInfo } from "node:net";

export interface MetricsSecurity {
  reviewer: AccessReviewer;
  /** Holds tls.crt and tls.key; a self-signed certificate when undefined. */
  certDir: string | undefined;
}

export async function serveSecureMetrics(
  registry: Registry,
  bind: Bind,
  security: MetricsSecurity,
  log: Logger,
): Promise<{ server: AnyServer; address: AddressInfo; stop: () => void }> {
  const tls = await servingCertificate(security.certDir);
  const access = new MetricsAccess(security.reviewer, systemClock, {}, (err) => {
    log.warn({ err: String(err) }, "could not review a metrics scrape's token");
  });
  const { server, address } = await serveMetrics(registry, bind, { tls, access });
  log.info(
    { certificate: tls.source, certDir: security.certDir },
    "metrics need a token that may get /metrics",
  );
  const { certDir } = security;
  const stop =
    certDir === undefined || !("setSecureContext" in server)
      ? () => undefined
      : watchServingCertificate(
          certDir,
          tls,
          (pair) => {
            server.setSecureContext(pair);
            log.info({ certDir }, "reloaded the metrics serving certificate");
          },
          (err) => {
            log.warn({ err: String(err) }, "kept the metrics serving certificate");
          },
        );
  return { server, address, stop };
}
