// The shared shape of /validate and /mutate: parse the envelope at the edge, decide, answer, count.
import type { FastifyInstance } from "fastify";
import { buildAdmissionResponse, type Verdict } from "../admission/response.ts";
import { parseAdmissionReview, type AdmissionRequest } from "../admission/review.ts";
import { subjectKind } from "../rules/index.ts";
import type { Metrics } from "./metrics.ts";

export type Decide = (request: AdmissionRequest) => Verdict;

export function admissionRoute(app: FastifyInstance, options: { path: string; webhook: string; decide: Decide; metrics: Metrics }) {
  const { path, webhook, decide, metrics } = options;
  app.post(path, async (req, reply) => {
    const parsed = parseAdmissionReview(req.body);
    if (!parsed.ok) {
      metrics.badRequests.inc({ status: "400" });
      req.log.info({ webhook, problem: parsed.error }, "refused a body that is not an AdmissionReview");
      return reply.code(400).send({ error: parsed.error });
    }
    const request = parsed.request;
    const started = process.hrtime.bigint();
    const verdict = decide(request);
    const review = buildAdmissionResponse(request.uid, verdict);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const decision = !review.response.allowed ? "denied" : review.response.patch !== undefined ? "patched" : review.response.warnings ? "warned" : "allowed";
    metrics.admissionDuration.observe({ webhook }, seconds);
    // The kind label takes only the kinds netfence knows: any client may send any string.
    metrics.admissionRequests.inc({ webhook, kind: subjectKind(request.group, request.kind) ?? "other", operation: request.operation, decision });
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
