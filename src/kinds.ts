// The kinds netfence answers for, one entry each: the API group and kind it is sent under, the walk
// that hands its nodes to the rules, and, for the kinds the mutating webhook changes, the mutation.
// Anything not listed here is allowed untouched.
import { parseNetworkPolicy } from "./kube-objects.ts";
import { injectAllowedIngress } from "./mutate/inject-allowed-ingress.ts";
import type { RuleContext } from "./rules/context.ts";
import { walkConfigMap } from "./rules/kubeproxy.ts";
import { walkNamespace } from "./rules/namespace.ts";
import { walkNetworkPolicy } from "./rules/networkpolicy.ts";
import type { Visit } from "./rules/rule.ts";
import { walkService } from "./rules/service.ts";

/** Where an object sits, as the admission request (or the manifest) says. */
export interface ObjectAddress {
  namespace: string | undefined;
  name: string | undefined;
}

export interface KindEntry {
  group: string;
  kind: string;
  /** Visits every node of the object the rules look at. */
  validate(object: unknown, visit: Visit, address: ObjectAddress): void;
  /** The object as it should be stored: the same object when nothing changes. */
  mutate?(object: unknown, context: RuleContext): unknown;
}

const KINDS = [
  {
    group: "networking.k8s.io",
    kind: "NetworkPolicy",
    validate: walkNetworkPolicy,
    mutate(object: unknown, context: RuleContext): unknown {
      if (!context.namespaceIsolated) return object;
      const parsed = parseNetworkPolicy(object);
      // A malformed policy is left alone here; /validate explains what is wrong with it.
      if (!parsed.success) return object;
      const mutated = injectAllowedIngress(parsed.data, context.allowedIngressNamespaces);
      return mutated === parsed.data ? object : mutated;
    },
  },
  { group: "", kind: "Service", validate: walkService },
  {
    group: "",
    kind: "ConfigMap",
    validate: (object, visit, { namespace, name }) => walkConfigMap(object, visit, namespace, name),
  },
  { group: "", kind: "Namespace", validate: walkNamespace },
] as const satisfies readonly KindEntry[];

export type KindName = (typeof KINDS)[number]["kind"];

const BY_GROUP_KIND = new Map<string, KindEntry & { kind: KindName }>(
  KINDS.map((entry) => [`${entry.group}/${entry.kind}`, entry]),
);
const BY_NAME = new Map<string, KindEntry & { kind: KindName }>(KINDS.map((entry) => [entry.kind, entry]));

/** The entry for an API group and kind, or undefined for a kind netfence leaves alone. */
export function kindEntry(group: string, kind: string): (KindEntry & { kind: KindName }) | undefined {
  return BY_GROUP_KIND.get(`${group}/${kind}`);
}

export function kindNamed(kind: KindName): KindEntry & { kind: KindName } {
  return BY_NAME.get(kind)!;
}
