// Certificate rotation and graceful shutdown, both under load, over real sockets.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect } from "node:tls";
import t from "tap";
import { stringify } from "yaml";
import { generateCertificates } from "../../src/server/certificates.ts";
import { admissionReview, ingressFromCidr } from "../helpers/review.ts";
import { freePort } from "../e2e/harness.ts";
import { peerFingerprint, post, realServer, tlsFiles } from "../helpers/server.ts";

t.test("rotating the certificate under a steady stream of requests fails none of them", async (t) => {
  const { server, files } = await realServer();
  t.teardown(() => server.close());
  const next = await generateCertificates();
  const trusted = [files.certs.caCert, next.caCert];
  const before = await peerFingerprint(server.port, trusted);
  const body = JSON.stringify(admissionReview("NetworkPolicy", ingressFromCidr("10.0.0.1/8")));
  let ok = 0;
  const failures: string[] = [];
  let running = true;
  const worker = async () => {
    while (running) {
      // A new connection per request, so that every handshake picks the current certificate.
      const res = await post(server.port, trusted as unknown as string, "/validate", body, {
        connection: "close",
      }).catch((e: Error) => ({ status: 0, body: e.message }));
      if (res.status === 200 && JSON.parse(res.body).response.allowed === false) ok++;
      else failures.push(`${res.status} ${res.body.slice(0, 100)}`);
    }
  };
  const workers = Array.from({ length: 4 }, worker);
  // Counted in requests, not seconds, so that a loaded machine only makes the test slower: 20 answered
  // before the rotation, and 20 more once new connections get the new certificate.
  const answered = async (count: number) => {
    while (ok < count && failures.length === 0) await new Promise((r) => setTimeout(r, 20));
  };
  await answered(20);
  writeFileSync(files.keyFile, next.key);
  await new Promise((r) => setTimeout(r, 150));
  writeFileSync(files.certFile, next.cert);
  let after = before;
  for (let i = 0; i < 300 && after === before; i++) {
    await new Promise((r) => setTimeout(r, 100));
    after = await peerFingerprint(server.port, trusted);
  }
  await answered(ok + 20);
  running = false;
  await Promise.all(workers);
  t.same(failures, [], "no request failed");
  t.ok(ok >= 40, `${ok} requests answered, on both sides of the rotation`);
  t.not(after, before, "new connections present the new certificate");
  t.equal(after, await peerFingerprint(server.port, [next.caCert]), "signed by the new CA");
  t.comment(`rotation under load: ${ok} requests, ${failures.length} failed`);
});

t.test("SIGTERM under load: in-flight requests are answered, new ones refused, exit 0", async (t) => {
  const files = await tlsFiles();
  const port = await freePort();
  const configFile = join(files.dir, "config.yaml");
  writeFileSync(
    configFile,
    stringify({
      listen: { port },
      tls: { certFile: files.certFile, keyFile: files.keyFile },
      shutdownGraceSeconds: 10,
      logLevel: "info",
    }),
  );
  const child = spawn(
    process.execPath,
    [new URL("../../src/cli.ts", import.meta.url).pathname, "serve", "--config", configFile],
    { env: { ...process.env, KUBECONFIG: "" } },
  );
  let logs = "";
  child.stdout.on("data", (d) => (logs += d));
  child.stderr.on("data", (d) => (logs += d));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    child.on("exit", (code) => resolve({ code, at: Date.now() })),
  );
  const ca = files.certs.caCert;
  // Up to 60 s: on a loaded machine, starting Node and loading the sources alone can take over 10 s.
  for (let i = 0; i < 600 && !/netfence is serving/.test(logs); i++) await new Promise((r) => setTimeout(r, 100));

  const inFlight = 10;
  const body = JSON.stringify(admissionReview("NetworkPolicy", ingressFromCidr("10.0.0.1/8")));
  const sockets = await Promise.all(
    Array.from(
      { length: inFlight },
      () =>
        new Promise<import("node:tls").TLSSocket>((resolve, reject) => {
          const socket = connect({ host: "127.0.0.1", port, ca, servername: "localhost" }, () => {
            // Headers and half the body: the request is in flight when SIGTERM arrives.
            socket.write(
              `POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 100)}`,
            );
            resolve(socket);
          });
          socket.on("error", reject);
        }),
    ),
  );
  const answers = sockets.map(
    (socket) =>
      new Promise<string>((resolve) => {
        let data = "";
        socket.on("data", (chunk) => (data += chunk));
        socket.on("close", () => resolve(data));
        socket.on("error", () => resolve(data));
      }),
  );
  await new Promise((r) => setTimeout(r, 200));
  const signalled = Date.now();
  child.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 300));
  const refused = await post(port, ca, "/healthz", "").then(
    (res) => `answered ${res.status}`,
    (error: NodeJS.ErrnoException) => error.code ?? error.message,
  );
  for (const socket of sockets) socket.write(body.slice(100));
  const responses = await Promise.all(answers);
  const { code, at } = await exited;
  const answered = responses.filter((r) => /^HTTP\/1\.1 200/.test(r) && /"allowed":false/.test(r)).length;
  t.equal(answered, inFlight, `${answered} of ${inFlight} in-flight requests answered`);
  t.equal(refused, "ECONNREFUSED", "a new connection is refused once shutdown began");
  t.equal(code, 0, "exit code 0");
  t.ok(at - signalled < 10_000, `exited ${at - signalled} ms after SIGTERM, within the grace period`);
  t.match(logs, /shutting down: finishing in-flight requests/);
  t.comment(
    `shutdown under load: ${answered}/${inFlight} in-flight answered, lost 0, exit ${code} after ${at - signalled} ms`,
  );
});

t.test("SIGTERM still exits 0 when the reader of stdout is gone (a dead supervisor)", async (t) => {
  const child = spawn(process.execPath, [new URL("../../src/cli.ts", import.meta.url).pathname, "serve"], {
    env: {
      ...process.env,
      NETFENCE_LISTEN_PORT: "0",
      NETFENCE_LOG_LEVEL: "debug",
      KUBECONFIG: "",
      NETFENCE_CONFIG: "",
    },
    stdio: ["ignore", "pipe", "ignore"],
  });
  let logs = "";
  child.stdout.on("data", (d) => (logs += d));
  // Up to 60 s: on a loaded machine, starting Node and loading the sources alone can take over 10 s.
  for (let i = 0; i < 600 && !/netfence is serving/.test(logs); i++) await new Promise((r) => setTimeout(r, 100));
  child.stdout.destroy();
  await new Promise((r) => setTimeout(r, 200));
  const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
  child.kill("SIGTERM");
  const timeout = new Promise<string>((resolve) =>
    setTimeout(() => resolve("still running after 15 s"), 15_000).unref(),
  );
  const result = await Promise.race([exited, timeout]);
  if (result === "still running after 15 s") child.kill("SIGKILL");
  t.equal(result, 0);
});
