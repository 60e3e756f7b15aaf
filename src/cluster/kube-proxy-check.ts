// At start-up: does the live kube-proxy config turn masqueradeAll on? Logged once, exported as a gauge.
import type { Logger } from "pino";
import { ConfigMapSchema } from "../kube-objects.ts";
import { KUBE_PROXY_CONFIGMAP, KUBE_PROXY_NAMESPACE } from "../names.ts";
import { masqueradeAllModes } from "../rules/kubeproxy.ts";
import type { Metrics } from "../metrics.ts";
import { paths, statusOf, type KubeClient } from "../kube/client.ts";

export async function checkKubeProxy(client: KubeClient, log: Logger, metrics: Metrics): Promise<void> {
  let data: Record<string, string> | undefined;
  try {
    data = (await client.get(paths.configMap(KUBE_PROXY_NAMESPACE, KUBE_PROXY_CONFIGMAP), ConfigMapSchema)).data;
  } catch (error) {
    log.info(
      { status: statusOf(error) },
      "kube-proxy ConfigMap not readable; masqueradeAll not checked (clusters without kube-proxy have none)",
    );
    return;
  }
  const result = masqueradeAllModes(data?.["config.conf"] ?? "");
  if (!result.ok) {
    log.warn(
      { problem: result.problem },
      "kube-system/kube-proxy config.conf cannot be read; masqueradeAll not checked",
    );
    return;
  }
  metrics.kubeProxyMasqueradeAll.set(result.modes.length > 0 ? 1 : 0);
  if (result.modes.length > 0) {
    log.warn(
      { modes: result.modes },
      "KP001: kube-proxy masqueradeAll is on; NetworkPolicy ipBlock and pod rules see node addresses for Service traffic",
    );
  }
}
