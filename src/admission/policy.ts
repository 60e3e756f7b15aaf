// Config plus the cluster's namespace view, turned into what the admission handlers ask for.
import type { Config } from "../config.ts";
import { ruleContexts, type NamespaceView } from "../isolation.ts";
import type { AdmissionPolicy } from "./handle.ts";

export function admissionPolicy(config: Config, view?: NamespaceView): AdmissionPolicy {
  return { actions: config.rules, contextFor: ruleContexts(config, view) };
}
