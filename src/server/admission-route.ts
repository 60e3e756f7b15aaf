// The shared shape of /validate and /mutate: parse the envelope at the edge, decide, answer, count.
import type { FastifyInstance } from "fastify";
import { admit, type AdmissionPolicy, type Webhook } from "../admission/handle.ts";
import { parseAdmissionReview } from "../admission/review.ts";
import type { Metrics } from "../metrics.ts";
import { errorBody } from "./errors.ts";

export function admissionRoute(app: FastifyInstance, options: { path: string; webhook: Webhook; policy: AdmissionPolicy; metrics: Metrics }) {
  const { path, webhook, policy, metrics } = options;
  app.post(path, async (req, reply) => {
    const parsed = parseAdmissionReview(req.body);
    if (!parsed.ok) {
      metrics.badRequests.inc({ status: "400" });
      req.log.info({ webhook, problem: parsed.error }, "refused a body that is not an AdmissionReview");
      return reply.code(400).send(errorBody("NOT_ADMISSION_REVIEW", parsed.error));
    }
    const request = parsed.request;
    const started = process.hrtime.bigint();
    const { kind, verdict, decision, review } = admit(webhook, request, policy);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics.admissionDuration.observe({ webhook }, seconds);
    // The kind label takes only the kinds netfence knows: any client may send any string.
    metrics.admissionRequests.inc({ webhook, kind, operation: request.operation, decision });
    for (const f of verdict.findings) metrics.findings.inc({ rule: f.ruleId, action: f.action });
    if (decision === "patched") metrics.injections.inc();
    // No child logger per request: pino's child() serializes its bindings through the redaction
    // paths on every call, which costs more than the decision itself; the uid goes in the line instead.
    const denyOrWarn = decision === "denied" || decision === "warned";
    // Fastify's no-op logger (no `logger` given) has no isLevelEnabled; its calls cost nothing anyway.
    const log = req.log as typeof req.log & { isLevelEnabled?: (level: string) => boolean };
    const enabled = (level: "info" | "debug") => log.isLevelEnabled === undefined || log.isLevelEnabled(level);
    if (enabled(denyOrWarn ? "info" : "debug")) {
      const summary = { uid: request.uid, webhook, kind: request.kind, namespace: request.namespace, name: request.name, operation: request.operation, decision, dryRun: request.dryRun };
      if (denyOrWarn) req.log.info({ ...summary, rules: verdict.findings.map((f) => `${f.ruleId}:${f.action}`) }, "admission decision");
      else req.log.debug(summary, "admission decision");
    }
    return review;
  });
}
