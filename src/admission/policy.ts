// Config plus the cluster's namespace view, turned into what the admission handlers ask for.
import type { Config } from "../config.ts";
import type { RuleContext } from "../rules/context.ts";
import type { AdmissionPolicy } from "./handle.ts";

export interface NamespaceView {
  isIsolated(namespace: string): boolean;
}

export function admissionPolicy(config: Config, view?: NamespaceView): AdmissionPolicy {
  const configured = new Set(config.isolatedNamespaces);
  const base = {
    allowedIngressNamespaces: config.allowedIngressNamespaces,
    podCIDRs: config.podCIDRs,
    emptySelectorScope: config.services.emptySelector,
  };
  const isolated: RuleContext = Object.freeze({ ...base, namespaceIsolated: true });
  const open: RuleContext = Object.freeze({ ...base, namespaceIsolated: false });
  return {
    actions: config.rules,
    contextFor(namespace) {
      if (namespace === undefined || namespace === "") return open;
      return configured.has(namespace) || view?.isIsolated(namespace) === true ? isolated : open;
    },
  };
}
