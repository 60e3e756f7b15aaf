// The isolation reconciler: keeps every namespace as `planNamespace` says it should be. It watches
// Namespaces and NetworkPolicies (through the two caches), so drift is repaired within a debounce
// of the change that caused it: a deleted or edited `netfence-isolation` is restored by server-side
// apply (idempotent, and safe with several writers), an injected rule that is missing or stale is
// patched in, and when isolation is turned off the managed policies are deleted and the injected
// rule and annotation are removed from the team's policies. Writes go through a token bucket, so
// that a config change that touches every policy of the cluster is spread over time; a full resync
// on a timer catches anything missed. Work is serialised, retried per namespace with backoff.
import type { Logger } from "pino";
import { NetworkPolicySchema } from "../kube-objects.ts";
import { INJECTED_ANNOTATION, ISOLATION_POLICY_NAME } from "../names.ts";
import { normalizeNamespaces } from "../mutate/inject-allowed-ingress.ts";
import type { Metrics } from "../metrics.ts";
import { recordEvent, type PolicyEvent } from "./events.ts";
import { paths, statusOf, type KubeClient } from "../kube/client.ts";
import type { NamespaceCache } from "./namespace-cache.ts";
import type { PolicyCache } from "./policy-cache.ts";
import { planNamespace, planPolicy, type Repair } from "./reconcile-plan.ts";

export const FIELD_MANAGER = "netfence";

export interface ReconcilerOptions {
  allowedIngressNamespaces: readonly string[];
  /** The same answer admission uses: config `isolatedNamespaces` or the namespace's own switch. */
  isIsolated: (namespace: string) => boolean;
  log: Logger;
  metrics: Metrics;
  resyncMs: number;
  /** Changes to one namespace within this window are repaired together. */
  debounceMs?: number;
  /** Upper bound of API writes per second (and the burst allowed at once). */
  writesPerSecond: number;
  retryMs?: { initial: number; max: number };
  now?: () => number;
}

export class Reconciler {
  private readonly client: KubeClient;
  private readonly namespaces: NamespaceCache;
  private readonly policies: PolicyCache;
  private readonly options: ReconcilerOptions;
  private readonly queue = new Set<string>();
  private readonly debounced = new Map<string, NodeJS.Timeout>();
  private readonly retries = new Map<string, number>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  /** Unrepaired drift per namespace: policy name -> when it was first seen. */
  private readonly drift = new Map<string, Map<string, number>>();
  /** Namespaces whose managed policy was deleted while isolated: its re-creation is a restore. */
  private readonly deletedWhileIsolated = new Set<string>();
  private readonly bucket: TokenBucket;
  private active = false;
  private draining = false;
  private generation = 0;
  private resyncTimer: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(client: KubeClient, namespaces: NamespaceCache, policies: PolicyCache, options: ReconcilerOptions) {
    this.client = client;
    this.namespaces = namespaces;
    this.policies = policies;
    this.options = options;
    this.bucket = new TokenBucket(options.writesPerSecond, this.now);
    namespaces.onChange((name) => this.schedule(name));
    policies.onChange((_key, record, previous) => {
      const { namespace, name } = (record ?? previous)!;
      if (
        record === undefined &&
        previous?.managed === true &&
        name === ISOLATION_POLICY_NAME &&
        this.options.isIsolated(namespace)
      )
        this.deletedWhileIsolated.add(namespace);
      this.schedule(namespace, name);
    });
    options.metrics.setOldestDriftSource(() => this.oldestDrift());
  }

  private readonly now = () => (this.options.now ?? Date.now)();

  /** Starts reconciling once both caches have synced; a reconciler may be stopped and started again (leadership). */
  async start(): Promise<void> {
    if (this.active) return;
    this.active = true;
    const generation = ++this.generation;
    await Promise.all([this.namespaces.whenSynced(), this.policies.whenSynced()]);
    if (!this.active || generation !== this.generation) return;
    this.resyncAll();
    this.resyncTimer = setInterval(() => this.resyncAll(), this.options.resyncMs);
  }

  stop(): void {
    this.active = false;
    clearInterval(this.resyncTimer);
    this.resyncTimer = undefined;
    for (const timer of [...this.debounced.values(), ...this.retryTimers]) clearTimeout(timer);
    this.debounced.clear();
    this.retryTimers.clear();
    this.retries.clear();
    this.queue.clear();
    this.bucket.cancel();
    // Drift is what this replica has yet to repair; a replica that does not reconcile has none.
    this.drift.clear();
    this.updatePending();
    if (!this.draining) this.notifyIdle();
  }

