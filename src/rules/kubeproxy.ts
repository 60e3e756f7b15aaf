// KP001: kube-proxy's masqueradeAll SNATs every Service connection, so source-based rules see node
// addresses. The ConfigMap kube-system/kube-proxy carries KubeProxyConfiguration in `config.conf`.
// KP002: a config.conf netfence cannot read; never a denial, whatever the config says.
import { parse as parseYaml } from "yaml";
import { FieldPath } from "../field-path.ts";
import { parseConfigMap } from "../kube-objects.ts";
import { KUBE_PROXY_CONFIG_KEY, KUBE_PROXY_CONFIGMAP, KUBE_PROXY_NAMESPACE } from "../names.ts";
import { rule, type Visit } from "./rule.ts";

function isKubeProxyConfigMap(namespace: string | undefined, name: string | undefined): boolean {
  return namespace === KUBE_PROXY_NAMESPACE && name === KUBE_PROXY_CONFIGMAP;
}

export type MasqueradeAll = { ok: true; modes: string[] } | { ok: false; problem: string };

/**
 * A cluster has one kube-proxy ConfigMap and its config.conf rarely changes, while the YAML parse
 * costs ~0.5 ms and ~900 KB of garbage: a reader keeps its last answer, keyed by the whole text. The
 * edges (admission, lint) make one each and pass it in the rule context; the rules keep no state.
 */
export function kubeProxyConfigReader(): (configConf: string) => MasqueradeAll {
  let last: { configConf: string; result: MasqueradeAll } | undefined;
  return (configConf) => {
    if (last?.configConf !== configConf) last = { configConf, result: masqueradeAllModes(configConf) };
    return last.result;
  };
}

/**
 * A kube-proxy config.conf is a few KB. The YAML parser costs about 10 µs per key on a quiet machine
 * (and compares every key of a map with every other unless told not to): a 1.4 MB one would hold
 * the webhook for seconds, so a larger one is not read (KP002).
 */
const MAX_CONFIG_CONF_BYTES = 32 * 1024;

/** Which proxy modes of a `config.conf` turn masqueradeAll on. */
export function masqueradeAllModes(configConf: string): MasqueradeAll {
  if (configConf.length > MAX_CONFIG_CONF_BYTES) {
    return {
      ok: false,
      problem: `is ${configConf.length} bytes; netfence reads at most ${MAX_CONFIG_CONF_BYTES} (a kube-proxy config.conf is a few KB)`,
    };
  }
  let config: unknown;
  try {
    // uniqueKeys off: the duplicate-key check compares every key with every other (quadratic).
    config = parseYaml(configConf, { maxAliasCount: 100, uniqueKeys: false });
  } catch (error) {
    return { ok: false, problem: `does not parse as YAML (${(error as Error).message.split("\n")[0]})` };
  }
  if (config === null || config === undefined) return { ok: true, modes: [] };
  if (typeof config !== "object" || Array.isArray(config))
    return { ok: false, problem: "is not a KubeProxyConfiguration object" };
  const modes = ["iptables", "nftables"].filter((mode) => {
    const section = (config as Record<string, unknown>)[mode];
    return (
      section !== null && typeof section === "object" && (section as Record<string, unknown>).masqueradeAll === true
    );
  });
  return { ok: true, modes };
}

/** Only kube-system/kube-proxy is read, and only its `config.conf`. */
export function walkConfigMap(
  object: unknown,
  visit: Visit,
  namespace: string | undefined,
  name: string | undefined,
): void {
  if (!isKubeProxyConfigMap(namespace, name)) return;
  const parsed = parseConfigMap(object);
  if (!parsed.success) return;
  const text = parsed.data.data?.[KUBE_PROXY_CONFIG_KEY];
  if (text !== undefined) visit("kubeProxyConfig", { configMap: parsed.data, text }, FieldPath.root());
}

export const KP001 = rule({
  id: "KP001",
  kind: "ConfigMap",
  at: "kubeProxyConfig",
  defaultAction: "warn",
  title: "kube-proxy masqueradeAll is on",
  why: "kube-proxy SNATs all Service traffic: source-based NetworkPolicy rules see node addresses.",
  fix: "set `iptables.masqueradeAll` and `nftables.masqueradeAll` to false in `config.conf`.",
  example: {
    yaml: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kube-proxy, namespace: kube-system}\ndata:\n  config.conf: |\n    apiVersion: kubeproxy.config.k8s.io/v1alpha1\n    kind: KubeProxyConfiguration\n    mode: iptables\n    iptables:\n      masqueradeAll: true\n",
  },
  check: ({ text }, root, context) => {
    const result = context.readKubeProxyConfig(text);
    if (!result.ok) return [];
    return result.modes.map((mode) => ({
      path: root.child("data").key(KUBE_PROXY_CONFIG_KEY),
      message: `\`${mode}.masqueradeAll: true\` makes kube-proxy SNAT all Service traffic, so NetworkPolicy ipBlock and pod rules see node addresses`,
    }));
  },
});

export const KP002 = rule({
  id: "KP002",
  kind: "ConfigMap",
  at: "kubeProxyConfig",
  defaultAction: "warn",
  // The cluster's own kube-proxy has the last word on its config: what netfence cannot read is no
  // reason to refuse the ConfigMap.
  maxAction: "warn",
  title: "kube-proxy config.conf cannot be read, so masqueradeAll is not checked",
  why: "netfence cannot tell whether kube-proxy SNATs Service traffic; kube-proxy itself may read the file differently.",
  fix: "make `config.conf` a KubeProxyConfiguration in valid YAML, or set this rule to `off`.",
  example: {
    yaml: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kube-proxy, namespace: kube-system}\ndata:\n  config.conf: |\n    iptables: [masqueradeAll\n",
  },
  check: ({ text }, root, context) => {
    const result = context.readKubeProxyConfig(text);
    if (result.ok) return [];
    return [
      {
        path: root.child("data").key(KUBE_PROXY_CONFIG_KEY),
        message: `${KUBE_PROXY_CONFIG_KEY} ${result.problem}; netfence cannot tell whether masqueradeAll is on`,
      },
    ];
  },
});
