// Services (SVC001, SVC002) and kube-proxy (KP001) at their edges, with the words users read.
import t from "tap";
import { findingsOf } from "../helpers/evaluate.ts";

const service = (spec: Record<string, unknown> | undefined, annotations?: Record<string, string>) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "api", namespace: "team-a", ...(annotations ? { annotations } : {}) },
  ...(spec === undefined ? {} : { spec }),
});
const found = (object: unknown, context: Record<string, unknown>) =>
  findingsOf(object, { context }).map((f) => [f.ruleId, f.action, f.path, f.message]);
const ISOLATED = { namespaceIsolated: true };
const EMPTY =
  'a Service with no selector would make an allowlist entry select every pod of its namespace; add `spec.selector`, or annotate the Service `netfence.io/allow-empty-selector: "true"` if its endpoints are managed by hand';

t.test("SVC001: every selecting type, a missing spec, and only the exact opt-out", async (t) => {
  for (const type of ["ClusterIP", "NodePort", "LoadBalancer"]) {
    const expected = [["SVC001", "deny", "spec.selector", EMPTY]];
    if (type !== "ClusterIP")
      expected.push([
        "SVC002",
        "warn",
        "spec.type",
        `a ${type} Service with externalTrafficPolicy \`Cluster\` hides client addresses from ipBlock rules; set \`spec.externalTrafficPolicy: Local\``,
      ]);
    t.same(found(service({ type }), ISOLATED), expected, type);
  }
  t.same(
    found(service(undefined), ISOLATED),
    [["SVC001", "deny", "spec.selector", EMPTY]],
    "no spec at all is a ClusterIP without selector",
  );
  t.same(
    found(service({}, { "netfence.io/allow-empty-selector": "false" }), ISOLATED).map((f) => f[0]),
    ["SVC001"],
    "opt-out false",
  );
  t.same(
    found(service({}, { "netfence.io/allow-empty-selector": "True" }), ISOLATED).map((f) => f[0]),
    ["SVC001"],
    "opt-out True",
  );
  t.same(
    found(service({}, { "netfence.io/allow-empty-selector": "true" }), { emptySelectorScope: "all" }),
    [],
    "the opt-out works with scope all",
  );
  t.same(found(service({}), { emptySelectorScope: "off", namespaceIsolated: true }), [], "scope off, isolated");
  t.same(
    found(service({}), { emptySelectorScope: "all", namespaceIsolated: false }).map((f) => f[0]),
    ["SVC001"],
    "scope all, not isolated",
  );
  t.same(found(service({ type: "ExternalName", externalName: "db.example.com" }), { emptySelectorScope: "all" }), []);
});

t.test("SVC002: NodePort and LoadBalancer in isolated namespaces, unless Local", async (t) => {
  const selector = { app: "web" };
  t.same(found(service({ type: "NodePort", selector, externalTrafficPolicy: "Cluster" }), ISOLATED), [
    [
      "SVC002",
      "warn",
      "spec.type",
      "a NodePort Service with externalTrafficPolicy `Cluster` hides client addresses from ipBlock rules; set `spec.externalTrafficPolicy: Local`",
    ],
  ]);
  t.same(found(service({ type: "LoadBalancer", selector, externalTrafficPolicy: "Local" }), ISOLATED), []);
  t.same(
    found(service({ type: "ClusterIP", selector, externalTrafficPolicy: "Cluster" }), ISOLATED),
    [],
    "ClusterIP has no external traffic",
  );
  t.same(found(service({ type: "ExternalName", externalName: "x.example.com" }), ISOLATED), []);
  t.same(
    found(service({ type: "LoadBalancer", selector }), { namespaceIsolated: false, emptySelectorScope: "all" }),
    [],
    "not isolated",
  );
});

const configMap = (data: Record<string, string> | undefined) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name: "kube-proxy", namespace: "kube-system" },
  ...(data ? { data } : {}),
});

t.test("KP001: which config.conf says masqueradeAll, with the words", async (t) => {
  const kp = (text: string) =>
    findingsOf(configMap({ "config.conf": text })).map((f) => [f.ruleId, f.action, f.path, f.message]);
  const SNAT = (mode: string) => [
    "KP001",
    "warn",
    "data[config.conf]",
    `\`${mode}.masqueradeAll: true\` makes kube-proxy SNAT all Service traffic, so NetworkPolicy ipBlock and pod rules see node addresses`,
  ];
  t.same(kp("nftables:\n  masqueradeAll: true\n"), [SNAT("nftables")]);
  t.same(kp("iptables: {masqueradeAll: true}\nnftables: {masqueradeAll: true}\n"), [
    SNAT("iptables"),
    SNAT("nftables"),
  ]);
  t.same(kp("iptables: {masqueradeAll: 'true'}\n"), [], "the string 'true' is not true");
  t.same(kp("iptables: null\nnftables: 1\n"), [], "sections that are not objects");
  t.same(kp("masqueradeAll: true\n"), [], "masqueradeAll outside a mode section");
  t.same(kp("~\n"), [], "a null document");
  t.same(kp("42\n"), [
    [
      "KP002",
      "warn",
      "data[config.conf]",
      "config.conf is not a KubeProxyConfiguration object; netfence cannot tell whether masqueradeAll is on",
    ],
  ]);
  t.same(kp("[1]\n"), [
    [
      "KP002",
      "warn",
      "data[config.conf]",
      "config.conf is not a KubeProxyConfiguration object; netfence cannot tell whether masqueradeAll is on",
    ],
  ]);
  t.match(
    kp("a: [\n")[0]?.[3],
    /^config\.conf does not parse as YAML \([^\n]+\); netfence cannot tell whether masqueradeAll is on$/,
  );
  t.same(findingsOf(configMap(undefined)), [], "no data");
  t.same(findingsOf(configMap({ other: "iptables: {masqueradeAll: true}" })), [], "another key");
});

t.test("KP001: the same text gives the same answer every time, and a changed text a new one", async (t) => {
  const on = "iptables: {masqueradeAll: true}\n";
  const off = "iptables: {masqueradeAll: false}\n";
  const ids = (text: string) => findingsOf(configMap({ "config.conf": text })).map((f) => f.ruleId);
  t.same([ids(on), ids(on), ids(off), ids(on), ids(off)], [["KP001"], ["KP001"], [], ["KP001"], []]);
});
