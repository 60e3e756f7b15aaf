// `netfence audit`: the linter's rules over what already sits in a live cluster.
import type { KubeConfig } from "@kubernetes/client-node";
import { ApiError, getJson, listAll } from "../kube/raw-api.ts";
import type { SourceDocument } from "../report/source-document.ts";
import { KUBE_PROXY_CONFIGMAP, KUBE_PROXY_NAMESPACE } from "../names.ts";

const COLLECTIONS = [
  { what: "namespaces", path: "/api/v1/namespaces" },
  { what: "networkpolicies", path: "/apis/networking.k8s.io/v1/networkpolicies" },
  { what: "services", path: "/api/v1/services" },
];

export async function clusterDocuments(config: KubeConfig, progress: (message: string) => void, pageSize = 500): Promise<SourceDocument[]> {
  const documents: SourceDocument[] = [];
  for (const { what, path } of COLLECTIONS) {
    for await (const page of listAll(config, path, pageSize)) {
      for (const object of page) documents.push({ source: "cluster", index: documents.length, object });
      progress(`${what}: ${documents.length} objects read`);
    }
  }
  try {
    const kubeProxy = await getJson(config, `/api/v1/namespaces/${KUBE_PROXY_NAMESPACE}/configmaps/${KUBE_PROXY_CONFIGMAP}`);
    documents.push({ source: "cluster", index: documents.length, object: { ...kubeProxy, apiVersion: "v1", kind: "ConfigMap" } });
  } catch (error) {
    if (!(error instanceof ApiError && (error.status === 404 || error.status === 403))) throw error;
    progress(`kube-proxy ConfigMap not readable (${error.status}); KP001 not checked`);
  }
  return documents;
}
