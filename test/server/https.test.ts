// The few tests that need real sockets: HTTPS with the generated dev CA and the TLS floor.
// Rotation under load is in lifecycle.test.ts.
import { mkdtempSync, readFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect } from "node:tls";
import t from "tap";
import { parseConfig } from "../../src/config.ts";
import { startServer } from "../../src/serve.ts";
import { pino } from "pino";
import { admissionReview, ingressFromCidr } from "../helpers/review.ts";

const silent = pino({ level: "silent" });

function httpsJson(port: number, ca: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: body ? "POST" : "GET",
        ca,
        headers: { "content-type": "application/json" },
        agent: false,
      },
      (res) => {
        let data = "";
        res.on("data", (chunk) => (data += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(data) }));
      },
    );
    req.on("error", reject);
    req.end(body ? JSON.stringify(body) : undefined);
  });
}

t.test("serve without tls config generates a dev CA and answers over HTTPS", async (t) => {
  const devCertDir = mkdtempSync(join(tmpdir(), "netfence-dev-"));
  const server = await startServer({ config: parseConfig({ listen: { port: 0 }, devCertDir }), logger: silent });
  t.teardown(() => server.close());
  t.ok(server.caFile);
  const ca = readFileSync(server.caFile!, "utf8");
  t.same((await httpsJson(server.port, ca, "/healthz")).json, { status: "ok" });
  const { status, json } = await httpsJson(
    server.port,
    ca,
    "/validate",
    admissionReview("NetworkPolicy", ingressFromCidr("10.0.0.1/8")),
  );
  t.equal(status, 200);
  t.equal(json.response.allowed, false);
  t.match(json.response.status.message, "spec.ingress[0].from[0].ipBlock.cidr");
});

t.test("TLS below 1.2 is refused", async (t) => {
  const devCertDir = mkdtempSync(join(tmpdir(), "netfence-dev-"));
  const server = await startServer({ config: parseConfig({ listen: { port: 0 }, devCertDir }), logger: silent });
  t.teardown(() => server.close());
  const ca = readFileSync(server.caFile!, "utf8");
  await t.rejects(
    new Promise((resolve, reject) => {
      const socket = connect(
        {
          host: "127.0.0.1",
          port: server.port,
          ca,
          maxVersion: "TLSv1.1",
          minVersion: "TLSv1",
          servername: "localhost",
        },
        () => resolve(socket),
      );
      socket.on("error", reject);
    }),
  );
});
