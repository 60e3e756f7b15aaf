// The impact check on the admission path: a NetworkPolicy CREATE, UPDATE or DELETE becomes the
// impact rules' findings (NP050-NP053), within a time budget, and never anything worse than a
// warning unless a rule is configured to deny. Past the deadline, with the pod cache not ready, or
// on any error (logged), the answer is NP052 "not computed" and the request goes on.
import type { Logger } from "pino";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { AdmissionRequest } from "../admission/review.ts";
import type { PolicyInput } from "../connectivity/model.ts";
import { FieldPath } from "../field-path.ts";
import { parseNetworkPolicy } from "../kube-objects.ts";
import { DEFAULT_RULE_CONTEXT } from "../rules/context.ts";
import type { Finding } from "../rules/finding.ts";
import { findingsAt, type RuleActions } from "../rules/index.ts";
import { RULES } from "../rules/registry.ts";
import { Deadline, DeadlineExceeded } from "./deadline.ts";
import { impactOf } from "./impact.ts";
import type { ImpactCluster, PolicyChange } from "./model.ts";
import type { ImpactOutcome } from "./outcome.ts";

export function impactMetrics(registry: Registry) {
  return {
    duration: new Histogram({
      name: "netfence_impact_duration_seconds",
      help: "Time the impact check took per NetworkPolicy request, including checks that ran out of time.",
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers: [registry],
    }),
    skipped: new Counter({
      name: "netfence_impact_skipped_total",
      help: "NetworkPolicy requests answered without impact, by reason: deadline, not-ready, error, too-large.",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    podCacheSynced: new Gauge({
      name: "netfence_pod_cache_synced",
      help: "1 once the pod cache (for impact warnings and isolation previews) has listed all pods and its watch is healthy.",
      registers: [registry],
    }),
    podCacheSize: new Gauge({
      name: "netfence_pod_cache_pods",
      help: "Pods in the cache (host-network and finished pods are not kept).",
      registers: [registry],
    }),
    podCacheRestarts: new Counter({
      name: "netfence_pod_cache_restarts_total",
      help: "Pod watch restarts after an error or a closed connection.",
      registers: [registry],
    }),
  };
}

export type ImpactMetrics = ReturnType<typeof impactMetrics>;

export interface ImpactCheckOptions {
  /** The cluster as the caches hold it now. */
  cluster: ImpactCluster;
  /** Whether the caches can be trusted (synced, not stale). */
  readiness(): { ready: boolean; reason?: string };
  allowedIngressNamespaces: readonly string[];
  deadlineMs: number;
  actions: RuleActions;
  metrics: ImpactMetrics;
  log: Logger;
  /** Milliseconds, for the deadline; tests move it. */
  now?: () => number;
}

/**
 * The impact findings of a request. `tooLarge` says why its object is too large to be looked at on
 * the thread that holds the caches (the route decides such requests in a worker thread): the answer
 * is then NP052 with that reason, without parsing the object.
 */
export type ImpactCheck = (request: AdmissionRequest, tooLarge?: string) => Finding[];

const IMPACT_RULES = RULES.at("impact").map((rule) => rule.id);

function policyInput(object: unknown, namespace: string, name: string | undefined): PolicyInput | undefined {
  const parsed = parseNetworkPolicy(object);
  const policyName = name ?? (parsed.success ? parsed.data.metadata?.name : undefined);
  return parsed.success && policyName !== undefined ? { namespace, name: policyName, policy: parsed.data } : undefined;
}

const isPolicyWrite = (request: AdmissionRequest): request is AdmissionRequest & { namespace: string } =>
  request.group === "networking.k8s.io" &&
  request.kind === "NetworkPolicy" &&
  request.namespace !== undefined &&
  request.operation !== "CONNECT";

/** The change a request makes, or undefined when it is not a NetworkPolicy write the check understands. */
export function changeOf(request: AdmissionRequest): PolicyChange | undefined {
  if (!isPolicyWrite(request)) return undefined;
  const { namespace, name } = request;
  const stored =
    request.operation === "UPDATE" || request.operation === "DELETE"
      ? policyInput(request.oldObject, namespace, name)
      : undefined;
  const written =
    request.operation === "CREATE" || request.operation === "UPDATE"
      ? policyInput(request.object, namespace, name)
      : undefined;
  if (written === undefined && stored === undefined) return undefined;
  return { namespace, before: stored ? [stored] : [], after: written ? [written] : [] };
}

export function impactCheck(options: ImpactCheckOptions): ImpactCheck {
  const { metrics, log, actions } = options;
  const active = IMPACT_RULES.filter((id) => actions[id] !== "off");
  const findingsFor = (outcome: ImpactOutcome): Finding[] =>
    findingsAt(RULES, "impact", outcome, FieldPath.root(), DEFAULT_RULE_CONTEXT).flatMap((finding) => {
      const action = actions[finding.ruleId] ?? finding.action;
      return action === "off" ? [] : [{ ...finding, action }];
    });
  return (request, tooLarge) => {
    if (active.length === 0) return [];
    try {
      if (tooLarge !== undefined) {
        if (!isPolicyWrite(request)) return [];
        metrics.skipped.inc({ reason: "too-large" });
        return findingsFor({ skipped: tooLarge });
      }
      const change = changeOf(request);
      if (change === undefined) return [];
      const readiness = options.readiness();
      if (!readiness.ready) {
        metrics.skipped.inc({ reason: "not-ready" });
        return findingsFor({ skipped: readiness.reason ?? "the pod cache is not ready" });
      }
      const started = performance.now();
      let outcome: ImpactOutcome;
      try {
        const deadline = new Deadline(options.deadlineMs, options.now);
        outcome = {
          impact: impactOf(options.cluster, change, {
            allowedIngressNamespaces: options.allowedIngressNamespaces,
            deadline,
          }),
        };
      } catch (error) {
        if (!(error instanceof DeadlineExceeded)) throw error;
        metrics.skipped.inc({ reason: "deadline" });
        log.info(
          { uid: request.uid, namespace: request.namespace, name: request.name, deadlineMs: options.deadlineMs },
          "impact check ran out of time",
        );
        outcome = { skipped: `took longer than ${options.deadlineMs} ms (impact.deadlineMs)` };
      } finally {
        metrics.duration.observe((performance.now() - started) / 1000);
      }
      return findingsFor(outcome);
    } catch (error) {
      // A bug here must never become a denial or a 500: the request goes on, and the log says why.
      metrics.skipped.inc({ reason: "error" });
      log.error(
        {
          uid: request.uid,
          err: {
            message: (error as Error)?.message,
            stack: (error as Error)?.stack?.split("\n").slice(0, 6).join("\n"),
          },
        },
        "impact check failed",
      );
      try {
        return findingsFor({ skipped: "internal error (see the netfence logs)" });
      } catch {
        return [];
      }
    }
  };
}
