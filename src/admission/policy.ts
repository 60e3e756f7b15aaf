// Config plus the cluster's namespace view, turned into what the admission handlers ask for.
import type { Config } from "../config.ts";
import type { RuleContext } from "../rules/context.ts";
import type { AdmissionPolicy } from "./handle.ts";

export interface NamespaceView {
  isIsolated(namespace: string): boolean;
}

/** The one answer to "is this namespace isolated?": listed in the config, or switched on in the cluster. */
export function isolationPredicate(config: Config, view?: NamespaceView): (namespace: string) => boolean {
  const configured = new Set(config.isolatedNamespaces);
  return (namespace) => configured.has(namespace) || view?.isIsolated(namespace) === true;
}

export function admissionPolicy(config: Config, view?: NamespaceView): AdmissionPolicy {
  const isIsolated = isolationPredicate(config, view);
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
      return isIsolated(namespace) ? isolated : open;
    },
  };
}
