import type { Cidr } from "./cidr.ts";
import { masqueradeAllModes, type MasqueradeAll } from "./kubeproxy.ts";

/** Everything a rule may know beyond the object itself. A plain value: rules never do I/O. */
export interface RuleContext {
  /** The object's namespace is isolated (label, annotation, or config). */
  namespaceIsolated: boolean;
  allowedIngressNamespaces: readonly string[];
  podCIDRs: readonly Cidr[];
  emptySelectorScope: "isolated" | "all" | "off";
  /** How a kube-proxy `config.conf` is read: pure; the edges pass one that remembers its last answer. */
  readKubeProxyConfig: (configConf: string) => MasqueradeAll;
}

export const DEFAULT_RULE_CONTEXT: RuleContext = {
  namespaceIsolated: false,
  allowedIngressNamespaces: [],
  podCIDRs: [],
  emptySelectorScope: "isolated",
  readKubeProxyConfig: masqueradeAllModes,
};
