import t from "tap";
import { parseConfig } from "../../src/config.ts";
import { DEFAULT_RULE_CONTEXT } from "../../src/rules/context.ts";
import { evaluate } from "../../src/rules/index.ts";
import { kubeProxyConfigReader, masqueradeAllModes } from "../../src/rules/kubeproxy.ts";
import { findingsOf, triples } from "../helpers/evaluate.ts";

const configMap = (configConf: string, namespace = "kube-system", name = "kube-proxy") => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace },
  data: { "config.conf": configConf },
});

t.test("masqueradeAll true in iptables or nftables warns", async (t) => {
  t.same(triples(findingsOf(configMap("iptables:\n  masqueradeAll: true\n"))), [
    ["KP001", "warn", "data[config.conf]"],
  ]);
  t.same(masqueradeAllModes("nftables: {masqueradeAll: true}\niptables: {masqueradeAll: true}"), {
    ok: true,
    modes: ["iptables", "nftables"],
  });
});

t.test("masqueradeAll false or absent says nothing", async (t) => {
  t.same(findingsOf(configMap("iptables:\n  masqueradeAll: false\nmode: iptables\n")), []);
  t.same(findingsOf(configMap("")), []);
});

t.test("other ConfigMaps are not read", async (t) => {
  t.same(findingsOf(configMap("iptables: {masqueradeAll: true}", "default")), []);
  t.same(findingsOf(configMap("iptables: {masqueradeAll: true}", "kube-system", "coredns")), []);
});

t.test("a config.conf that does not parse is a warning, never a denial", async (t) => {
  const findings = findingsOf(configMap("iptables: [\n"));
  t.same(triples(findings), [["KP002", "warn", "data[config.conf]"]]);
  t.match(findings[0]?.message, /does not parse as YAML/);
  t.same(masqueradeAllModes("- a list"), { ok: false, problem: "is not a KubeProxyConfiguration object" });
});

t.test("KP002, not KP001: `rules: {KP001: deny}` denies masqueradeAll, never an unparseable config.conf", async (t) => {
  t.same(triples(findingsOf(configMap("iptables: [\n"), { actions: { KP001: "deny" } })), [
    ["KP002", "warn", "data[config.conf]"],
  ]);
  t.same(triples(findingsOf(configMap("iptables: {masqueradeAll: true}"), { actions: { KP001: "deny" } })), [
    ["KP001", "deny", "data[config.conf]"],
  ]);
  t.same(
    triples(findingsOf(configMap("iptables: [\n"), { actions: { KP002: "deny" } })),
    [["KP002", "warn", "data[config.conf]"]],
    "not even when asked in code",
  );
  t.throws(() => parseConfig({ rules: { KP002: "deny" } }), /KP002 never denies.*use warn or off/);
  t.same(parseConfig({ rules: { KP002: "off" } }).rules, { KP002: "off" });
});

t.test("the rules keep no state: the parse is memoized by the reader the edge passes in", async (t) => {
  const text = "iptables: {masqueradeAll: true}";
  t.not(masqueradeAllModes(text), masqueradeAllModes(text), "a fresh answer per call, nothing shared between callers");
  const read = kubeProxyConfigReader();
  t.equal(read(text), read(text), "one reader remembers its last answer");
  t.not(kubeProxyConfigReader()(text), read(text), "and only its own");
  const seen: string[] = [];
  const context = {
    ...DEFAULT_RULE_CONTEXT,
    readKubeProxyConfig: (configConf: string) => (seen.push(configConf), masqueradeAllModes(configConf)),
  };
  evaluate({ kind: "ConfigMap", namespace: "kube-system", name: "kube-proxy", object: configMap(text) }, context, {});
  t.ok(seen.length > 0 && seen.every((read) => read === text), "KP001 and KP002 read config.conf through the context");
});

t.test("a config.conf too large to be kube-proxy's is not parsed (KP002), so it cannot hold the webhook", async (t) => {
  const huge = `iptables: {masqueradeAll: true}\n${Array.from({ length: 5000 }, (_, i) => `k${i}: v`).join("\n")}\n`;
  const findings = findingsOf(configMap(huge));
  t.same(triples(findings), [["KP002", "warn", "data[config.conf]"]]);
  t.match(findings[0]?.message, /bytes; netfence reads at most 32768/);
});
