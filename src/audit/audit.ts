// `netfence audit`: the linter's rules over what already sits in a live cluster.
import { ConfigMapSchema } from "../kube-objects.ts";
import { objectPages, paths, statusOf, type KubeClient } from "../kube/client.ts";
import type { SourceDocument } from "../report/source-document.ts";
import { KUBE_PROXY_CONFIGMAP, KUBE_PROXY_NAMESPACE } from "../names.ts";

const COLLECTIONS = [
  { what: "namespaces", path: paths.namespaces },
  { what: "networkpolicies", path: paths.networkPolicies },
  { what: "services", path: paths.services },
];

export async function clusterDocuments(
  client: KubeClient,
  progress: (message: string) => void,
  pageSize = 500,
): Promise<SourceDocument[]> {
  const documents: SourceDocument[] = [];
  for (const { what, path } of COLLECTIONS) {
    for await (const page of objectPages(client, path, pageSize)) {
      for (const object of page) documents.push({ source: "cluster", index: documents.length, object });
      progress(`${what}: ${documents.length} objects read`);
    }
  }
  try {
    const kubeProxy = await client.get(paths.configMap(KUBE_PROXY_NAMESPACE, KUBE_PROXY_CONFIGMAP), ConfigMapSchema);
    documents.push({
      source: "cluster",
      index: documents.length,
      object: { ...kubeProxy, apiVersion: "v1", kind: "ConfigMap" },
    });
  } catch (error) {
    const status = statusOf(error);
    if (status !== 404 && status !== 403) throw error;
    progress(`kube-proxy ConfigMap not readable (${status}); KP001 not checked`);
  }
  return documents;
}
