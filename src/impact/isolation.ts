// Isolation as a policy change: what the namespace's policies become when netfence isolates it (the
// managed `netfence-isolation` policy added, the allowed namespaces injected into the team's
// policies), through the same functions the reconciler, the mutating webhook and the connectivity
// engine's `clusterFromObjects` (which `netfence explain --isolate` uses) apply.
import type { PolicyInput } from "../connectivity/model.ts";
import { isolationPolicy } from "../isolation-policy.ts";
import type { NetworkPolicy } from "../kube-objects.ts";
import { injectAllowedIngress } from "../mutate/inject-allowed-ingress.ts";
import { ISOLATION_POLICY_NAME } from "../names.ts";
import { impactOf, type Impact } from "./impact.ts";
import type { ImpactCluster, PolicyChange } from "./model.ts";

export function isolationChange(
  namespace: string,
  policies: readonly PolicyInput[],
  allowedIngressNamespaces: readonly string[],
): PolicyChange {
  const before = policies.filter((p) => p.name !== ISOLATION_POLICY_NAME);
  const after = before.map((p) => ({
    ...p,
    policy: injectAllowedIngress(p.policy as NetworkPolicy, allowedIngressNamespaces),
  }));
  const managed = {
    namespace,
    name: ISOLATION_POLICY_NAME,
    policy: isolationPolicy(namespace, allowedIngressNamespaces),
  };
  const stored = policies.find((p) => p.name === ISOLATION_POLICY_NAME);
  return { namespace, before: stored ? [...before, stored] : before, after: [...after, managed] };
}

/** What isolating `namespace` would cut off (and open: nothing, unless a stored policy is odd) among the workloads running now. */
export function isolationImpact(
  cluster: ImpactCluster,
  namespace: string,
  allowedIngressNamespaces: readonly string[],
  examples = 5,
): Impact {
  return impactOf(cluster, isolationChange(namespace, cluster.policiesIn(namespace), allowedIngressNamespaces), {
    allowedIngressNamespaces,
    examples,
  });
}
