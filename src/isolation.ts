// Is a namespace isolated? The label is netfence's own switch; the annotations are honoured for
// clusters coming from KubeSphere and from the pre-v1 NetworkPolicy API.

export const ISOLATION_LABEL = "netfence.io/isolation";
export const KUBESPHERE_ANNOTATION = "kubesphere.io/network-isolate";
export const LEGACY_ANNOTATION = "net.beta.kubernetes.io/network-policy";

export interface NamespaceMetadata {
  labels?: Readonly<Record<string, string>> | undefined;
  annotations?: Readonly<Record<string, string>> | undefined;
}

export type Isolation =
  | { isolated: boolean; source: "label" | "kubesphere-annotation" | "legacy-annotation" | "none" }
  | { isolated: false; source: "malformed-legacy-annotation"; problem: string };

export function isolationOf(metadata: NamespaceMetadata): Isolation {
  if (metadata.labels?.[ISOLATION_LABEL] === "enabled") return { isolated: true, source: "label" };
  if (metadata.annotations?.[KUBESPHERE_ANNOTATION] === "enabled") return { isolated: true, source: "kubesphere-annotation" };
  const legacy = metadata.annotations?.[LEGACY_ANNOTATION];
  if (legacy === undefined) return { isolated: false, source: "none" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(legacy);
  } catch {
    return { isolated: false, source: "malformed-legacy-annotation", problem: "is not valid JSON" };
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    return { isolated: false, source: "malformed-legacy-annotation", problem: 'must be a JSON object such as {"ingress":{"isolation":"DefaultDeny"}}' };
  }
  const ingress = (parsed as { ingress?: unknown }).ingress;
  const isolation = ingress !== null && typeof ingress === "object" ? (ingress as { isolation?: unknown }).isolation : undefined;
  return { isolated: isolation === "DefaultDeny", source: "legacy-annotation" };
}
