// Injection of the allowedIngressNamespaces rule into NetworkPolicies of isolated namespaces, so that
// monitoring, ingress gateways and system namespaces keep reaching every pod whatever the
// namespace's own policies say. Pure: returns the changed policy, or the same object when nothing
// changes; the JSONPatch is the difference, computed elsewhere.
import { isDeepStrictEqual } from "node:util";
import { asJson } from "../json.ts";
import type { NetworkPolicy, NetworkPolicyIngressRule } from "../kube-objects.ts";
import { INJECTED_ANNOTATION, NAMESPACE_NAME_LABEL } from "../names.ts";
import { effectivePolicyTypes } from "../rules/networkpolicy.ts";

export function normalizeNamespaces(namespaces: readonly string[]): string[] {
  return [...new Set(namespaces)].sort();
}

/** The rule that admits the allowed namespaces; the reconciler's managed policy uses the same one. */
export function allowedIngressRule(namespaces: readonly string[]): NetworkPolicyIngressRule {
  return {
    from: [
      {
        namespaceSelector: {
          matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: "In", values: normalizeNamespaces(namespaces) }],
        },
      },
    ],
  };
}

function previouslyInjected(policy: NetworkPolicy): string[] | undefined {
  const value = policy.metadata?.annotations?.[INJECTED_ANNOTATION];
  return value === undefined ? undefined : value.split(",").filter((name) => name !== "");
}

export function injectAllowedIngress(policy: NetworkPolicy, allowedNamespaces: readonly string[]): NetworkPolicy {
  const wanted = normalizeNamespaces(allowedNamespaces);
  const inject = wanted.length > 0 && effectivePolicyTypes(policy.spec).has("Ingress");
  const wantedRule = inject ? allowedIngressRule(wanted) : undefined;
  const previous = previouslyInjected(policy);
  const staleRule = previous !== undefined && previous.length > 0 ? allowedIngressRule(previous) : undefined;

  const ingress = policy.spec.ingress ?? [];
  // Compared as JSON: a rule sent with `ports: null` is the same rule.
  const same = (rule: NetworkPolicyIngressRule, other: NetworkPolicyIngressRule | undefined) =>
    other !== undefined && isDeepStrictEqual(asJson(rule), other);
  let rules = ingress.filter((rule) => staleRule === undefined || same(rule, wantedRule) || !same(rule, staleRule));
  if (wantedRule !== undefined && !rules.some((rule) => same(rule, wantedRule))) rules = [...rules, wantedRule];

  const annotation = inject ? wanted.join(",") : undefined;
  const rulesChanged = rules.length !== ingress.length || rules.some((rule, i) => rule !== ingress[i]);
  const annotationChanged = annotation !== policy.metadata?.annotations?.[INJECTED_ANNOTATION];
  if (!rulesChanged && !annotationChanged) return policy;

  const annotations = { ...policy.metadata?.annotations };
  if (annotation === undefined) delete annotations[INJECTED_ANNOTATION];
  else annotations[INJECTED_ANNOTATION] = annotation;
  const metadata = { ...policy.metadata };
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  else delete metadata.annotations;
  const spec = { ...policy.spec };
  if (rules.length > 0 || policy.spec.ingress !== undefined) spec.ingress = rules;
  return { ...policy, metadata, spec };
}
