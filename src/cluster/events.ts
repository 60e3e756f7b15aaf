// Kubernetes Events for what the reconciler does, so that `kubectl get events -n NS` tells a project
// admin why a NetworkPolicy appeared, changed or vanished. Best effort: an Event that cannot be
// written is logged, never a reason to fail the reconcile.
import { hostname } from "node:os";
import type { Logger } from "pino";
import { paths, type KubeClient } from "../kube/client.ts";

export interface PolicyEvent {
  namespace: string;
  policy: string;
  reason:
    | "IsolationPolicyCreated"
    | "IsolationPolicyRestored"
    | "IsolationPolicyDeleted"
    | "InjectedRuleAdded"
    | "InjectedRuleUpdated"
    | "InjectedRuleRemoved";
  message: string;
}

export async function recordEvent(client: KubeClient, log: Logger, event: PolicyEvent): Promise<void> {
  await recordObjectEvent(client, log, {
    namespace: event.namespace,
    involvedObject: {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      name: event.policy,
      namespace: event.namespace,
    },
    reason: event.reason,
    message: event.message,
  });
}

/** An Event about any object, in `namespace` (the API server wants it to be the object's own). */
export async function recordObjectEvent(
  client: KubeClient,
  log: Logger,
  event: {
    namespace: string;
    involvedObject: { apiVersion: string; kind: string; name: string; namespace: string };
    reason: string;
    message: string;
  },
): Promise<void> {
  const now = new Date().toISOString();
  try {
    await client.create(paths.events(event.namespace), {
      apiVersion: "v1",
      kind: "Event",
      metadata: { generateName: `${event.involvedObject.name}.`, namespace: event.namespace },
      involvedObject: event.involvedObject,
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
