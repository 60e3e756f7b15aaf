// Where the cluster is: an explicit kubeconfig (--kubeconfig or $KUBECONFIG), else the in-cluster
// service account, else nowhere (standalone). ~/.kube/config is deliberately not picked up: a laptop
// running `npm start` must not start reconciling whatever cluster its user last talked to.
import { existsSync } from "node:fs";
import { KubeConfig } from "@kubernetes/client-node";

const SERVICE_ACCOUNT_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

export type ClusterConnection = { kind: "kubeconfig"; path: string; config: KubeConfig } | { kind: "in-cluster"; config: KubeConfig } | { kind: "standalone" };

export function connectToCluster(options: { kubeconfig?: string | undefined; env?: NodeJS.ProcessEnv } = {}): ClusterConnection {
  const env = options.env ?? process.env;
  const path = options.kubeconfig ?? env.KUBECONFIG;
  if (path !== undefined && path !== "") {
    const config = new KubeConfig();
    config.loadFromFile(path);
    return { kind: "kubeconfig", path, config };
  }
  if (env.KUBERNETES_SERVICE_HOST !== undefined && existsSync(SERVICE_ACCOUNT_TOKEN)) {
    const config = new KubeConfig();
    config.loadFromCluster();
    return { kind: "in-cluster", config };
  }
  return { kind: "standalone" };
}
