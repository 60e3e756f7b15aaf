// The cluster's namespaces in memory, as isolation states: the admission path answers "is X
// isolated?" and the reconciler learns of isolation switches without an API call.
import { isolationOf, type Isolation } from "../isolation.ts";
import { NamespaceSchema, type Namespace } from "../kube-objects.ts";
import type { Metrics } from "../metrics.ts";
import { paths, type KubeClient } from "../kube/client.ts";
import { ISOLATION_PREVIEW_ANNOTATION } from "../names.ts";
import { WatchCache, type CacheOptions } from "./watch-cache.ts";

export interface NamespaceState {
  name: string;
  isolation: Isolation;
  /** Being deleted: the API server refuses new objects in it, so there is nothing to reconcile. */
  terminating: boolean;
  /** For the impact warnings and the isolation preview: namespaceSelectors match them. */
  labels: Readonly<Record<string, string>>;
  /** The isolation preview annotation is on it (the previewer removes it from namespaces out of preview). */
  hasIsolationPreview: boolean;
}

export class NamespaceCache extends WatchCache<Namespace, NamespaceState> {
  private isolatedCount = 0;

  constructor(client: KubeClient, options: CacheOptions) {
    const { log, metrics } = options;
    super({
      what: "namespace",
      client,
      path: paths.namespaces,
      schema: NamespaceSchema,
      keyOf: (ns) => ns.metadata?.name,
      toRecord: (ns) => ({
        name: ns.metadata!.name!,
        isolation: isolationOf({ labels: ns.metadata?.labels, annotations: ns.metadata?.annotations }),
        terminating: ns.metadata?.["deletionTimestamp"] != null,
        labels: ns.metadata?.labels ?? {},
        hasIsolationPreview: ns.metadata?.annotations?.[ISOLATION_PREVIEW_ANNOTATION] !== undefined,
      }),
      ...options,
      onSyncedChange: (synced) => metrics.namespaceCacheSynced.set(synced ? 1 : 0),
      onRestart: () => metrics.informerRestarts.inc(),
    });
    this.onChange((name, state, previous) => {
      this.isolatedCount += (state?.isolation.isolated ? 1 : 0) - (previous?.isolation.isolated ? 1 : 0);
      metrics.namespaceCacheSize.set({ isolated: "true" }, this.isolatedCount);
      metrics.namespaceCacheSize.set({ isolated: "false" }, this.size - this.isolatedCount);
      if (
        state?.isolation.source === "malformed-legacy-annotation" &&
        previous?.isolation.source !== "malformed-legacy-annotation"
      ) {
        log.warn(
          { namespace: name, problem: state.isolation.problem },
          "malformed net.beta.kubernetes.io/network-policy annotation; treating the namespace as not isolated",
        );
      }
    });
  }

  isIsolated(namespace: string): boolean {
    return this.get(namespace)?.isolation.isolated === true;
  }

  all(): NamespaceState[] {
    return [...this.values()];
  }
}
