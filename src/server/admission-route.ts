// The shared shape of /validate and /mutate: parse the envelope at the edge, decide, answer, count.
import type { FastifyInstance } from "fastify";
import { admit, type AdmissionPolicy, type Webhook } from "../admission/handle.ts";
import type { AdmitPool } from "./admit-pool.ts";
import { parseAdmissionReview } from "../admission/review.ts";
import type { Metrics } from "../metrics.ts";
import { errorBody } from "./errors.ts";

export interface Offload {
  /** Bodies larger than this are decided by a worker thread. */
  aboveBytes: number;
  /** The bytes of each such body, kept by the app's JSON parser for the worker. */
  bodies: WeakMap<object, Uint8Array>;
  pool: AdmitPool;
}

export function admissionRoute(
  app: FastifyInstance,
  options: { path: string; webhook: Webhook; policy: AdmissionPolicy; metrics: Metrics; offload: Offload },
) {
  const { path, webhook, policy, metrics, offload } = options;
  app.post(path, async (req, reply) => {
    const parsed = parseAdmissionReview(req.body);
    if (!parsed.ok) {
      metrics.badRequests.inc({ status: "400" });
      req.log.info({ webhook, problem: parsed.error }, "refused a body that is not an AdmissionReview");
      return reply.code(400).send(errorBody("NOT_ADMISSION_REVIEW", parsed.error));
    }
    const request = parsed.request;
    const started = process.hrtime.bigint();
    let admission;
    const body = offload.bodies.get(req);
    if (body !== undefined) {
      const { readKubeProxyConfig: _, ...context } = policy.contextFor(request.namespace);
      // The impact check needs this thread's caches and would hold it for as long as the object is large.
      const impact =
        webhook === "validate"
          ? (policy.impact?.(
              request,
              `the request is over ${Math.round(offload.aboveBytes / 1024)} KiB, too large to check here`,
            ) ?? [])
          : [];
      admission = await offload.pool.run({ webhook, body, impact, context, actions: policy.actions });
    } else {
      admission = admit(webhook, request, policy);
    }
    const { kind, decision, findingCounts, review } = admission;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics.admissionDuration.observe({ webhook }, seconds);
    // The kind label takes only the kinds netfence knows: any client may send any string.
    metrics.admissionRequests.inc({ webhook, kind, operation: request.operation, decision });
    for (const [key, count] of Object.entries(findingCounts)) {
      const [rule, action] = key.split(":") as [string, string];
      metrics.findings.inc({ rule, action }, count);
    }
    if (decision === "patched") metrics.injections.inc();
    // No child logger per request: pino's child() serializes its bindings through the redaction
    // paths on every call, which costs more than the decision itself; the uid goes in the line instead.
    const denyOrWarn = decision === "denied" || decision === "warned";
    // Fastify's no-op logger (no `logger` given) has no isLevelEnabled; its calls cost nothing anyway.
    const log = req.log as typeof req.log & { isLevelEnabled?: (level: string) => boolean };
    const enabled = (level: "info" | "debug") => log.isLevelEnabled === undefined || log.isLevelEnabled(level);
    if (enabled(denyOrWarn ? "info" : "debug")) {
      const summary = {
        uid: request.uid,
        webhook,
        kind: request.kind,
        namespace: request.namespace,
        name: request.name,
        operation: request.operation,
        decision,
        dryRun: request.dryRun,
      };
      // Counts per rule, like the response: 100,000 bad peers must not make a 1.3 MB log line.
      if (denyOrWarn) req.log.info({ ...summary, rules: findingCounts }, "admission decision");
      else req.log.debug(summary, "admission decision");
    }
    return review;
  });
}
