// KP001: kube-proxy's masqueradeAll SNATs every Service connection, so source-based rules see node
// addresses. The ConfigMap kube-system/kube-proxy carries KubeProxyConfiguration in `config.conf`.
import { parse as parseYaml } from "yaml";
import { FieldPath } from "../field-path.ts";
import { ConfigMapSchema } from "../kube-objects.ts";
import { finding, type Finding } from "./finding.ts";

export const KUBE_PROXY_NAMESPACE = "kube-system";
export const KUBE_PROXY_CONFIGMAP = "kube-proxy";
const CONFIG_KEY = "config.conf";

export function isKubeProxyConfigMap(namespace: string | undefined, name: string | undefined): boolean {
  return namespace === KUBE_PROXY_NAMESPACE && name === KUBE_PROXY_CONFIGMAP;
}

export type MasqueradeAll = { ok: true; modes: string[] } | { ok: false; problem: string };

// A cluster has one kube-proxy ConfigMap and its config.conf rarely changes, while the YAML parse
// costs ~0.5 ms and ~900 KB of garbage: the last answer is kept, keyed by the whole text.
let last: { configConf: string; result: MasqueradeAll } | undefined;

/** Which proxy modes of a `config.conf` turn masqueradeAll on. */
export function masqueradeAllModes(configConf: string): MasqueradeAll {
  if (last !== undefined && last.configConf === configConf) return last.result;
  const result = parseMasqueradeAll(configConf);
  last = { configConf, result };
  return result;
}

function parseMasqueradeAll(configConf: string): MasqueradeAll {
  let config: unknown;
  try {
    config = parseYaml(configConf, { maxAliasCount: 100 });
  } catch (error) {
    return { ok: false, problem: `does not parse as YAML (${(error as Error).message.split("\n")[0]})` };
  }
  if (config === null || config === undefined) return { ok: true, modes: [] };
  if (typeof config !== "object" || Array.isArray(config)) return { ok: false, problem: "is not a KubeProxyConfiguration object" };
  const modes = ["iptables", "nftables"].filter((mode) => {
    const section = (config as Record<string, unknown>)[mode];
    return section !== null && typeof section === "object" && (section as Record<string, unknown>).masqueradeAll === true;
  });
  return { ok: true, modes };
}

export function kubeProxyFindings(object: unknown): Finding[] {
  const parsed = ConfigMapSchema.safeParse(object);
  if (!parsed.success) return [];
  const configConf = parsed.data.data?.[CONFIG_KEY];
  if (configConf === undefined) return [];
  const path = FieldPath.root("data").key(CONFIG_KEY);
  const result = masqueradeAllModes(configConf);
  if (!result.ok) return [finding("KP001", path, `${CONFIG_KEY} ${result.problem}; netfence cannot tell whether masqueradeAll is on`)];
  return result.modes.map((mode) =>
    finding(
      "KP001",
      path,
      `\`${mode}.masqueradeAll: true\` makes kube-proxy SNAT all Service traffic, so NetworkPolicy ipBlock and pod rules see node addresses`,
    ),
  );
}
