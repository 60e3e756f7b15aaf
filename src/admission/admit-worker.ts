// The worker side of the pool that answers large AdmissionReviews off the main thread (see
// server/admission-route.ts): it parses the body, asks the main thread what only its caches know
// (the namespace's rule context, the impact findings), and decides with the same `admit`.
import { kubeProxyConfigReader } from "../rules/kubeproxy.ts";
import { askMainThread } from "./ask-main-thread.ts";
import { admit, type AdmitTask, type WorkerAnswer, type WorkerOutcome, type WorkerQuestion } from "./handle.ts";
import { parseAdmissionReview } from "./review.ts";

const readKubeProxyConfig = kubeProxyConfigReader();

export default function admitInWorker({ webhook, body, actions, channel }: AdmitTask): WorkerOutcome {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString();
  let json: unknown;
  try {
    // As Fastify's JSON parser (secure-json-parse) reads a body: a leading byte-order mark is skipped.
    json = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    return { ok: false, problem: "invalid-json" };
  }
  const parsed = parseAdmissionReview(json);
  if (!parsed.ok) return { ok: false, problem: "not-admission-review", error: parsed.error };
  const { object: _object, oldObject: _oldObject, ...question } = parsed.request;
  const { context, impact } = askMainThread<WorkerQuestion, WorkerAnswer>(channel, question);
  const withReader = { ...context, readKubeProxyConfig };
  const admission = admit(webhook, parsed.request, { actions, contextFor: () => withReader, impact: () => impact });
  return { ok: true, request: question, admission };
}
