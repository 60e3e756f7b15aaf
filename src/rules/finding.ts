import type { FieldPath } from "../field-path.ts";
import { RULES, type RuleId } from "./catalogue.ts";

export type Action = "deny" | "warn";

/** The one shape every rule, the webhook, the linter and the docs speak. */
export interface Finding {
  ruleId: RuleId;
  action: Action;
  /** Kubernetes-style field path, e.g. `spec.ingress[0].from[1].ipBlock.cidr`. */
  path: string;
  message: string;
}

/** A finding with the rule's default action; the engine applies the configured action later. */
export function finding(ruleId: RuleId, path: FieldPath, message: string): Finding {
  return { ruleId, action: RULES[ruleId].defaultAction, path: path.toString(), message };
}
