// `netfence audit`: the linter's report over a live cluster's objects.
import { httpKubeClient } from "../kube/client.ts";
import { connectToCluster } from "../kube/kubeconfig.ts";
import { report, type ReportOptions } from "../report/report.ts";
import { UsageError } from "../user-error.ts";
import { clusterDocuments } from "./audit.ts";

export async function auditCommand(
  options: ReportOptions & { kubeconfig?: string; pageSize: number },
): Promise<number> {
  const connection = await connectToCluster({ kubeconfig: options.kubeconfig });
  if (connection.kind === "standalone")
    throw new UsageError("audit needs a cluster: pass --kubeconfig, set $KUBECONFIG, or run inside a cluster");
  const tty = process.stderr.isTTY === true;
  const progress = (message: string) => {
    if (tty) process.stderr.write(`\r\u001b[2K${message}`);
  };
  const documents = await clusterDocuments(httpKubeClient(connection.config), progress, options.pageSize);
  if (tty) process.stderr.write("\r\u001b[2K");
  return report(documents, options);
}
