import { parse } from "yaml";
import { DEFAULT_RULE_CONTEXT, type RuleContext } from "../../src/rules/context.ts";
import { kindEntry } from "../../src/kinds.ts";
import { evaluate, type RuleActions } from "../../src/rules/index.ts";

/** Findings for one object as the engine gives them, as [rule, action, path] triples. */
export function findingsOf(
  object: any,
  options: { context?: Partial<RuleContext>; actions?: RuleActions; oldObject?: unknown } = {},
) {
  const [group] = String(object?.apiVersion ?? "networking.k8s.io/v1")
    .split("/")
    .reverse()
    .slice(1);
  const kind = kindEntry(group ?? "", object?.kind ?? "NetworkPolicy")?.kind ?? "NetworkPolicy";
  return evaluate(
    {
      kind,
      namespace: object?.metadata?.namespace,
      name: object?.metadata?.name,
      object,
      oldObject: options.oldObject,
    },
    { ...DEFAULT_RULE_CONTEXT, ...options.context },
    options.actions ?? {},
  );
}

export const triples = (findings: ReturnType<typeof findingsOf>) => findings.map((f) => [f.ruleId, f.action, f.path]);

export const fromYaml = (text: string) => parse(text);
