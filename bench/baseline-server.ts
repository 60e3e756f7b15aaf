// The floor of the benchmark: what Node.js and Fastify cost to take an AdmissionReview over HTTPS,
// parse it and answer it, with no admission logic at all. Every request gets "allowed" (with the
// request's uid, which the apiserver requires and which costs nothing to echo).
//
// The server settings are netfence's, copied from src/server/app.ts (buildApp) on purpose rather than
// imported: importing app.ts would load netfence's rule engine, zod, prom-client and pino into the
// baseline and make its memory figure no floor. bench/run.ts checks before measuring that both servers
// negotiate the same TLS version and cipher and refuse TLS 1.1.
//
//   node bench/baseline-server.ts --cert FILE --key FILE --port N [--host 127.0.0.1] [--body-limit BYTES]
import Fastify, { type FastifyServerOptions } from "fastify";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    cert: { type: "string" },
    key: { type: "string" },
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: "0" },
    "body-limit": { type: "string", default: String(3 * 1024 * 1024) },
  },
});
if (values.cert === undefined || values.key === undefined) {
  process.stderr.write("usage: node bench/baseline-server.ts --cert FILE --key FILE --port N [--body-limit BYTES]\n");
  process.exit(2);
}

// As buildApp: the same Fastify options, minus the logger (the floor logs nothing).
const serverOptions: FastifyServerOptions = {
  bodyLimit: Number(values["body-limit"]),
  requestTimeout: 10_000,
  keepAliveTimeout: 30_000,
  return503OnClosing: true,
  forceCloseConnections: "idle",
  logger: false,
};
// As buildApp: the same https.createServer options.
const https = {
  cert: readFileSync(values.cert),
  key: readFileSync(values.key),
  minVersion: "TLSv1.2" as const,
  headersTimeout: 5_000,
  connectionsCheckingInterval: 1_000,
};
const app = Fastify({ ...serverOptions, https } as FastifyServerOptions);

interface Review {
  request?: { uid?: unknown };
}

let answered = 0;
const allow = async (req: { body: unknown }) => {
  answered++;
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: { uid: (req.body as Review | null)?.request?.uid ?? "", allowed: true },
  };
};
app.post("/validate", allow);
app.post("/mutate", allow);
app.get("/healthz", async () => ({ status: "ok" }));
// How many reviews it has answered: bench/e2e.ts waits on it to know kube-apiserver calls it.
app.get("/answered", async () => ({ answered }));

await app.listen({ host: values.host, port: Number(values.port) });
const address = app.server.address();
process.stdout.write(
  `${JSON.stringify({ listening: typeof address === "object" && address !== null ? address.port : undefined })}\n`,
);

const stop = () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
