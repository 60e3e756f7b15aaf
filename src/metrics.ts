// Prometheus metrics, on a registry of their own so that several apps (tests) never collide.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export function createMetrics(options: { processMetrics?: boolean } = {}) {
  const registry = new Registry();
  let oldestDriftSeconds: () => number | undefined = () => undefined;
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: "netfence_" });
  return {
    registry,
    admissionRequests: new Counter({
      name: "netfence_admission_requests_total",
      help: "AdmissionReview requests answered, by webhook, kind, operation and decision.",
      labelNames: ["webhook", "kind", "operation", "decision"] as const,
      registers: [registry],
    }),
    admissionDuration: new Histogram({
      name: "netfence_admission_duration_seconds",
      help: "Time from a parsed AdmissionReview to its answer, by webhook.",
      labelNames: ["webhook"] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers: [registry],
    }),
    findings: new Counter({
      name: "netfence_findings_total",
      help: "Findings reported in admission answers, by rule ID and action.",
      labelNames: ["rule", "action"] as const,
      registers: [registry],
    }),
    badRequests: new Counter({
      name: "netfence_bad_requests_total",
      help: "Requests refused before any decision (not an AdmissionReview, too large, wrong content type), by HTTP status.",
      labelNames: ["status"] as const,
      registers: [registry],
    }),
    injections: new Counter({
      name: "netfence_injections_total",
      help: "NetworkPolicies patched with the allowedIngressNamespaces rule.",
      registers: [registry],
    }),
    certificateReloads: new Counter({
      name: "netfence_certificate_reloads_total",
      help: "Serving certificate reloads, by result.",
      labelNames: ["result"] as const,
      registers: [registry],
    }),
    kubeProxyMasqueradeAll: new Gauge({
      name: "netfence_kube_proxy_masquerade_all",
      help: "1 when the live kube-system/kube-proxy ConfigMap turns masqueradeAll on, 0 when not (absent when unreadable).",
      registers: [registry],
    }),
    namespaceCacheSynced: new Gauge({
      name: "netfence_namespace_cache_synced",
      help: "1 once the namespace informer has listed all namespaces and its watch is healthy.",
      registers: [registry],
    }),
    namespaceCacheSize: new Gauge({
      name: "netfence_namespace_cache_namespaces",
      help: "Namespaces in the cache, by isolation.",
      labelNames: ["isolated"] as const,
      registers: [registry],
    }),
    informerRestarts: new Counter({
      name: "netfence_informer_restarts_total",
      help: "Watch restarts (namespace and NetworkPolicy caches) after an error or a closed connection.",
      registers: [registry],
    }),
    reconcileActions: new Counter({
      name: "netfence_reconcile_actions_total",
      help: "Reconciler writes to NetworkPolicies (apply, delete, patch), by action and result.",
      labelNames: ["action", "result"] as const,
      registers: [registry],
    }),
    policyCacheSynced: new Gauge({
      name: "netfence_networkpolicy_cache_synced",
      help: "1 once the NetworkPolicy cache has listed all policies and its watch is healthy.",
      registers: [registry],
    }),
    policyCacheSize: new Gauge({
      name: "netfence_networkpolicy_cache_policies",
      help: "NetworkPolicies in the cache.",
      registers: [registry],
    }),
    reconcileRepairs: new Counter({
      name: "netfence_reconcile_repairs_total",
      help: "Changes the reconciler made, by reason: isolation-on, isolation-off, isolation-policy-deleted, isolation-policy-edited, injection-missing, injection-stale, injection-reverted.",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    reconcilePending: new Gauge({
      name: "netfence_reconcile_pending",
      help: "NetworkPolicies that differ from what isolation requires and are waiting for the reconciler (debounce, write rate limit, retries).",
      registers: [registry],
    }),
    reconcileOldestDrift: new Gauge({
      name: "netfence_reconcile_oldest_drift_seconds",
      help: "Age of the oldest drift the reconciler has seen and not yet repaired; 0 when there is none.",
      registers: [registry],
      collect() {
        this.set(oldestDriftSeconds() ?? 0);
      },
    }),
    leader: new Gauge({
      name: "netfence_leader",
      help: "1 while this replica holds the leader Lease and runs the reconciler, 0 otherwise.",
      registers: [registry],
    }),
    /** The reconciler tells the oldest-drift gauge where to read its age. */
    setOldestDriftSource(source: () => number | undefined) {
      oldestDriftSeconds = source;
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
