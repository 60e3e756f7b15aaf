// Where the cluster is: an explicit kubeconfig (--kubeconfig or $KUBECONFIG), else the in-cluster
// service account, else nowhere (standalone). ~/.kube/config is deliberately not picked up: a laptop
// running `npm start` must not start reconciling whatever cluster its user last talked to.
// The client library is imported only when there is a cluster: it costs ~1 s of start-up and ~60 MB
// of memory that a standalone server or an offline command should not pay.
import { existsSync } from "node:fs";
import type { KubeConfig } from "@kubernetes/client-node";

const SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

export type ClusterConnection =
  | { kind: "kubeconfig"; path: string; config: KubeConfig }
  | { kind: "in-cluster"; config: KubeConfig }
  | { kind: "standalone" };

export async function connectToCluster(
  options: { kubeconfig?: string | undefined; env?: NodeJS.ProcessEnv } = {},
): Promise<ClusterConnection> {
  const env = options.env ?? process.env;
  const path = options.kubeconfig ?? env.KUBECONFIG;
  const inCluster = env.KUBERNETES_SERVICE_HOST !== undefined && existsSync(SERVICE_ACCOUNT_TOKEN);
  if ((path === undefined || path === "") && !inCluster) return { kind: "standalone" };
  const { KubeConfig } = await import("@kubernetes/client-node");
  const config = new KubeConfig();
  if (path !== undefined && path !== "") {
    config.loadFromFile(path);
    return { kind: "kubeconfig", path, config };
  }
  config.loadFromCluster();
  return { kind: "in-cluster", config };
}
