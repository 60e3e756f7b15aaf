// The isolation reconciler: an isolated namespace gets the managed policy `netfence-isolation`
// (server-side apply: idempotent, and safe with several replicas applying the same object); a
// namespace that is no longer isolated loses every managed policy, and nothing else.
// Work is queued per namespace, retried with backoff, and everything is re-checked on a resync timer.
import { ApiException, NetworkingV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { Metrics } from "../metrics.ts";
import { ISOLATION_POLICY_NAME, MANAGED_SELECTOR } from "../names.ts";
import { isolationPolicy } from "./managed-policy.ts";
import { normalizeNamespaces } from "../mutate/inject-allowed-ingress.ts";
import { recordEvent } from "./events.ts";
import type { NamespaceCache } from "./namespace-cache.ts";

export const FIELD_MANAGER = "netfence";

export interface ReconcilerOptions {
  allowedIngressNamespaces: readonly string[];
  /** The same answer admission uses: config `isolatedNamespaces` or the namespace's own switch. */
  isIsolated: (namespace: string) => boolean;
  log: Logger;
  metrics: Metrics;
  resyncMs: number;
  retryMs?: { initial: number; max: number };
}

const statusOf = (error: unknown) => (error instanceof ApiException ? error.code : undefined);

export class Reconciler {
  private readonly networking: NetworkingV1Api;
  private readonly queue = new Set<string>();
  private readonly retries = new Map<string, number>();
  private running = false;
  private stopped = false;
  private resyncTimer: NodeJS.Timeout | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private idleWaiters: (() => void)[] = [];
  private readonly cache: NamespaceCache;
  private readonly options: ReconcilerOptions;
  private readonly config: KubeConfig;

  constructor(config: KubeConfig, cache: NamespaceCache, options: ReconcilerOptions) {
    this.config = config;
    this.cache = cache;
    this.options = options;
    this.networking = config.makeApiClient(NetworkingV1Api);
    cache.onChange((name) => this.enqueue(name));
  }

  start(): void {
    this.resyncAll();
    this.resyncTimer = setInterval(() => this.resyncAll(), this.options.resyncMs);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.resyncTimer);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.queue.clear();
  }

  /** Resolves once the queue is empty, or the reconciler stopped and its last call returned. */
  idle(): Promise<void> {
    if (!this.running && (this.queue.size === 0 || this.stopped)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private resyncAll() {
    for (const state of this.cache.all()) this.enqueue(state.name);
  }

  private enqueue(namespace: string) {
    if (this.stopped) return;
    this.queue.add(namespace);
    if (!this.running) void this.drain();
  }

  private async drain() {
    this.running = true;
    while (this.queue.size > 0 && !this.stopped) {
      const namespace = this.queue.values().next().value as string;
      this.queue.delete(namespace);
      try {
        await this.reconcile(namespace);
        this.retries.delete(namespace);
      } catch (error) {
        this.retryLater(namespace, error);
      }
    }
    this.running = false;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private retryLater(namespace: string, error: unknown) {
    if (this.stopped) return;
    const { initial, max } = this.options.retryMs ?? { initial: 1000, max: 60_000 };
    const delay = Math.min(this.retries.get(namespace) ?? initial, max);
    this.retries.set(namespace, delay * 2);
    this.options.log.warn({ namespace, status: statusOf(error), err: { message: (error as Error).message?.split("\n")[0] }, retryInMs: delay }, "reconcile failed; will retry");
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.enqueue(namespace);
    }, delay);
    this.timers.add(timer);
  }

  private async reconcile(namespace: string) {
    // A namespace that no longer exists has nothing left to reconcile.
    if (this.cache.get(namespace) === undefined) return;
    if (this.options.isIsolated(namespace)) await this.applyIsolation(namespace);
    else await this.removeManaged(namespace);
  }

  private async applyIsolation(namespace: string) {
    const desired = isolationPolicy(namespace, this.options.allowedIngressNamespaces);
    let status: number;
    try {
      // The patch body goes out as plain JSON. (KubernetesObjectApi would run it through the typed
      // serializer, which expects client-node's `_from` for `from` and silently drops our peers.)
      const response = await this.networking.patchNamespacedNetworkPolicyWithHttpInfo(
        { name: desired.metadata!.name!, namespace, body: desired, fieldManager: FIELD_MANAGER, force: true },
        setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
      );
      status = response.httpStatusCode;
    } catch (error) {
      this.options.metrics.reconcileActions.inc({ action: "apply", result: "error" });
      throw error;
    }
    this.options.metrics.reconcileActions.inc({ action: "apply", result: "success" });
    // Server-side apply answers 201 when it created the object: the moment worth an Event.
    if (status === 201) {
      this.options.log.info({ namespace, policy: ISOLATION_POLICY_NAME }, "isolation turned on: managed policy created");
      await recordEvent(this.config, this.options.log, {
        namespace,
        policy: ISOLATION_POLICY_NAME,
        reason: "IsolationPolicyCreated",
        message: `namespace isolation is on: ingress only from this namespace and ${normalizeNamespaces(this.options.allowedIngressNamespaces).join(", ") || "no other namespace"}`,
      });
    }
  }

  private async removeManaged(namespace: string) {
    const managed = await this.networking.listNamespacedNetworkPolicy({ namespace, labelSelector: MANAGED_SELECTOR });
    for (const policy of managed.items) {
      const name = policy.metadata?.name;
      if (name === undefined) continue;
      try {
        await this.networking.deleteNamespacedNetworkPolicy({ name, namespace });
      } catch (error) {
        if (statusOf(error) === 404) continue;
        this.options.metrics.reconcileActions.inc({ action: "delete", result: "error" });
        throw error;
      }
      this.options.metrics.reconcileActions.inc({ action: "delete", result: "success" });
      this.options.log.info({ namespace, policy: name }, "isolation turned off: managed policy deleted");
      await recordEvent(this.config, this.options.log, { namespace, policy: name, reason: "IsolationPolicyDeleted", message: "namespace isolation is off: managed NetworkPolicy deleted" });
    }
  }
}
