// The shared shape of /validate and /mutate: parse the envelope at the edge, decide, answer, count.
import { errorCodes, type FastifyInstance } from "fastify";
import { admit, type Admission, type AdmissionPolicy, type Webhook, type WorkerQuestion } from "../admission/handle.ts";
import { parseAdmissionReview } from "../admission/review.ts";
import type { Metrics } from "../metrics.ts";
import type { AdmitPool } from "./admit-pool.ts";
import { errorBody } from "./errors.ts";

/** A body too large to parse on the event loop: the app's JSON parser keeps its bytes for a worker thread. */
export class LargeBody {
  readonly bytes: Buffer;
  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }
}

export interface Offload {
  /** Bodies larger than this are parsed and decided by a worker thread. */
  aboveBytes: number;
  pool: AdmitPool;
}

export function admissionRoute(
  app: FastifyInstance,
  options: { path: string; webhook: Webhook; policy: AdmissionPolicy; metrics: Metrics; offload: Offload },
) {
  const { path, webhook, policy, metrics, offload } = options;
  const tooLarge = `the request is over ${Math.round(offload.aboveBytes / 1024)} KiB, too large to check here`;
  app.post(path, async (req, reply) => {
    const refuse = (problem: string) => {
      metrics.badRequests.inc({ status: "400" });
      req.log.info({ webhook, problem }, "refused a body that is not an AdmissionReview");
      return reply.code(400).send(errorBody("NOT_ADMISSION_REVIEW", problem));
    };
    const started = process.hrtime.bigint();
    let request: WorkerQuestion;
    let admission: Admission;
    if (req.body instanceof LargeBody) {
      const outcome = await offload.pool.run({ webhook, body: req.body.bytes, actions: policy.actions }, (question) => {
        const { readKubeProxyConfig: _, ...context } = policy.contextFor(question.namespace);
        // The impact check needs this thread's caches and would hold it for as long as the object is large.
        const impact =
          webhook === "validate"
            ? (policy.impact?.({ ...question, object: undefined, oldObject: undefined }, tooLarge) ?? [])
            : [];
        return { context, impact };
      });
      if (!outcome.ok) {
        // The same answers as a small body's: Fastify's for invalid JSON, the route's for the rest.
        if (outcome.problem === "invalid-json") throw new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY();
        return refuse(outcome.error);
      }
      ({ request, admission } = outcome);
    } else {
      const parsed = parseAdmissionReview(req.body);
      if (!parsed.ok) return refuse(parsed.error);
      request = parsed.request;
      admission = admit(webhook, parsed.request, policy);
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
