// Every NetworkPolicy of the cluster in memory, as compact records (namespace, name, version, the
// spec, and the two markers netfence reads), indexed by namespace. The reconciler reads it to find
// drift; it is built to be shared with anything else that needs the cluster's policies (the impact
// warnings), so it keeps the whole spec and nothing of the metadata it does not use.
import type { Logger } from "pino";
import { NetworkPolicySchema, type NetworkPolicy, type NetworkPolicySpecSchema } from "../kube-objects.ts";
import { INJECTED_ANNOTATION, MANAGED_BY, MANAGED_BY_LABEL } from "../names.ts";
import type { Metrics } from "../metrics.ts";
import { paths, type KubeClient } from "../kube/client.ts";
import { WatchCache } from "./watch-cache.ts";
import type { z } from "zod";

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

export type PolicyListener = (namespace: string, name: string, record: PolicyRecord | undefined, previous: PolicyRecord | undefined) => void;

export interface PolicyCacheOptions {
  log: Logger;
  metrics: Metrics;
  staleAfterMs: number;
  backoff?: { initialMs: number; maxMs: number };
  now?: () => number;
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

export class PolicyCache {
  private readonly cache: WatchCache<NetworkPolicy, PolicyRecord>;
  private readonly byNamespace = new Map<string, Map<string, PolicyRecord>>();

  constructor(client: KubeClient, options: PolicyCacheOptions) {
    const { metrics } = options;
    this.cache = new WatchCache({
      what: "NetworkPolicy",
      client,
      path: paths.networkPolicies,
      schema: NetworkPolicySchema,
      keyOf: (policy) => (policy.metadata?.namespace === undefined || policy.metadata.name === undefined ? undefined : `${policy.metadata.namespace}/${policy.metadata.name}`),
      toRecord: policyRecord,
      log: options.log,
      staleAfterMs: options.staleAfterMs,
      ...(options.backoff ? { backoff: options.backoff } : {}),
      ...(options.now ? { now: options.now } : {}),
      onSyncedChange: (synced) => metrics.policyCacheSynced.set(synced ? 1 : 0),
      onRestart: () => metrics.informerRestarts.inc(),
    });
    this.cache.onChange((_key, record, previous) => {
      const current = record ?? previous!;
      let policies = this.byNamespace.get(current.namespace);
      if (record !== undefined) {
        if (policies === undefined) this.byNamespace.set(current.namespace, (policies = new Map()));
        policies.set(record.name, record);
      } else if (policies !== undefined) {
        policies.delete(current.name);
        if (policies.size === 0) this.byNamespace.delete(current.namespace);
      }
      metrics.policyCacheSize.set(this.cache.size);
    });
  }

  start(): void {
    this.cache.start();
  }

  stop(): Promise<void> {
    return this.cache.stop();
  }

  whenSynced(): Promise<void> {
    return this.cache.whenSynced();
  }

  readiness(): { ready: boolean; reason?: string } {
    return this.cache.readiness();
  }

  onChange(listener: PolicyListener): void {
    this.cache.onChange((_key, record, previous) => {
      const current = record ?? previous!;
      listener(current.namespace, current.name, record, previous);
    });
  }

  inNamespace(namespace: string): PolicyRecord[] {
    return [...(this.byNamespace.get(namespace)?.values() ?? [])];
  }

  get(namespace: string, name: string): PolicyRecord | undefined {
    return this.byNamespace.get(namespace)?.get(name);
  }
}
