import type { FastifyInstance } from "fastify";

export type Readiness = () => { ready: boolean; reason?: string };

/** /healthz: the process answers. /readyz: it can decide correctly (cache synced, not shutting down). */
export function registerHealthRoutes(app: FastifyInstance, readiness: Readiness) {
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_req, reply) => {
    const state = readiness();
    if (!state.ready) return reply.code(503).send({ status: "not ready", reason: state.reason });
    return { status: "ready" };
  });
}
