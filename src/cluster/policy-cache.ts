// Every NetworkPolicy of the cluster in memory, as compact records (namespace, name, version, the
// spec, and the two markers netfence reads), indexed by namespace. The reconciler reads it to find
// drift; it is built to be shared with anything else that needs the cluster's policies (the impact
// warnings), so it keeps the whole spec and nothing of the metadata it does not use.
import type { z } from "zod";
import { NetworkPolicySchema, type NetworkPolicy, type NetworkPolicySpecSchema } from "../kube-objects.ts";
import { INJECTED_ANNOTATION, MANAGED_BY, MANAGED_BY_LABEL } from "../names.ts";
import { paths, type KubeClient } from "../kube/client.ts";
import { WatchCache, type CacheOptions } from "./watch-cache.ts";

export interface PolicyRecord {
  namespace: string;
  name: string;
  resourceVersion: string;
  /** Labelled `app.kubernetes.io/managed-by: netfence`. */
  managed: boolean;
  /** The value of the `netfence.io/injected-ingress-namespaces` annotation, when present. */
  injectedAnnotation: string | undefined;
  spec: z.output<typeof NetworkPolicySpecSchema>;
}

export function policyRecord(policy: NetworkPolicy): PolicyRecord | undefined {
  const metadata = policy.metadata;
  if (metadata?.name === undefined || metadata.namespace === undefined) return undefined;
  return {
    namespace: metadata.namespace,
    name: metadata.name,
    resourceVersion: String(metadata["resourceVersion"] ?? ""),
    managed: metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY,
    injectedAnnotation: metadata.annotations?.[INJECTED_ANNOTATION],
    spec: policy.spec,
  };
}

/** Keyed by `namespace/name`. */
export class PolicyCache extends WatchCache<NetworkPolicy, PolicyRecord> {
  private readonly byNamespace = new Map<string, Map<string, PolicyRecord>>();

  constructor(client: KubeClient, options: CacheOptions) {
    const { metrics } = options;
    super({
      what: "NetworkPolicy",
      client,
      path: paths.networkPolicies,
      schema: NetworkPolicySchema,
      keyOf: (policy) =>
        policy.metadata?.namespace === undefined || policy.metadata.name === undefined
          ? undefined
          : `${policy.metadata.namespace}/${policy.metadata.name}`,
      toRecord: policyRecord,
      ...options,
      onSyncedChange: (synced) => metrics.policyCacheSynced.set(synced ? 1 : 0),
      onRestart: () => metrics.informerRestarts.inc(),
    });
    // Registered first, so that every other listener sees the index already updated.
    this.onChange((_key, record, previous) => {
      const { namespace, name } = (record ?? previous)!;
      let policies = this.byNamespace.get(namespace);
      if (record !== undefined) {
        if (policies === undefined) this.byNamespace.set(namespace, (policies = new Map()));
        policies.set(name, record);
      } else if (policies !== undefined) {
        policies.delete(name);
        if (policies.size === 0) this.byNamespace.delete(namespace);
      }
      metrics.policyCacheSize.set(this.size);
    });
  }

  inNamespace(namespace: string): PolicyRecord[] {
    return [...(this.byNamespace.get(namespace)?.values() ?? [])];
  }
}
