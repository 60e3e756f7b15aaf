// Is a namespace isolated, and why? And what do the rules know about an object in it? Decided here
// only, for admission, the reconciler, lint and audit. The label is netfence's own switch; the
// annotations are honoured for clusters coming from KubeSphere and from the pre-v1 NetworkPolicy
// API; the config's `isolatedNamespaces` is for GitOps-managed guardrails and running standalone.
import type { Config } from "./config.ts";
import { ISOLATION_LABEL, KUBESPHERE_ANNOTATION, LEGACY_ANNOTATION } from "./names.ts";
import type { RuleContext } from "./rules/context.ts";
import { kubeProxyConfigReader } from "./rules/kubeproxy.ts";

export interface NamespaceMetadata {
  labels?: Readonly<Record<string, string>> | undefined;
  annotations?: Readonly<Record<string, string>> | undefined;
}

export type Isolation =
  | { isolated: boolean; source: "label" | "kubesphere-annotation" | "legacy-annotation" | "none" }
  | { isolated: false; source: "malformed-legacy-annotation"; problem: string };

/** What a Namespace's own labels and annotations say. */
export function isolationOf(metadata: NamespaceMetadata): Isolation {
  if (metadata.labels?.[ISOLATION_LABEL] === "enabled") return { isolated: true, source: "label" };
  if (metadata.annotations?.[KUBESPHERE_ANNOTATION] === "enabled")
    return { isolated: true, source: "kubesphere-annotation" };
  const legacy = metadata.annotations?.[LEGACY_ANNOTATION];
  if (legacy === undefined) return { isolated: false, source: "none" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(legacy);
  } catch {
    return { isolated: false, source: "malformed-legacy-annotation", problem: "is not valid JSON" };
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return {
      isolated: false,
      source: "malformed-legacy-annotation",
      problem: 'must be a JSON object such as {"ingress":{"isolation":"DefaultDeny"}}',
    };
  }
  const ingress = (parsed as { ingress?: unknown }).ingress;
  const isolation =
    ingress !== null && typeof ingress === "object" ? (ingress as { isolation?: unknown }).isolation : undefined;
  return { isolated: isolation === "DefaultDeny", source: "legacy-annotation" };
}

/** What the Namespaces themselves say: the cluster's namespace cache, or the Namespaces of a manifest set. */
export interface NamespaceView {
  isIsolated(namespace: string): boolean;
}

/** The one answer to "is this namespace isolated?": listed in the config, or switched on by the namespace. */
export function isolationPredicate(
  config: Pick<Config, "isolatedNamespaces">,
  view?: NamespaceView,
): (namespace: string) => boolean {
  const configured = new Set(config.isolatedNamespaces);
  return (namespace) => configured.has(namespace) || view?.isIsolated(namespace) === true;
}

export type NamespaceConfig = Pick<Config, "isolatedNamespaces" | "allowedIngressNamespaces" | "podCIDRs" | "services">;

/** The rule context for an object in a namespace (undefined for cluster-scoped objects). */
export type ContextFor = (namespace: string | undefined) => RuleContext;

export function ruleContexts(config: NamespaceConfig, view?: NamespaceView): ContextFor {
  const isIsolated = isolationPredicate(config, view);
  const base = {
    allowedIngressNamespaces: config.allowedIngressNamespaces,
    podCIDRs: config.podCIDRs,
    emptySelectorScope: config.services.emptySelector,
    readKubeProxyConfig: kubeProxyConfigReader(),
  };
  const isolated: RuleContext = Object.freeze({ ...base, namespaceIsolated: true });
  const open: RuleContext = Object.freeze({ ...base, namespaceIsolated: false });
  return (namespace) => (namespace !== undefined && namespace !== "" && isIsolated(namespace) ? isolated : open);
}

/** The Namespaces among a set of objects that switch isolation on (for lint: the manifests are the cluster). */
export function namespacesIsolatedBy(objects: Iterable<unknown>): NamespaceView {
  const isolated = new Set<string>();
  for (const object of objects) {
    if (object === null || typeof object !== "object") continue;
    const { kind, metadata } = object as {
      kind?: unknown;
      metadata?: { name?: unknown; labels?: Record<string, string>; annotations?: Record<string, string> };
    };
    if (
      kind === "Namespace" &&
      typeof metadata?.name === "string" &&
      isolationOf({ labels: metadata.labels, annotations: metadata.annotations }).isolated
    ) {
      isolated.add(metadata.name);
    }
  }
  return { isIsolated: (namespace) => isolated.has(namespace) };
}
