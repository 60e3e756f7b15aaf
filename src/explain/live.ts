// Live mode: the objects the engine needs, read from the API server page by page (as `audit` does),
// so that thousands of pods stay bounded per request.
import { connectToCluster } from "../cluster/kubeconfig.ts";
import { listAll } from "../cluster/raw-api.ts";

const COLLECTIONS = [
  { what: "namespaces", path: "/api/v1/namespaces" },
  { what: "pods", path: "/api/v1/pods" },
  { what: "networkpolicies", path: "/apis/networking.k8s.io/v1/networkpolicies" },
];

export async function liveObjects(kubeconfig: string, pageSize: number, progress: (message: string) => void): Promise<unknown[]> {
  const connection = await connectToCluster({ kubeconfig });
  if (connection.kind === "standalone") throw new Error("no cluster in the kubeconfig");
  const objects: unknown[] = [];
  for (const { what, path } of COLLECTIONS) {
    for await (const page of listAll(connection.config, path, pageSize)) {
      objects.push(...page);
      progress(`${what}: ${objects.length} objects read`);
    }
  }
  return objects;
}
