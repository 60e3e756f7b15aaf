// From Kubernetes objects to the impact check's input, the way the webhook's caches build it.
import type { NamespaceInfo, PolicyInput } from "../../src/connectivity/index.ts";
import { NetworkPolicySchema } from "../../src/kube-objects.ts";
import { podRecordOf } from "../../src/cluster/workload-cache.ts";
import { impactClusterOf, type ImpactCluster, type PodRecord } from "../../src/impact/model.ts";
import { NAMESPACE_NAME_LABEL } from "../../src/names.ts";

export const policyInput = (object: unknown): PolicyInput => {
  const policy = NetworkPolicySchema.parse(object);
  return { namespace: policy.metadata!.namespace!, name: policy.metadata!.name!, policy };
};

export function impactCluster(objects: readonly any[]): ImpactCluster {
  const namespaces: NamespaceInfo[] = objects
    .filter((o) => o.kind === "Namespace")
    .map((o) => ({ name: o.metadata.name, labels: { ...o.metadata.labels, [NAMESPACE_NAME_LABEL]: o.metadata.name } }));
  const pods = objects.filter((o) => o.kind === "Pod").flatMap((o) => podRecordOf(o) ?? []) as PodRecord[];
  const policies = objects.filter((o) => o.kind === "NetworkPolicy").map(policyInput);
  return impactClusterOf(namespaces, pods, policies);
}

/** Pods of a Deployment: ReplicaSet `NAME-HASH` controls them, as the API server shows it. */
export const replica = (
  ns: string,
  deployment: string,
  index: number,
  options: {
    labels?: Record<string, string>;
    ip?: string;
    ports?: { name: string; containerPort: number; protocol?: string }[];
  } = {},
) => {
  const hash = "5d9f8b7c6";
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `${deployment}-${hash}-${index}`,
      namespace: ns,
      labels: { ...options.labels, "pod-template-hash": hash },
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "ReplicaSet", name: `${deployment}-${hash}`, uid: "u", controller: true },
      ],
    },
    spec: { containers: [{ name: "main", image: "x", ports: options.ports ?? [] }] },
    status: { phase: "Running", ...(options.ip ? { podIP: options.ip, podIPs: [{ ip: options.ip }] } : {}) },
  };
};
