import type { Action } from "./rule.ts";

export type { Action } from "./rule.ts";

/** The one shape every rule, the webhook, the linter and the docs speak. */
export interface Finding {
  /** A rule ID of the registry, e.g. `NP021`. */
  ruleId: string;
  action: Action;
  /** Kubernetes-style field path, e.g. `spec.ingress[0].from[1].ipBlock.cidr`. */
  path: string;
  message: string;
}
