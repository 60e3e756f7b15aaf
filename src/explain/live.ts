// Live mode: the objects the engine needs, read from the API server page by page (as `audit` does),
// so that thousands of pods stay bounded per request.
import { httpKubeClient, objectPages, paths } from "../kube/client.ts";
import { connectToCluster } from "../kube/kubeconfig.ts";

const COLLECTIONS = [
  { what: "namespaces", path: paths.namespaces },
  { what: "pods", path: paths.pods },
  { what: "networkpolicies", path: paths.networkPolicies },
];

export async function liveObjects(
  kubeconfig: string,
  pageSize: number,
  progress: (message: string) => void,
): Promise<unknown[]> {
  const connection = await connectToCluster({ kubeconfig });
  if (connection.kind === "standalone") throw new Error("no cluster in the kubeconfig");
  const client = httpKubeClient(connection.config);
  const objects: unknown[] = [];
  for (const { what, path } of COLLECTIONS) {
    for await (const page of objectPages(client, path, pageSize)) {
      objects.push(...page);
      progress(`${what}: ${objects.length} objects read`);
    }
  }
  return objects;
}
