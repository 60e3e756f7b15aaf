// SVC001-SVC002: Services that break allowlists or hide client addresses in isolated namespaces.
import { FieldPath } from "../field-path.ts";
import { ServiceSchema } from "../kube-objects.ts";
import type { RuleContext } from "./context.ts";
import { finding, type Finding } from "./finding.ts";

export const ALLOW_EMPTY_SELECTOR_ANNOTATION = "netfence.io/allow-empty-selector";
const SELECTING_TYPES = ["ClusterIP", "NodePort", "LoadBalancer"];
const EXTERNAL_TYPES = ["NodePort", "LoadBalancer"];

export const EMPTY_SELECTOR_MESSAGE =
  "a Service with no selector would make an allowlist entry select every pod of its namespace; add `spec.selector`, or annotate the Service `netfence.io/allow-empty-selector: \"true\"` if its endpoints are managed by hand";

export function serviceFindings(object: unknown, context: RuleContext): Finding[] {
  const parsed = ServiceSchema.safeParse(object);
  if (!parsed.success) return [];
  const service = parsed.data;
  const type = service.spec?.type ?? "ClusterIP";
  const findings: Finding[] = [];
  const inScope = context.emptySelectorScope === "all" || (context.emptySelectorScope === "isolated" && context.namespaceIsolated);
  const optedOut = service.metadata?.annotations?.[ALLOW_EMPTY_SELECTOR_ANNOTATION] === "true";
  if (inScope && !optedOut && SELECTING_TYPES.includes(type) && Object.keys(service.spec?.selector ?? {}).length === 0) {
    // Always the selector's own path, present or not: ratcheting compares the value there, so an old
    // selector-less Service stays editable.
    findings.push(finding("SVC001", FieldPath.root("spec", "selector"), EMPTY_SELECTOR_MESSAGE));
  }
  if (context.namespaceIsolated && EXTERNAL_TYPES.includes(type) && service.spec?.externalTrafficPolicy !== "Local") {
    findings.push(
      finding(
        "SVC002",
        FieldPath.root("spec", "type"),
        `a ${type} Service with externalTrafficPolicy \`${service.spec?.externalTrafficPolicy ?? "Cluster"}\` hides client addresses from ipBlock rules; set \`spec.externalTrafficPolicy: Local\``,
      ),
    );
  }
  return findings;
}
