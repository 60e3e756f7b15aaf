// SVC001-SVC002: Services that break allowlists or hide client addresses in isolated namespaces.
import { FieldPath } from "../field-path.ts";
import { parseService } from "../kube-objects.ts";
import { ALLOW_EMPTY_SELECTOR_ANNOTATION } from "../names.ts";
import { rule, type Visit } from "./rule.ts";

const SELECTING_TYPES = ["ClusterIP", "NodePort", "LoadBalancer"];
const EXTERNAL_TYPES = ["NodePort", "LoadBalancer"];

export const EMPTY_SELECTOR_MESSAGE =
  'a Service with no selector would make an allowlist entry select every pod of its namespace; add `spec.selector`, or annotate the Service `netfence.io/allow-empty-selector: "true"` if its endpoints are managed by hand';

/** A Service is one node; one of the wrong shape has nothing these rules could say about it. */
export function walkService(object: unknown, visit: Visit): void {
  const parsed = parseService(object);
  if (parsed.success) visit("service", parsed.data, FieldPath.root());
}

export const SVC001 = rule({
  id: "SVC001",
  kind: "Service",
  at: "service",
  defaultAction: "deny",
  title: "a Service with a missing or empty selector, in an isolated namespace",
  why: "an allowlist entry built from this Service would select every pod of its namespace.",
  fix: 'give the Service a selector, or annotate it `netfence.io/allow-empty-selector: "true"` when its Endpoints are managed by hand.',
  example: {
    yaml: "apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: team-a}\nspec:\n  ports:\n  - {port: 80, targetPort: 8080}\n",
    isolated: true,
  },
  check: (service, path, context) => {
    const inScope =
      context.emptySelectorScope === "all" || (context.emptySelectorScope === "isolated" && context.namespaceIsolated);
    const optedOut = service.metadata?.annotations?.[ALLOW_EMPTY_SELECTOR_ANNOTATION] === "true";
    const type = service.spec?.type ?? "ClusterIP";
    if (!inScope || optedOut || !SELECTING_TYPES.includes(type) || Object.keys(service.spec?.selector ?? {}).length > 0)
      return [];
    // Always the selector's own path, present or not: ratcheting compares the value there, so an old
    // selector-less Service stays editable.
    return [{ path: path.child("spec", "selector"), message: EMPTY_SELECTOR_MESSAGE }];
  },
});

export const SVC002 = rule({
  id: "SVC002",
  kind: "Service",
  at: "service",
  defaultAction: "warn",
  title: "a NodePort or LoadBalancer Service without externalTrafficPolicy Local, in an isolated namespace",
  why: "with `Cluster` the node SNATs external clients: ipBlock rules see the node's address, not the client's.",
  fix: "set `spec.externalTrafficPolicy: Local`.",
  example: {
    yaml: "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: team-a}\nspec:\n  type: LoadBalancer\n  selector: {app: web}\n  ports:\n  - {port: 443}\n",
    isolated: true,
  },
  check: (service, path, context) => {
    const type = service.spec?.type ?? "ClusterIP";
    if (!context.namespaceIsolated || !EXTERNAL_TYPES.includes(type) || service.spec?.externalTrafficPolicy === "Local")
      return [];
    return [
      {
        path: path.child("spec", "type"),
        message: `a ${type} Service with externalTrafficPolicy \`${service.spec?.externalTrafficPolicy ?? "Cluster"}\` hides client addresses from ipBlock rules; set \`spec.externalTrafficPolicy: Local\``,
      },
    ];
  },
});
