// Certificate rotation without a restart: the files are polled (a rotated Kubernetes Secret swaps a
// symlink, which inotify watchers miss), validated together, and handed to setSecureContext so that
// new connections present the new certificate while open ones finish on the old.
import { X509Certificate } from "node:crypto";
import { readFileSync, unwatchFile, watchFile } from "node:fs";
import type { Server } from "node:https";
import { createSecureContext } from "node:tls";
import type { Logger } from "pino";
import type { Metrics } from "../metrics.ts";

export interface CertificateFiles {
  certFile: string;
  keyFile: string;
}

export function readCertificate(files: CertificateFiles): { cert: Buffer; key: Buffer } {
  return { cert: readFileSync(files.certFile), key: readFileSync(files.keyFile) };
}

export function describeCertificate(cert: Buffer): { subject: string; notAfter: string; fingerprint256: string } {
  const parsed = new X509Certificate(cert);
  return { subject: parsed.subject, notAfter: parsed.validTo, fingerprint256: parsed.fingerprint256 };
}

export function watchCertificate(
  server: Server,
  files: CertificateFiles,
  /** What the server was started with: a change made since then is picked up by the first poll. */
  served: { cert: Buffer; key: Buffer },
  options: { intervalMs: number; minVersion: "TLSv1.2" | "TLSv1.3"; log: Logger; metrics: Metrics },
): () => void {
  let current = served;
  const reload = () => {
    let next: { cert: Buffer; key: Buffer };
    try {
      next = readCertificate(files);
      if (next.cert.equals(current.cert) && next.key.equals(current.key)) return;
      // Throws when the key does not match the certificate, e.g. when only one file is written yet.
      createSecureContext({ cert: next.cert, key: next.key });
      server.setSecureContext({ cert: next.cert, key: next.key, minVersion: options.minVersion });
    } catch (error) {
      options.metrics.certificateReloads.inc({ result: "error" });
      options.log.warn(
        { err: { message: (error as Error).message } },
        "certificate files changed but cannot be used yet; keeping the current certificate",
      );
      return;
    }
    current = next;
    options.metrics.certificateReloads.inc({ result: "success" });
    options.log.info({ certificate: describeCertificate(next.cert) }, "serving certificate reloaded");
  };
  watchFile(files.certFile, { interval: options.intervalMs }, reload);
  watchFile(files.keyFile, { interval: options.intervalMs }, reload);
  reload();
  return () => {
    unwatchFile(files.certFile, reload);
    unwatchFile(files.keyFile, reload);
  };
}
