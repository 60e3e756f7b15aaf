// Builders for AdmissionReview requests and objects, so tests read like the scenario they describe.
export interface ReviewOptions {
  uid?: string;
  operation?: "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
  namespace?: string;
  name?: string;
  oldObject?: unknown;
  dryRun?: boolean;
}

const GVK = {
  NetworkPolicy: { group: "networking.k8s.io", version: "v1", kind: "NetworkPolicy" },
  Service: { group: "", version: "v1", kind: "Service" },
  ConfigMap: { group: "", version: "v1", kind: "ConfigMap" },
  Namespace: { group: "", version: "v1", kind: "Namespace" },
  Pod: { group: "", version: "v1", kind: "Pod" },
} as const;

export function admissionReview(kind: keyof typeof GVK, object: unknown, options: ReviewOptions = {}) {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: options.uid ?? "705ab4f5-6393-11e8-b7cc-42010a800002",
      kind: GVK[kind],
      resource: { group: GVK[kind].group, version: "v1", resource: `${kind.toLowerCase()}s` },
      namespace: options.namespace ?? "team-a",
      name: options.name ?? "example",
      operation: options.operation ?? "CREATE",
      userInfo: { username: "admin" },
      object,
      oldObject: options.oldObject ?? null,
      dryRun: options.dryRun ?? false,
    },
  };
}

export function networkPolicy(spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) {
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "example", namespace: "team-a", ...metadata },
    spec: { podSelector: {}, ...spec },
  };
}

export function ingressFromCidr(cidr: string, except?: string[]) {
  return networkPolicy({
    policyTypes: ["Ingress"],
    ingress: [{ from: [{ ipBlock: { cidr, ...(except ? { except } : {}) } }] }],
  });
}
