// The cluster's namespaces in memory: a list+watch informer feeds a map of isolation state, so that
// the admission path answers "is X isolated?" without an API call. The informer stops on an error;
// this cache restarts it with exponential backoff and reports when it has gone stale.
import { CoreV1Api, makeInformer, type Informer, type KubeConfig, type V1Namespace } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { isolationOf, type Isolation } from "../isolation.ts";
import type { Metrics } from "../metrics.ts";

export interface NamespaceState {
  name: string;
  isolation: Isolation;
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
  private readonly states = new Map<string, NamespaceState>();
  private readonly listeners: NamespaceListener[] = [];
  private informer: Informer<V1Namespace> | undefined;
  private readonly config: KubeConfig;
  private synced = false;
  private disconnectedSince: number | undefined;
  private restartDelayMs: number;
  private restartTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly options: NamespaceCacheOptions;

  constructor(config: KubeConfig, options: NamespaceCacheOptions) {
    this.config = config;
    this.options = options;
    this.restartDelayMs = options.backoff?.initialMs ?? 1000;
  }

  // A fresh informer for every (re)start: client-node's ListWatch keeps its resourceVersion and would
  // re-watch without listing, so the cache would never learn that it is in sync again.
  private newInformer(): Informer<V1Namespace> {
    const api = this.config.makeApiClient(CoreV1Api);
    const informer = makeInformer<V1Namespace>(this.config, "/api/v1/namespaces", async () => {
      const list = await api.listNamespace();
      if (informer === this.informer) this.onListed(list.items);
      return list;
    });
    const current = (handler: (ns: V1Namespace) => void) => (ns: V1Namespace) => {
      if (informer === this.informer) handler(ns);
    };
    informer.on("add", current((ns) => this.upsert(ns)));
    informer.on("update", current((ns) => this.upsert(ns)));
    informer.on("delete", current((ns) => this.remove(ns.metadata?.name)));
    informer.on("error", (error: unknown) => {
      if (informer === this.informer) this.onError(error);
    });
    return informer;
  }

  private async run(): Promise<void> {
    const previous = this.informer;
    this.informer = this.newInformer();
    await previous?.stop();
    try {
      await this.informer.start();
    } catch (error) {
      this.onError(error);
    }
  }

  private get now() {
    return (this.options.now ?? Date.now)();
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    await this.informer?.stop();
  }

  onChange(listener: NamespaceListener): void {
    this.listeners.push(listener);
  }

  isIsolated(namespace: string): boolean {
    return this.states.get(namespace)?.isolation.isolated === true;
  }

  get(namespace: string): NamespaceState | undefined {
    return this.states.get(namespace);
  }

  all(): NamespaceState[] {
    return [...this.states.values()];
  }

  readiness(): { ready: boolean; reason?: string } {
    if (!this.synced) return { ready: false, reason: "namespace cache has not synced yet" };
    if (this.disconnectedSince !== undefined && this.now - this.disconnectedSince > this.options.staleAfterMs) {
      return { ready: false, reason: `namespace cache stale: no contact with the API server for ${Math.round((this.now - this.disconnectedSince) / 1000)} s` };
    }
    return { ready: true };
  }

  private onListed(items: readonly V1Namespace[]) {
    const listed = new Set(items.map((ns) => ns.metadata?.name));
    for (const name of [...this.states.keys()]) if (!listed.has(name)) this.remove(name);
    for (const ns of items) this.upsert(ns);
    if (!this.synced) this.options.log.info({ namespaces: items.length }, "namespace cache synced");
    else if (this.disconnectedSince !== undefined) this.options.log.info("namespace cache reconnected to the API server");
    this.synced = true;
    this.disconnectedSince = undefined;
    this.restartDelayMs = this.options.backoff?.initialMs ?? 1000;
    this.options.metrics.namespaceCacheSynced.set(1);
  }

  private upsert(ns: V1Namespace) {
    const name = ns.metadata?.name;
    if (name === undefined) return;
    const isolation = isolationOf({ labels: ns.metadata?.labels, annotations: ns.metadata?.annotations });
    const previous = this.states.get(name);
    const state: NamespaceState = { name, isolation };
    this.states.set(name, state);
    if (isolation.source === "malformed-legacy-annotation" && previous?.isolation.source !== "malformed-legacy-annotation") {
      this.options.log.warn({ namespace: name, problem: isolation.problem }, "malformed net.beta.kubernetes.io/network-policy annotation; treating the namespace as not isolated");
    }
    this.updateSizeMetric();
    for (const listener of this.listeners) listener(name, state);
  }

  private remove(name: string | undefined) {
    if (name === undefined || !this.states.delete(name)) return;
    this.updateSizeMetric();
    for (const listener of this.listeners) listener(name, undefined);
  }

  private updateSizeMetric() {
    let isolated = 0;
    for (const state of this.states.values()) if (state.isolation.isolated) isolated++;
    this.options.metrics.namespaceCacheSize.set({ isolated: "true" }, isolated);
    this.options.metrics.namespaceCacheSize.set({ isolated: "false" }, this.states.size - isolated);
  }

  private onError(error: unknown) {
    if (this.stopped) return;
    this.disconnectedSince ??= this.now;
    this.options.metrics.namespaceCacheSynced.set(0);
    this.options.metrics.informerRestarts.inc();
    const delay = this.restartDelayMs;
    this.restartDelayMs = Math.min(delay * 2, this.options.backoff?.maxMs ?? 30_000);
    this.options.log.warn({ err: { message: (error as Error)?.message ?? String(error) }, retryInMs: delay }, "namespace watch failed; answering from the cache and retrying");
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      if (!this.stopped) void this.run();
    }, delay);
  }
}
