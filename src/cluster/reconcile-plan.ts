// What the reconciler must change in one namespace, decided by a pure function over the cached
// records, so that every case is a table row in a unit test:
// - isolated: the managed policy `netfence-isolation` exists exactly as netfence writes it, and every
//   other policy carries the allowedIngressNamespaces rule the mutating webhook would inject (the
//   webhook injects on write; this catches policies written while netfence was down or before the
//   namespace was isolated, and changes of the config);
// - not isolated: no managed policy is left, and every policy the webhook injected into is back to
//   what its team wrote: exactly the injected rule and the annotation are removed, nothing else.
import { isDeepStrictEqual } from "node:util";
import { asJson } from "../json.ts";
import type { NetworkPolicy, NetworkPolicyIngressRule } from "../kube-objects.ts";
import { injectAllowedIngress } from "../mutate/inject-allowed-ingress.ts";
import { INJECTED_ANNOTATION, ISOLATION_POLICY_NAME } from "../names.ts";
import { isolationPolicy } from "../isolation-policy.ts";
import type { PolicyRecord } from "./policy-cache.ts";

export type RepairReason =
  /** The managed policy does not exist in an isolated namespace. */
  | "isolation-policy-missing"
  /** The managed policy exists but differs from what netfence writes. */
  | "isolation-policy-edited"
  /** A managed policy is left in a namespace that is not isolated. */
  | "isolation-off"
  /** A policy in an isolated namespace lacks the injected rule. */
  | "injection-missing"
  /** A policy in an isolated namespace carries the rule for another list of namespaces. */
  | "injection-stale"
  /** A policy in a namespace that is not isolated still carries the injected rule or annotation. */
  | "injection-reverted";

export type Repair =
  | { action: "apply"; namespace: string; name: string; reason: "isolation-policy-missing"; policy: NetworkPolicy }
  /**
   * A whole replacement, conditional on the version seen: server-side apply would keep fields that
   * another manager added (a `matchLabels` narrowing the podSelector), so it cannot undo an edit.
   */
  | { action: "replace"; namespace: string; name: string; reason: "isolation-policy-edited"; policy: NetworkPolicy }
  | { action: "delete"; namespace: string; name: string; reason: "isolation-off" }
  | {
      action: "patch";
      namespace: string;
      name: string;
      reason: "injection-missing" | "injection-stale" | "injection-reverted";
      /** A JSON merge patch, conditional on the version it was computed from. */
      patch: {
        metadata: { resourceVersion: string; annotations: Record<string, string | null> };
        spec: { ingress: NetworkPolicyIngressRule[] | null };
      };
    };

export interface NamespacePlanInput {
  namespace: string;
  isolated: boolean;
  policies: readonly PolicyRecord[];
  allowedIngressNamespaces: readonly string[];
}

export function planNamespace({
  namespace,
  isolated,
  policies,
  allowedIngressNamespaces,
}: NamespacePlanInput): Repair[] {
  const repairs: Repair[] = [];
  const plan = (name: string, policy: PolicyRecord | undefined) => {
    const repair = planPolicy({ namespace, name, policy, isolated, allowedIngressNamespaces });
    if (repair !== undefined) repairs.push(repair);
  };
  // The managed policy first, whether it exists or not.
  if (isolated)
    plan(
      ISOLATION_POLICY_NAME,
      policies.find((policy) => policy.name === ISOLATION_POLICY_NAME),
    );
  for (const policy of policies) if (!(isolated && policy.name === ISOLATION_POLICY_NAME)) plan(policy.name, policy);
  return repairs;
}

export interface PolicyPlanInput {
  namespace: string;
  name: string;
  /** The policy as cached, or undefined when there is none of that name. */
  policy: PolicyRecord | undefined;
  isolated: boolean;
  allowedIngressNamespaces: readonly string[];
}

/**
 * The repair of one policy of the namespace, which depends on that policy alone: a policy's watch
 * event re-plans only it, not every policy of its namespace (a namespace with thousands of policies
 * would otherwise cost thousands of injections per write).
 */
export function planPolicy({
  namespace,
  name,
  policy,
  isolated,
  allowedIngressNamespaces,
}: PolicyPlanInput): Repair | undefined {
  if (isolated && name === ISOLATION_POLICY_NAME) {
    const desired = isolationPolicy(namespace, allowedIngressNamespaces);
    if (policy === undefined)
      return { action: "apply", namespace, name, reason: "isolation-policy-missing", policy: desired };
    if (sameAsDesired(policy, desired)) return undefined;
    return {
      action: "replace",
      namespace,
      name,
      reason: "isolation-policy-edited",
      policy: { ...desired, metadata: { ...desired.metadata, resourceVersion: policy.resourceVersion } },
    };
  }
  if (policy === undefined) return undefined;
  if (policy.managed && !isolated) return { action: "delete", namespace, name, reason: "isolation-off" };
  // Every other policy, the team's own and `netfence allow`'s, gets what the webhook would inject.
  return injectionRepair(policy, isolated ? allowedIngressNamespaces : NO_NAMESPACES);
}

function sameAsDesired(current: PolicyRecord, desired: NetworkPolicy): boolean {
  return (
    current.managed &&
    current.injectedAnnotation === desired.metadata?.annotations?.[INJECTED_ANNOTATION] &&
    isDeepStrictEqual(asJson(current.spec), asJson(desired.spec))
  );
}

const NO_NAMESPACES: readonly string[] = [];

/**
 * A record's injection repair, per list of namespaces: a cached record never changes (a new version
 * is a new record), so the reconciler's pass over a namespace of thousands of policies, after each
 * write to one of them, injects into the one that changed rather than into all of them again.
 */
const injectionRepairs = new WeakMap<PolicyRecord, { allowed: readonly string[]; repair: Repair | undefined }>();

function injectionRepair(record: PolicyRecord, allowed: readonly string[]): Repair | undefined {
  const memo = injectionRepairs.get(record);
  if (memo !== undefined && memo.allowed === allowed) return memo.repair;
  const repair = computeInjectionRepair(record, allowed);
  injectionRepairs.set(record, { allowed, repair });
  return repair;
}

/** The same pure function as the mutating webhook; with no namespaces it removes exactly what it added. */
function computeInjectionRepair(record: PolicyRecord, allowed: readonly string[]): Repair | undefined {
  const annotations =
    record.injectedAnnotation === undefined ? undefined : { [INJECTED_ANNOTATION]: record.injectedAnnotation };
  const current: NetworkPolicy = {
    metadata: { name: record.name, namespace: record.namespace, ...(annotations ? { annotations } : {}) },
    spec: record.spec,
  };
  const wanted = injectAllowedIngress(current, allowed);
  if (wanted === current) return undefined;
  const annotation = wanted.metadata?.annotations?.[INJECTED_ANNOTATION];
  const ingress = wanted.spec.ingress ?? [];
  const reason =
    allowed.length === 0 || annotation === undefined
      ? "injection-reverted"
      : record.injectedAnnotation === undefined
        ? "injection-missing"
        : "injection-stale";
  return {
    action: "patch",
    namespace: record.namespace,
    name: record.name,
    reason,
    patch: {
      metadata: { resourceVersion: record.resourceVersion, annotations: { [INJECTED_ANNOTATION]: annotation ?? null } },
      // The whole list: a merge patch replaces lists. Empty becomes absent, as the team wrote it.
      spec: { ingress: ingress.length > 0 ? ingress : null },
    },
  };
}
