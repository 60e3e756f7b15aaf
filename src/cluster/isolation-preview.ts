// Isolation preview: a Namespace labelled `netfence.io/isolation=preview` gets no policy; instead
// netfence works out what isolation would cut off among the workloads running now and records it on
// the namespace, as an Event (count and examples, for `kubectl describe namespace`) and as the
// annotation `netfence.io/isolation-preview` (JSON, bounded, for tools). Pods and policies anywhere
// can change the answer (a peer's labels, a peer's egress policy), so every change re-schedules every
// namespace in preview, debounced; the namespace is only written when the answer changes.
// Runs beside the reconciler, on the replica that holds the leader Lease. The annotation is removed
// from every namespace that carries it and is not in preview, whenever the leader sees one (at start,
// on a re-list, on a change): a namespace may have left preview while no leader ran.
import type { Logger } from "pino";
import type { Impact } from "../impact/impact.ts";
import { isolationImpact } from "../impact/isolation.ts";
import type { ImpactCluster } from "../impact/model.ts";
import { ISOLATION_LABEL, ISOLATION_PREVIEW, ISOLATION_PREVIEW_ANNOTATION } from "../names.ts";
import { FIELD_MANAGER } from "./reconciler.ts";
import { recordObjectEvent } from "./events.ts";
import { paths, type KubeClient } from "../kube/client.ts";
import type { NamespaceCache, NamespaceState } from "./namespace-cache.ts";
import type { PolicyCache } from "./policy-cache.ts";
import type { WorkloadCache } from "./workload-cache.ts";

/** The annotation stays well inside the 256 KiB all annotations of an object may hold together. */
export const PREVIEW_MAX_CHARS = 4096;
export const PREVIEW_EXAMPLES = 5;

export interface IsolationPreview {
  /** Flows between running workloads that isolation would cut off (replicas of one owner count once). */
  cutsOff: number;
  /** Of those, from allowedIngressNamespaces (isolation keeps them; non-zero means a policy of the namespace already blocks them). */
  fromAllowedNamespaces: number;
  /** Workloads of the namespace whose traffic from outside the cluster isolation would cut off. */
  externalWorkloads: number;
  /** The most telling first: `from -> to ports`. */
  examples: string[];
}

export function previewOf(impact: Impact): IsolationPreview {
  return {
    cutsOff: impact.cutOff.flows,
    fromAllowedNamespaces: impact.cutOff.fromAllowedNamespaces,
    externalWorkloads: impact.cutOff.external,
    examples: impact.cutOff.examples.map((e) => `${e.from} -> ${e.to} ${e.ports}`),
  };
}

/** The annotation's value: JSON within PREVIEW_MAX_CHARS (each example cut at 300 characters, then examples dropped from the end). */
export function previewAnnotation(preview: IsolationPreview): string {
  const examples = preview.examples.map((e) => (e.length <= 300 ? e : `${e.slice(0, 297)}...`));
  for (let shown = examples.length; ; shown--) {
    const text = JSON.stringify({ ...preview, examples: examples.slice(0, shown) });
    if (text.length <= PREVIEW_MAX_CHARS || shown === 0) return text;
  }
}

export function previewMessage(preview: IsolationPreview): string {
  if (preview.cutsOff === 0 && preview.externalWorkloads === 0)
    return "isolation preview: isolating this namespace would cut off no traffic between running workloads";
  const parts = [
    `isolation preview: isolating this namespace would cut off ${preview.cutsOff} flow${preview.cutsOff === 1 ? "" : "s"} now allowed`,
  ];
  if (preview.externalWorkloads > 0)
    parts.push(
      `and traffic from outside the cluster to ${preview.externalWorkloads} workload${preview.externalWorkloads === 1 ? "" : "s"}`,
    );
  const examples = preview.examples.length > 0 ? `, e.g. ${preview.examples.join("; ")}` : "";
  return `${parts.join(" ")}${examples}`.slice(0, 1024);
}

const namespacePath = (namespace: string) => `${paths.namespaces}/${encodeURIComponent(namespace)}`;

export interface IsolationPreviewerOptions {
  allowedIngressNamespaces: readonly string[];
  log: Logger;
  /** The caches are synced: a preview of a half-listed cluster would be wrong. */
  readiness(): { ready: boolean };
  debounceMs?: number;
}

export class IsolationPreviewer {
  private readonly client: KubeClient;
  private readonly namespaces: NamespaceCache;
  private readonly cluster: ImpactCluster;
  private readonly options: IsolationPreviewerOptions;
  private readonly written = new Map<string, string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  /** Namespaces whose annotation is being removed (a namespace changes several times before the patch lands). */
  private readonly clearing = new Set<string>();
  private active = false;

