// The policy the reconciler keeps in every isolated namespace: ingress only from the namespace itself,
// plus the allowedIngressNamespaces rule from the same pure function the mutating webhook uses (so
// the webhook finds nothing to change when it sees this policy).
import type { NetworkPolicy } from "./kube-objects.ts";
import { injectAllowedIngress } from "./mutate/inject-allowed-ingress.ts";
import { ISOLATION_POLICY_NAME, MANAGED_BY, MANAGED_BY_LABEL } from "./names.ts";

export function isolationPolicy(namespace: string, allowedIngressNamespaces: readonly string[]): NetworkPolicy {
  const base: NetworkPolicy = {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: ISOLATION_POLICY_NAME, namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } },
    spec: { podSelector: {}, policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: {} }] }] },
  };
  return injectAllowedIngress(base, allowedIngressNamespaces);
}
