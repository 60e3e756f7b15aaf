import t from "tap";
import { masqueradeAllModes } from "../../src/rules/kubeproxy.ts";
import { findingsOf, triples } from "../helpers/evaluate.ts";

const configMap = (configConf: string, namespace = "kube-system", name = "kube-proxy") => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace },
  data: { "config.conf": configConf },
});

t.test("masqueradeAll true in iptables or nftables warns", async (t) => {
  t.same(triples(findingsOf(configMap("iptables:\n  masqueradeAll: true\n"))), [["KP001", "warn", "data[config.conf]"]]);
  t.same(masqueradeAllModes("nftables: {masqueradeAll: true}\niptables: {masqueradeAll: true}"), { ok: true, modes: ["iptables", "nftables"] });
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
  t.same(triples(findings), [["KP001", "warn", "data[config.conf]"]]);
  t.match(findings[0]?.message, /does not parse as YAML/);
  t.same(masqueradeAllModes("- a list"), { ok: false, problem: "is not a KubeProxyConfiguration object" });
});