  /** Resolves once nothing is queued, debounced or running (or the reconciler stopped). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle() {
    return !this.draining && (!this.active || (this.queue.size === 0 && this.debounced.size === 0));
  }

  private notifyIdle() {
    if (this.isIdle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private resyncAll() {
    for (const state of this.namespaces.all()) this.enqueue(state.name);
  }

  /**
   * A change seen in a cache: note the drift now (for the metrics), repair it after the debounce. A
   * policy's change is noted for that policy alone: nothing else of the namespace depends on it.
   */
  private schedule(namespace: string, policy?: string) {
    if (!this.active || this.resyncTimer === undefined) return;
    if (policy === undefined) this.observe(namespace);
    else this.observePolicy(namespace, policy);
    if (this.debounced.has(namespace)) return;
    const timer = setTimeout(() => {
      this.debounced.delete(namespace);
      this.enqueue(namespace);
    }, this.options.debounceMs ?? 200);
    this.debounced.set(namespace, timer);
  }

  private enqueue(namespace: string) {
    if (!this.active) return;
    this.queue.add(namespace);
    if (!this.draining) void this.drain();
  }

  private plan(namespace: string): Repair[] {
    // A namespace that is gone or going has nothing left to reconcile.
    const state = this.namespaces.get(namespace);
    if (state === undefined || state.terminating) return [];
    return planNamespace({
      namespace,
      isolated: this.options.isIsolated(namespace),
      policies: this.policies.inNamespace(namespace),
      allowedIngressNamespaces: this.options.allowedIngressNamespaces,
    });
  }

  private observe(namespace: string): Repair[] {
    const repairs = this.plan(namespace);
    const previous = this.drift.get(namespace);
    const current = new Map<string, number>();
    for (const repair of repairs) current.set(repair.name, previous?.get(repair.name) ?? this.now());
    if (current.size > 0) this.drift.set(namespace, current);
    else this.drift.delete(namespace);
    this.updatePending();
    return repairs;
  }

  private observePolicy(namespace: string, name: string) {
    const state = this.namespaces.get(namespace);
    const repair =
      state === undefined || state.terminating
        ? undefined
        : planPolicy({
            namespace,
            name,
            policy: this.policies.get(`${namespace}/${name}`),
            isolated: this.options.isIsolated(namespace),
            allowedIngressNamespaces: this.options.allowedIngressNamespaces,
          });
    if (repair === undefined) return this.repaired(namespace, name);
    let entries = this.drift.get(namespace);
    if (entries === undefined) this.drift.set(namespace, (entries = new Map()));
    if (!entries.has(name)) entries.set(name, this.now());
    this.updatePending();
  }

  private repaired(namespace: string, name: string) {
    const entries = this.drift.get(namespace);
    entries?.delete(name);
    if (entries?.size === 0) this.drift.delete(namespace);
    this.updatePending();
  }

  private updatePending() {
    let pending = 0;
    for (const entries of this.drift.values()) pending += entries.size;
    this.options.metrics.reconcilePending.set(pending);
  }

  private oldestDrift(): number | undefined {
    let oldest: number | undefined;
    for (const entries of this.drift.values())
      for (const since of entries.values()) if (oldest === undefined || since < oldest) oldest = since;
    return oldest === undefined ? undefined : (this.now() - oldest) / 1000;
  }

  private async drain() {
    this.draining = true;
    while (this.queue.size > 0 && this.active) {
      const namespace = this.queue.values().next().value as string;
      this.queue.delete(namespace);
      try {
        for (const repair of this.observe(namespace)) {
          if (!(await this.bucket.take()) || !this.active) break;
          await this.execute(repair);
          this.repaired(namespace, repair.name);
        }
        this.retries.delete(namespace);
      } catch (error) {
        this.retryLater(namespace, error);
      }
    }
    this.draining = false;
    this.notifyIdle();
  }

