// The impact check's view of the cluster, read straight from the webhook's three caches: nothing
// is copied per request except what the check walks. Namespace labels are re-read when a namespace
// changes; a policy record becomes the engine's input once (its compiled form is memoized on it).
import type { Logger } from "pino";
import type { Config } from "../config.ts";
import type { NamespaceInfo, PolicyInput } from "../connectivity/model.ts";
import { impactCheck, impactMetrics, type ImpactCheck } from "../impact/check.ts";
import type { Metrics } from "../metrics.ts";
import type { KubeClient } from "../kube/client.ts";
import type { ImpactCluster } from "../impact/model.ts";
import { NAMESPACE_NAME_LABEL } from "../names.ts";
import type { NamespaceCache } from "./namespace-cache.ts";
import type { PolicyCache, PolicyRecord } from "./policy-cache.ts";
import { WorkloadCache } from "./workload-cache.ts";

export function cachedImpactCluster(
  namespaces: NamespaceCache,
  policies: PolicyCache,
  workloads: WorkloadCache,
): ImpactCluster {
  let namespaceInfo: Map<string, NamespaceInfo> | undefined;
  // Bumped by every change the caches see: the impact check re-prepares the cluster only then.
  let generation = 0;
  namespaces.onChange(() => {
    namespaceInfo = undefined;
    generation++;
  });
  policies.onChange(() => generation++);
  workloads.onChange(() => generation++);
  const inputs = new WeakMap<PolicyRecord, PolicyInput>();
  const inputOf = (record: PolicyRecord): PolicyInput => {
    let input = inputs.get(record);
    if (input === undefined) {
      input = {
        namespace: record.namespace,
        name: record.name,
        policy: { metadata: { name: record.name, namespace: record.namespace }, spec: record.spec },
      };
      inputs.set(record, input);
    }
    return input;
  };
  return {
    get generation() {
      return generation;
    },
    get namespaces() {
      namespaceInfo ??= new Map(
        namespaces
          .all()
          .map((ns) => [ns.name, { name: ns.name, labels: { ...ns.labels, [NAMESPACE_NAME_LABEL]: ns.name } }]),
      );
      return namespaceInfo;
    },
    shapes: () => workloads.shapes(),
    policiesIn: (namespace) => policies.inNamespace(namespace).map(inputOf),
  };
}

/** Ready when all three caches are: impact from a half-listed cluster would be wrong, not late. */
export function impactReadiness(
  ...caches: { readiness(): { ready: boolean; reason?: string } }[]
): () => { ready: boolean; reason?: string } {
  return () => caches.map((cache) => cache.readiness()).find((r) => !r.ready) ?? { ready: true };
}

export interface ImpactView {
  check: ImpactCheck;
  cluster: ImpactCluster;
  workloads: WorkloadCache;
  readiness(): { ready: boolean; reason?: string };
  stop(): Promise<void>;
}

/** The pod cache started beside the namespace and policy caches, and the admission check over all three. */
export function startImpactView(
  config: Config,
  client: KubeClient,
  namespaces: NamespaceCache,
  policies: PolicyCache,
  log: Logger,
  metrics: Metrics,
): ImpactView {
  const own = impactMetrics(metrics.registry);
  const workloads = new WorkloadCache(client, {
    log,
    staleAfterMs: config.cacheStaleAfterSeconds * 1000,
    onSyncedChange: (synced) => own.podCacheSynced.set(synced ? 1 : 0),
    onRestart: () => own.podCacheRestarts.inc(),
  });
  workloads.onChange(() => own.podCacheSize.set(workloads.size));
  workloads.start();
  const cluster = cachedImpactCluster(namespaces, policies, workloads);
  const readiness = impactReadiness(namespaces, policies, workloads);
  const check = impactCheck({
    cluster,
    readiness,
    allowedIngressNamespaces: config.allowedIngressNamespaces,
    deadlineMs: config.impact.deadlineMs,
    actions: config.rules,
    metrics: own,
    log,
  });
  log.info({ deadlineMs: config.impact.deadlineMs }, "watching pods for impact warnings and isolation previews");
  return { check, cluster, workloads, readiness, stop: () => workloads.stop() };
}
