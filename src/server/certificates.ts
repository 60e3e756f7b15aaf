// Dev and test certificates: a CA and a serving certificate signed by it, made with @peculiar/x509
// (WebCrypto, no openssl needed). `serve` uses them when no certificate is configured; the tests
// and the end-to-end harness use them to give kube-apiserver a real caBundle.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { X509Certificate, webcrypto } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export interface CertificateBundle {
  caCert: string;
  cert: string;
  key: string;
}

export interface CertificateRequest {
  commonName?: string;
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
  validDays?: number;
}

function serialNumber(): string {
  return Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
    .toString("hex")
    .replace(/^[89a-f]/, "1");
}

async function exportKey(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(
    await webcrypto.subtle.exportKey("pkcs8", key as unknown as webcrypto.CryptoKey),
    "PRIVATE KEY",
  );
}

export async function generateCertificates(request: CertificateRequest = {}): Promise<CertificateBundle> {
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + (request.validDays ?? 365) * DAY_MS);
  const caKeys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"])) as unknown as CryptoKeyPair;
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: "CN=netfence dev CA",
    notBefore,
    notAfter,
    signingAlgorithm: ALGORITHM,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const servingKeys = (await webcrypto.subtle.generateKey(ALGORITHM, true, [
    "sign",
    "verify",
  ])) as unknown as CryptoKeyPair;
  const dnsNames = request.dnsNames ?? ["localhost"];
  const ipAddresses = request.ipAddresses ?? ["127.0.0.1", "::1"];
  const serving = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${request.commonName ?? dnsNames[0] ?? "netfence"}`,
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingAlgorithm: ALGORITHM,
    publicKey: servingKeys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...dnsNames.map((value) => ({ type: "dns" as const, value })),
        ...ipAddresses.map((value) => ({ type: "ip" as const, value })),
      ]),
      await x509.AuthorityKeyIdentifierExtension.create(ca, false),
    ],
  });
  return { caCert: ca.toString("pem"), cert: serving.toString("pem"), key: await exportKey(servingKeys.privateKey) };
}

export interface DevCertificateFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
  created: boolean;
}

const RENEW_BEFORE_MS = 7 * DAY_MS;

function usable(certFile: string): boolean {
  try {
    const cert = new X509Certificate(readFileSync(certFile));
    return Date.parse(cert.validTo) - Date.now() > RENEW_BEFORE_MS;
  } catch {
    return false;
  }
}

/** Reuses the dev certificates in `dir` while they are valid, so the printed CA stays stable. */
export async function ensureDevCertificates(dir: string): Promise<DevCertificateFiles> {
  const files = { caFile: join(dir, "ca.crt"), certFile: join(dir, "tls.crt"), keyFile: join(dir, "tls.key") };
  if (existsSync(files.caFile) && existsSync(files.keyFile) && usable(files.certFile))
    return { ...files, created: false };
  const bundle = await generateCertificates();
  mkdirSync(dir, { recursive: true });
  writeFileSync(files.caFile, `${bundle.caCert}\n`);
  writeFileSync(files.certFile, `${bundle.cert}\n${bundle.caCert}\n`);
  writeFileSync(files.keyFile, bundle.key, { mode: 0o600 });
  chmodSync(files.keyFile, 0o600);
  return { ...files, created: true };
}