  private retryLater(namespace: string, error: unknown) {
    if (!this.active) return;
    const { initial, max } = this.options.retryMs ?? { initial: 1000, max: 60_000 };
    const delay = Math.min(this.retries.get(namespace) ?? initial, max);
    this.retries.set(namespace, delay * 2);
    this.options.log.warn(
      {
        namespace,
        status: statusOf(error),
        err: { message: (error as Error).message?.split("\n")[0] },
        retryInMs: delay,
      },
      "reconcile failed; will retry",
    );
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.enqueue(namespace);
    }, delay);
    this.retryTimers.add(timer);
  }

  private async execute(repair: Repair) {
    const { namespace, name } = repair;
    const path = paths.networkPolicy(namespace, name);
    const { metrics, log } = this.options;
    const action = repair.action;
    let event: PolicyEvent | undefined;
    let reason: string = repair.reason;
    try {
      const allowed = normalizeNamespaces(this.options.allowedIngressNamespaces).join(", ") || "no other namespace";
      if (repair.action === "replace") {
        await this.client.replace(path, repair.policy, NetworkPolicySchema, FIELD_MANAGER);
        event = {
          namespace,
          policy: name,
          reason: "IsolationPolicyRestored",
          message: `${name} had been changed; restored: ingress only from this namespace and ${allowed}`,
        };
      } else if (repair.action === "apply") {
        const { created } = await this.client.apply(path, repair.policy, FIELD_MANAGER);
        // Applied over an object the cache had not seen yet: nothing was missing after all.
        if (!created) return;
        if (this.deletedWhileIsolated.delete(namespace)) {
          reason = "isolation-policy-deleted";
          event = {
            namespace,
            policy: name,
            reason: "IsolationPolicyRestored",
            message: `${name} had been deleted; restored: ingress only from this namespace and ${allowed}`,
          };
        } else {
          reason = "isolation-on";
          event = {
            namespace,
            policy: name,
            reason: "IsolationPolicyCreated",
            message: `namespace isolation is on: ingress only from this namespace and ${allowed}`,
          };
        }
      } else if (repair.action === "delete") {
        await this.client.delete(path);
        event = {
          namespace,
          policy: name,
          reason: "IsolationPolicyDeleted",
          message: "namespace isolation is off: managed NetworkPolicy deleted",
        };
      } else {
        await this.client.mergePatch(path, repair.patch, FIELD_MANAGER);
        const list = repair.patch.metadata.annotations[INJECTED_ANNOTATION];
        event =
          repair.reason === "injection-reverted"
            ? {
                namespace,
                policy: name,
                reason: "InjectedRuleRemoved",
                message:
                  "namespace isolation is off: the injected allowedIngressNamespaces rule and its annotation were removed",
              }
            : {
                namespace,
                policy: name,
                reason: repair.reason === "injection-missing" ? "InjectedRuleAdded" : "InjectedRuleUpdated",
                message: `ingress from allowedIngressNamespaces injected: ${list?.replaceAll(",", ", ")}`,
              };
      }
    } catch (error) {
      // Gone already: nothing to repair (the watch will tell us if it comes back).
      if (statusOf(error) === 404 && action !== "apply") return;
      metrics.reconcileActions.inc({ action, result: "error" });
      throw error;
    }
    metrics.reconcileActions.inc({ action, result: "success" });
    metrics.reconcileRepairs.inc({ reason });
    log.info({ namespace, policy: name, reason }, event.message);
    await recordEvent(this.client, log, event);
  }
}

/** At most `rate` writes per second, `rate` of them at once; `take` waits for a token. */
class TokenBucket {
  private tokens: number;
  private last: number;
  private waiting: { timer: NodeJS.Timeout; resolve: (ok: boolean) => void } | undefined;
  private readonly rate: number;
  private readonly now: () => number;

  constructor(rate: number, now: () => number) {
    this.rate = rate;
    this.now = now;
    this.tokens = rate;
    this.last = now();
  }

  async take(): Promise<boolean> {
    for (;;) {
      const now = this.now();
      this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) / 1000) * this.rate);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return true;
      }
      const ok = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(
          () => {
            this.waiting = undefined;
            resolve(true);
          },
          Math.ceil(((1 - this.tokens) / this.rate) * 1000),
        );
        this.waiting = { timer, resolve };
      });
      if (!ok) return false;
    }
  }

  cancel() {
    if (this.waiting === undefined) return;
    clearTimeout(this.waiting.timer);
    this.waiting.resolve(false);
    this.waiting = undefined;
  }
}
