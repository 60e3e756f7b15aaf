// A real netfence server on a random port, with its own generated CA, for the socket-level tests.
import { mkdtempSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { connect } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { parseConfig, type ConfigInput } from "../../src/config.ts";
import { startServer } from "../../src/serve.ts";
import { generateCertificates, type CertificateBundle } from "../../src/server/certificates.ts";

export async function tlsFiles(bundle?: CertificateBundle) {
  const dir = mkdtempSync(join(tmpdir(), "netfence-tls-"));
  const certs = bundle ?? (await generateCertificates());
  const certFile = join(dir, "tls.crt");
  const keyFile = join(dir, "tls.key");
  writeFileSync(certFile, certs.cert);
  writeFileSync(keyFile, certs.key);
  return { dir, certFile, keyFile, certs };
}

export async function realServer(config: ConfigInput = {}) {
  const files = await tlsFiles();
  const server = await startServer({
    config: parseConfig({
      listen: { port: 0 },
      tls: { certFile: files.certFile, keyFile: files.keyFile, reloadIntervalSeconds: 0.1 },
      ...config,
    }),
    logger: pino({ level: "silent" }),
  });
  return { server, files, ca: files.certs.caCert };
}

export function post(
  port: number,
  ca: string,
  path: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: "POST",
        ca,
        servername: "localhost",
        headers: { "content-type": "application/json", ...headers },
      },
      (res) => {
        let data = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => (data += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: data }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** The SHA-256 fingerprint of the certificate a new TLS connection is given. */
export function peerFingerprint(port: number, ca: string | string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ca, servername: "localhost" }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.on("error", reject);
  });
}
