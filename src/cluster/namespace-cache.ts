// The cluster's namespaces in memory, as isolation states: the admission path answers "is X
// isolated?" and the reconciler learns of isolation switches without an API call.
import type { Logger } from "pino";
import { isolationOf, type Isolation } from "../isolation.ts";
import { NamespaceSchema, type Namespace } from "../kube-objects.ts";
import type { Metrics } from "../metrics.ts";
import { paths, type KubeClient } from "./kube-client.ts";
import { WatchCache } from "./watch-cache.ts";

export interface NamespaceState {
  name: string;
  isolation: Isolation;
  /** For the impact warnings and the isolation preview: namespaceSelectors match them. */
  labels: Readonly<Record<string, string>>;
}

export type NamespaceListener = (name: string, state: NamespaceState | undefined) => void;

export interface NamespaceCacheOptions {
  log: Logger;
  metrics: Metrics;
  staleAfterMs: number;
  backoff?: { initialMs: number; maxMs: number };
  now?: () => number;
}

export class NamespaceCache {
  private readonly cache: WatchCache<Namespace, NamespaceState>;
  private readonly metrics: Metrics;
  private isolatedCount = 0;

  constructor(client: KubeClient, options: NamespaceCacheOptions) {
    const { log, metrics } = options;
    this.metrics = metrics;
    this.cache = new WatchCache({
      what: "namespace",
      client,
      path: paths.namespaces,
      schema: NamespaceSchema,
      keyOf: (ns) => ns.metadata?.name,
      toRecord: (ns) => ({ name: ns.metadata!.name!, isolation: isolationOf({ labels: ns.metadata?.labels, annotations: ns.metadata?.annotations }), labels: ns.metadata?.labels ?? {} }),
      log,
      staleAfterMs: options.staleAfterMs,
      ...(options.backoff ? { backoff: options.backoff } : {}),
      ...(options.now ? { now: options.now } : {}),
      onSyncedChange: (synced) => metrics.namespaceCacheSynced.set(synced ? 1 : 0),
      onRestart: () => metrics.informerRestarts.inc(),
    });
    this.cache.onChange((name, state, previous) => {
      this.isolatedCount += (state?.isolation.isolated ? 1 : 0) - (previous?.isolation.isolated ? 1 : 0);
      this.metrics.namespaceCacheSize.set({ isolated: "true" }, this.isolatedCount);
      this.metrics.namespaceCacheSize.set({ isolated: "false" }, this.cache.size - this.isolatedCount);
      if (state?.isolation.source === "malformed-legacy-annotation" && previous?.isolation.source !== "malformed-legacy-annotation") {
        log.warn({ namespace: name, problem: state.isolation.problem }, "malformed net.beta.kubernetes.io/network-policy annotation; treating the namespace as not isolated");
      }
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

  onChange(listener: NamespaceListener): void {
    this.cache.onChange((name, state) => listener(name, state));
  }

  isIsolated(namespace: string): boolean {
    return this.cache.get(namespace)?.isolation.isolated === true;
  }

  get(namespace: string): NamespaceState | undefined {
    return this.cache.get(namespace);
  }

  all(): NamespaceState[] {
    return [...this.cache.values()];
  }

  readiness(): { ready: boolean; reason?: string } {
    return this.cache.readiness();
  }
}
