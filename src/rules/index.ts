// The rule engine: which family applies to which kind, configured actions, and UPDATE ratcheting.
// The webhook, the linter and the audit all call `evaluate`; nothing else decides a finding's action.
import { isDeepStrictEqual } from "node:util";
import { valueAtPath } from "../field-path.ts";
import type { RuleId } from "./catalogue.ts";
import type { RuleContext } from "./context.ts";
import type { Finding } from "./finding.ts";
import { isKubeProxyConfigMap, kubeProxyFindings } from "./kubeproxy.ts";
import { namespaceFindings } from "./namespace.ts";
import { networkPolicyFindings } from "./networkpolicy.ts";
import { serviceFindings } from "./service.ts";

export type RuleActions = Partial<Record<RuleId, "deny" | "warn" | "off">>;

export type SubjectKind = "NetworkPolicy" | "Service" | "ConfigMap" | "Namespace";

export interface Subject {
  kind: SubjectKind;
  namespace: string | undefined;
  name: string | undefined;
  object: unknown;
  /** The stored object on UPDATE. */
  oldObject?: unknown;
}

const KINDS: Record<string, SubjectKind> = {
  "networking.k8s.io/NetworkPolicy": "NetworkPolicy",
  "/Service": "Service",
  "/ConfigMap": "ConfigMap",
  "/Namespace": "Namespace",
};

/** The kinds netfence has rules for, by API group and kind; anything else is left alone. */
export function subjectKind(group: string, kind: string): SubjectKind | undefined {
  return KINDS[`${group}/${kind}`];
}

function ruleFindings(subject: Subject, object: unknown, context: RuleContext): Finding[] {
  switch (subject.kind) {
    case "NetworkPolicy":
      return networkPolicyFindings(object, context);
    case "Service":
      return serviceFindings(object, context);
    case "ConfigMap":
      return isKubeProxyConfigMap(subject.namespace, subject.name) ? kubeProxyFindings(object) : [];
    case "Namespace":
      return namespaceFindings(object);
  }
}

function withActions(findings: Finding[], actions: RuleActions): Finding[] {
  const out: Finding[] = [];
  for (const f of findings) {
    const action = actions[f.ruleId] ?? f.action;
    if (action !== "off") out.push(action === f.action ? f : { ...f, action });
  }
  return out;
}

export const GRANDFATHERED_PREFIX = "already stored, allowed on update (fix it when you can): ";

/**
 * Findings for an object, with configured actions applied. On UPDATE a denial the stored object
 * already had, at the same field with the same value, becomes a warning, as Kubernetes ratchets
 * CIDR validation: nobody is locked out of editing an old object.
 */
export function evaluate(subject: Subject, context: RuleContext, actions: RuleActions): Finding[] {
  const findings = withActions(ruleFindings(subject, subject.object, context), actions);
  if (subject.oldObject === undefined || subject.oldObject === null || !findings.some((f) => f.action === "deny")) return findings;
  const stored = withActions(ruleFindings(subject, subject.oldObject, context), actions);
  return findings.map((f) => {
    if (f.action !== "deny") return f;
    const grandfathered = stored.some(
      (old) =>
        old.ruleId === f.ruleId &&
        old.path === f.path &&
        old.action === "deny" &&
        isDeepStrictEqual(valueAtPath(subject.oldObject, old.path), valueAtPath(subject.object, f.path)),
    );
    return grandfathered ? { ...f, action: "warn", message: GRANDFATHERED_PREFIX + f.message } : f;
  });
}
