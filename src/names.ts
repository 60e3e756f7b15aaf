// The labels, annotations and object names netfence reads or writes, in one place: the webhook,
// the reconciler, `allow`, `lint` and `audit` all speak them, and none borrows them from another.

/** netfence's own isolation switch on a Namespace (value `enabled`). */
export const ISOLATION_LABEL = "netfence.io/isolation";
/** Honoured for clusters coming from KubeSphere (value `enabled`). */
export const KUBESPHERE_ANNOTATION = "kubesphere.io/network-isolate";
/** The pre-v1 NetworkPolicy API's switch: `{"ingress":{"isolation":"DefaultDeny"}}`. */
export const LEGACY_ANNOTATION = "net.beta.kubernetes.io/network-policy";
/** Set by Kubernetes on every Namespace: what netfence selects namespaces by. */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "netfence";
export const MANAGED_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;
/** The policy the reconciler keeps in every isolated namespace. */
export const ISOLATION_POLICY_NAME = "netfence-isolation";
/** On a NetworkPolicy the mutating webhook changed: the namespaces it admitted. */
export const INJECTED_ANNOTATION = "netfence.io/injected-ingress-namespaces";
/** A Service whose endpoints are managed by hand opts out of SVC001 with `"true"`. */
export const ALLOW_EMPTY_SELECTOR_ANNOTATION = "netfence.io/allow-empty-selector";

export const KUBE_PROXY_NAMESPACE = "kube-system";
export const KUBE_PROXY_CONFIGMAP = "kube-proxy";
export const KUBE_PROXY_CONFIG_KEY = "config.conf";
/** The value of ISOLATION_LABEL that previews isolation: nothing is created, the impact is reported. */
export const ISOLATION_PREVIEW = "preview";
/** On a Namespace in preview: what isolation would cut off (JSON, bounded), kept current by netfence. */
export const ISOLATION_PREVIEW_ANNOTATION = "netfence.io/isolation-preview";