  constructor(
    client: KubeClient,
    caches: { namespaces: NamespaceCache; policies: PolicyCache; workloads: WorkloadCache },
    cluster: ImpactCluster,
    options: IsolationPreviewerOptions,
  ) {
    this.client = client;
    this.namespaces = caches.namespaces;
    this.cluster = cluster;
    this.options = options;
    caches.namespaces.onChange((name, state) => {
      if (state === undefined) this.written.delete(name);
      else if (state.labels[ISOLATION_LABEL] === ISOLATION_PREVIEW) this.schedule(name);
      else this.clearIfStale(state);
    });
    caches.policies.onChange(() => this.scheduleAll());
    caches.workloads.onChange(() => this.scheduleAll());
  }

  private inPreview(): string[] {
    return this.namespaces
      .all()
      .filter((ns) => ns.labels[ISOLATION_LABEL] === ISOLATION_PREVIEW)
      .map((ns) => ns.name);
  }

  start(): void {
    this.active = true;
    this.scheduleAll();
    // Namespaces that left preview while no leader ran; those not listed yet are seen as they arrive.
    for (const state of this.namespaces.all()) this.clearIfStale(state);
  }

  async stop(): Promise<void> {
    this.active = false;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.all(this.running);
  }

  /** Resolves once nothing is scheduled or being written (tests). */
  async idle(): Promise<void> {
    while (this.timers.size > 0 || this.running.size > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  private scheduleAll() {
    for (const name of this.inPreview()) this.schedule(name);
  }

  private schedule(namespace: string) {
    if (!this.active || this.timers.has(namespace)) return;
    const timer = setTimeout(() => {
      this.timers.delete(namespace);
      this.track(this.refresh(namespace));
    }, this.options.debounceMs ?? 1000);
    this.timers.set(namespace, timer);
  }

  private track(work: Promise<void>) {
    this.running.add(work);
    void work.finally(() => this.running.delete(work));
  }

  private async refresh(namespace: string): Promise<void> {
    if (!this.active || this.namespaces.get(namespace)?.labels[ISOLATION_LABEL] !== ISOLATION_PREVIEW) return;
    if (!this.options.readiness().ready) return this.schedule(namespace);
    const { log } = this.options;
    try {
      const started = performance.now();
      const preview = previewOf(
        isolationImpact(this.cluster, namespace, this.options.allowedIngressNamespaces, PREVIEW_EXAMPLES),
      );
      const annotation = previewAnnotation(preview);
      if (this.written.get(namespace) === annotation) return;
      await this.client.mergePatch(
        namespacePath(namespace),
        { metadata: { annotations: { [ISOLATION_PREVIEW_ANNOTATION]: annotation } } },
        FIELD_MANAGER,
      );
      this.written.set(namespace, annotation);
      const message = previewMessage(preview);
      log.info(
        {
          namespace,
          cutsOff: preview.cutsOff,
          externalWorkloads: preview.externalWorkloads,
          ms: Math.round(performance.now() - started),
        },
        message,
      );
      // The API server wants an Event's involvedObject.namespace to be its own namespace (422 otherwise):
      // the Event about a Namespace lives in that namespace, where `kubectl get events -n` finds it.
      await recordObjectEvent(this.client, log, {
        namespace,
        involvedObject: { apiVersion: "v1", kind: "Namespace", name: namespace, namespace },
        reason: "IsolationPreview",
        message,
      });
    } catch (error) {
      // Retried on the next change or resync; a preview is never worth a crash loop.
      log.warn({ namespace, err: { message: (error as Error).message?.split("\n")[0] } }, "isolation preview failed");
    }
  }

  /** Out of preview: the annotation goes (the namespace is isolated now, or not at all). */
  private clearIfStale(state: NamespaceState) {
    if (state.labels[ISOLATION_LABEL] === ISOLATION_PREVIEW) return;
    this.written.delete(state.name);
    if (!this.active || !state.hasIsolationPreview || this.clearing.has(state.name)) return;
    this.clearing.add(state.name);
    this.track(this.clear(state.name).finally(() => this.clearing.delete(state.name)));
  }

  private async clear(namespace: string): Promise<void> {
    try {
      await this.client.mergePatch(
        namespacePath(namespace),
        { metadata: { annotations: { [ISOLATION_PREVIEW_ANNOTATION]: null } } },
        FIELD_MANAGER,
      );
    } catch (error) {
      this.options.log.warn(
        { namespace, err: { message: (error as Error).message?.split("\n")[0] } },
        "could not remove the isolation preview annotation",
      );
    }
  }
}
