// The worker side of the pool that answers large AdmissionReviews off the main thread (see
// server/admission-route.ts): the same `admit`, with the rule context sent as plain data.
import { kubeProxyConfigReader } from "../rules/kubeproxy.ts";
import { admit, type AdmitTask, type Admission } from "./handle.ts";
import { parseAdmissionReview } from "./review.ts";

const readKubeProxyConfig = kubeProxyConfigReader();

export default function admitInWorker({ webhook, body, impact, context, actions }: AdmitTask): Admission {
  // The main thread has parsed and checked these same bytes before sending them.
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString();
  const parsed = parseAdmissionReview(JSON.parse(text));
  if (!parsed.ok) throw new Error(`the body the main thread accepted is not an AdmissionReview: ${parsed.error}`);
  const withReader = { ...context, readKubeProxyConfig };
  return admit(webhook, parsed.request, { actions, contextFor: () => withReader, impact: () => impact });
}
