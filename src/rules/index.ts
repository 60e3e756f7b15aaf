// The rule engine: a kind's walk hands each node to the registry's rules for its site; then the
// configured actions, and UPDATE ratcheting. The webhook, the linter and the audit all call
// `evaluate`; nothing else decides a finding's action.
import { isDeepStrictEqual } from "node:util";
import { valueAtPath, type FieldPath } from "../field-path.ts";
import { kindNamed, type KindName } from "../kinds.ts";
import type { RuleContext } from "./context.ts";
import type { Finding } from "./finding.ts";
import { RULES, type RuleActions, type RuleRegistry } from "./registry.ts";
import type { AnyRule, Problem, Site, Sites } from "./rule.ts";

export type { RuleActions } from "./registry.ts";
export type SubjectKind = KindName;

export interface Subject {
  kind: KindName;
  namespace: string | undefined;
  name: string | undefined;
  object: unknown;
  /** The stored object on UPDATE. */
  oldObject?: unknown;
}

/** A problem a rule reported, as a finding with the rule's ID and default action. */
export function findingOf(rule: AnyRule, problem: Problem): Finding {
  return { ruleId: rule.id, action: rule.defaultAction, path: problem.path.toString(), message: problem.message };
}

/** The findings of the rules at one site for one node, with their default actions. */
export function findingsAt<S extends Site>(
  registry: RuleRegistry,
  site: S,
  node: Sites[S]["node"],
  path: FieldPath,
  context: RuleContext,
): Finding[] {
  const findings: Finding[] = [];
  for (const rule of registry.at(site)) {
    for (const problem of rule.check(node, path, context)) findings.push(findingOf(rule as AnyRule, problem));
  }
  return findings;
}

function ruleFindings(subject: Subject, object: unknown, context: RuleContext, registry: RuleRegistry): Finding[] {
  const findings: Finding[] = [];
  kindNamed(subject.kind).validate(
    object,
    (site, node, path) => {
      // A loop, not push(...spread): one node can have 100,000 findings, past the argument limit.
      for (const f of findingsAt(registry, site, node, path, context)) findings.push(f);
    },
    subject,
  );
  return findings;
}

function withActions(findings: Finding[], actions: RuleActions, registry: RuleRegistry): Finding[] {
  const out: Finding[] = [];
  for (const f of findings) {
    const configured = actions[f.ruleId] ?? f.action;
    // Config validation refuses such a denial; this keeps a config built in code from giving one.
    const action = configured === "deny" && registry.get(f.ruleId)?.maxAction === "warn" ? "warn" : configured;
    if (action !== "off") out.push(action === f.action ? f : { ...f, action });
  }
  return out;
}

const GRANDFATHERED_PREFIX = "already stored, allowed on update (fix it when you can): ";

/**
 * Findings for an object, with configured actions applied. On UPDATE a denial the stored object
 * already had, at the same field with the same value, becomes a warning, as Kubernetes ratchets
 * CIDR validation: nobody is locked out of editing an old object.
 */
export function evaluate(
  subject: Subject,
  context: RuleContext,
  actions: RuleActions,
  registry: RuleRegistry = RULES,
): Finding[] {
  const findings = withActions(ruleFindings(subject, subject.object, context, registry), actions, registry);
  if (subject.oldObject === undefined || subject.oldObject === null || !findings.some((f) => f.action === "deny"))
    return findings;
  // Looked up by rule and path, not compared pairwise: 100,000 denials in both objects must cost
  // 100,000 lookups, not 10^10 comparisons.
  const storedDenials = new Set<string>();
  for (const old of withActions(ruleFindings(subject, subject.oldObject, context, registry), actions, registry)) {
    if (old.action === "deny") storedDenials.add(`${old.ruleId} ${old.path}`);
  }
  return findings.map((f) => {
    if (f.action !== "deny" || !storedDenials.has(`${f.ruleId} ${f.path}`)) return f;
    const unchanged = isDeepStrictEqual(valueAtPath(subject.oldObject, f.path), valueAtPath(subject.object, f.path));
    return unchanged ? { ...f, action: "warn", message: GRANDFATHERED_PREFIX + f.message } : f;
  });
}
