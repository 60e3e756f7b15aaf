// Kubernetes Events for what the reconciler does, so that `kubectl get events -n NS` tells a project
// admin why a NetworkPolicy appeared or vanished. Best effort: an Event that cannot be written is
// logged, never a reason to fail the reconcile.
import { hostname } from "node:os";
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { postJson } from "../kube/raw-api.ts";

export interface PolicyEvent {
  namespace: string;
  policy: string;
  reason: "IsolationPolicyCreated" | "IsolationPolicyDeleted";
  message: string;
}

export async function recordEvent(config: KubeConfig, log: Logger, event: PolicyEvent): Promise<void> {
  const now = new Date().toISOString();
  try {
    await postJson(config, `/api/v1/namespaces/${encodeURIComponent(event.namespace)}/events`, {
      apiVersion: "v1",
      kind: "Event",
      metadata: { generateName: `${event.policy}.`, namespace: event.namespace },
      involvedObject: { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", name: event.policy, namespace: event.namespace },
      reason: event.reason,
      message: event.message,
      type: "Normal",
      source: { component: "netfence" },
      reportingComponent: "netfence",
      reportingInstance: hostname(),
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    });
  } catch (error) {
    log.debug({ err: { message: (error as Error).message }, namespace: event.namespace }, "could not record an Event");
  }
}
