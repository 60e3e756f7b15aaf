// The worker side of the pool that answers large AdmissionReviews off the main thread (see
// server/admission-route.ts): the same `admit`, with the rule context sent as plain data.
import { kubeProxyConfigReader } from "../rules/kubeproxy.ts";
import { admit, type AdmitTask, type Admission } from "./handle.ts";

const readKubeProxyConfig = kubeProxyConfigReader();

export default function admitInWorker({ webhook, request, context, actions }: AdmitTask): Admission {
  const withReader = { ...context, readKubeProxyConfig };
  return admit(webhook, request, { actions, contextFor: () => withReader });
}
