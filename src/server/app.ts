// The Fastify app, built as a function of its dependencies; serve.ts listens and watches the
// certificate, cli.ts handles signals. Tests build it with `buildApp` and drive it with `app.inject`.
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from "fastify";
import type { Logger } from "pino";
import type { AdmissionPolicy } from "../admission/handle.ts";
import { createMetrics, type Metrics } from "../metrics.ts";
import { admitPool } from "./admit-pool.ts";
import { admissionRoute, LargeBody } from "./admission-route.ts";
import { errorBody } from "./errors.ts";
import { registerHealthRoutes, type Readiness } from "./health.ts";

export interface AppOptions {
  policy: AdmissionPolicy;
  bodyLimitBytes: number;
  readiness?: Readiness;
  metrics?: Metrics;
  logger?: Logger;
  https?: { cert: string | Buffer; key: string | Buffer };
  /** Bodies larger than this are decided off the main thread (default 256 KiB). */
  offloadAboveBytes?: number;
}

export const TLS_MIN_VERSION = "TLSv1.2";
const TLS_HANDSHAKE_TIMEOUT_MS = 5_000;

export function buildApp(options: AppOptions): FastifyInstance {
  const metrics = options.metrics ?? createMetrics({ processMetrics: false });
  const serverOptions: FastifyServerOptions = {
    bodyLimit: options.bodyLimitBytes,
    // One log line per admission decision (with the uid) is written by the route, not by Fastify.
    logController: new LogController({ disableRequestLogging: true }),
    // A client that trickles its request cannot hold a socket for long; the apiserver sends at once.
    requestTimeout: 10_000,
    keepAliveTimeout: 30_000,
    return503OnClosing: true,
    forceCloseConnections: "idle",
    // A `__proto__` or `constructor` key is legal in Kubernetes objects (a ConfigMap data key): JSON.parse
    // makes it an own property, which is harmless because nothing merges request objects into others.
    onProtoPoisoning: "ignore",
    onConstructorPoisoning: "ignore",
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
  };
  const https = options.https && {
    ...options.https,
    minVersion: TLS_MIN_VERSION,
    // https.createServer takes http.Server options too: a slow client gets 5 s to send its headers,
    // and the timeouts are checked every second instead of every 30.
    headersTimeout: 5_000,
    // The header timeout only starts once TLS is up: without this, a connection that never sends a
    // ClientHello is held for Node's default of 120 s.
    handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS,
    connectionsCheckingInterval: 1_000,
  };
  // Routes do not depend on the server type, so one instance type serves HTTPS and the tests' HTTP.
  const app = Fastify({
    ...serverOptions,
    ...(https ? { https } : {}),
  } as FastifyServerOptions) as unknown as FastifyInstance;

  // Once close() is called, answers to requests still in flight close their connection, so that
  // keep-alive clients reconnect elsewhere and close() does not wait out the keep-alive timeout.
  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  app.addHook("onSend", async (_req, reply) => {
    if (closing) reply.header("connection", "close");
  });

  // Only JSON is an AdmissionReview: Fastify's built-in text/plain parser would turn a text body into a
  // string and a 400, where the answer to a wrong content type is a 415.
  app.removeContentTypeParser("text/plain");
  // Two threads: one large request per core, while the main thread keeps answering the rest.
  const offload = { aboveBytes: options.offloadAboveBytes ?? 256 * 1024, pool: admitPool({ maxThreads: 2 }) };
  app.addHook("onClose", () => offload.pool.close());
  // Fastify's own JSON parser, given the bytes rather than the text: a large body is not parsed here
  // at all but handed to a worker thread as it came (whatever its content-length header said).
  const parseJson = app.getDefaultJsonParser("ignore", "ignore");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (req, body, done) => {
    const bytes = body as Buffer;
    if (bytes.length > offload.aboveBytes) return done(null, new LargeBody(bytes));
    parseJson(req, bytes.toString(), done);
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, req, reply) => {
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      metrics.badRequests.inc({ status: String(status) });
      const message =
        status === 415
          ? `content-type must be application/json, not ${JSON.stringify(req.headers["content-type"] ?? "")}`
          : error.message;
      req.log.info({ status, code: error.code }, `refused request: ${message}`);
      return reply.code(status).send(errorBody(error.code ?? "BAD_REQUEST", message));
    }
    req.log.error({ err: error }, "internal error");
    return reply.code(500).send(errorBody("INTERNAL", "internal error; see the netfence logs"));
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send(errorBody("NOT_FOUND", `no route ${req.method} ${req.url}`)),
  );

  admissionRoute(app, { path: "/validate", webhook: "validate", policy: options.policy, metrics, offload });
  admissionRoute(app, { path: "/mutate", webhook: "mutate", policy: options.policy, metrics, offload });
  registerHealthRoutes(app, options.readiness ?? (() => ({ ready: true })));
  app.get("/metrics", async (_req, reply) => {
    reply.header("content-type", metrics.registry.contentType);
    return metrics.registry.metrics();
  });
  return app;
}
