// Every rule's default action, as DESIGN.md lists it, written here as literals (not read from the
// catalogue): one object per rule that triggers that rule alone.
import t from "tap";
import { findingsOf } from "../helpers/evaluate.ts";
import { ingressFromCidr, networkPolicy } from "../helpers/review.ts";

const DNS = { ports: [{ protocol: "UDP", port: 53 }] };
const service = (spec: Record<string, unknown>) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "s", namespace: "team-a" },
  spec,
});

const cases: [string, "deny" | "warn", unknown, boolean][] = [
  ["NP001", "deny", { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "p" } }, false],
  ["NP002", "deny", networkPolicy({ policyTypes: ["Both"] }), false],
  ["NP003", "deny", networkPolicy({ policyTypes: ["Ingress"], egress: [DNS] }), false],
  ["NP004", "warn", networkPolicy({ policyTypes: ["Ingress", "Ingress"] }), false],
  ["NP010", "deny", networkPolicy({ ingress: [{ from: [{}] }] }), false],
  [
    "NP011",
    "deny",
    networkPolicy({ podSelector: { matchExpressions: [{ key: "app", operator: "in", values: ["a"] }] } }),
    false,
  ],
  ["NP020", "deny", ingressFromCidr("010.0.0.0/8"), false],
  ["NP021", "deny", ingressFromCidr("10.0.0.1/8"), false],
  ["NP022", "deny", ingressFromCidr("10.0.0.0/8", ["192.168.0.0/16"]), false],
  ["NP023", "warn", ingressFromCidr("10.0.0.0/8", ["10.1.0.0/16", "10.1.0.0/16"]), false],
  ["NP024", "warn", ingressFromCidr("0.0.0.0/0"), false],
  ["NP025", "warn", ingressFromCidr("2001:DB8::/32"), false],
  ["NP030", "deny", networkPolicy({ ingress: [{ ports: [{ protocol: "ICMP" }] }] }), false],
  ["NP031", "warn", networkPolicy({ ingress: [{ ports: [{ protocol: "SCTP" }] }] }), false],
  ["NP032", "deny", networkPolicy({ ingress: [{ ports: [{ port: 0 }] }] }), false],
  ["NP033", "deny", networkPolicy({ ingress: [{ ports: [{ endPort: 80 }] }] }), false],
  [
    "NP034",
    "warn",
    networkPolicy({ egress: [{ to: [{ ipBlock: { cidr: "203.0.113.0/24" } }], ports: [{ port: "https" }] }, DNS] }),
    false,
  ],
  ["NP040", "warn", networkPolicy({ ingress: [{}] }), true],
  [
    "NP041",
    "warn",
    networkPolicy({
      ingress: [
        {
          from: [{ namespaceSelector: { matchLabels: { team: "a" } } }, { podSelector: { matchLabels: { app: "b" } } }],
        },
      ],
    }),
    false,
  ],
  ["NP042", "warn", networkPolicy({ policyTypes: ["Egress"] }), false],
  ["SVC001", "deny", service({}), true],
  ["SVC002", "warn", service({ type: "LoadBalancer", selector: { app: "web" } }), true],
  [
    "KP001",
    "warn",
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "kube-proxy", namespace: "kube-system" },
      data: { "config.conf": "iptables:\n  masqueradeAll: true\n" },
    },
    false,
  ],
  [
    "NS001",
    "warn",
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "old", annotations: { "net.beta.kubernetes.io/network-policy": "null" } },
    },
    false,
  ],
];

t.test("each rule's default action", async (t) => {
  for (const [rule, action, object, isolated] of cases) {
    t.same(
      findingsOf(object, { context: { namespaceIsolated: isolated } }).map((f) => [f.ruleId, f.action]),
      [[rule, action]],
      rule,
    );
  }
});

t.test("a configured action replaces the default, for each rule", async (t) => {
  for (const [rule, action, object, isolated] of cases) {
    const other = action === "deny" ? "warn" : "deny";
    t.same(
      findingsOf(object, { context: { namespaceIsolated: isolated }, actions: { [rule]: other } }).map((f) => [
        f.ruleId,
        f.action,
      ]),
      [[rule, other]],
      `${rule} set to ${other}`,
    );
    t.same(
      findingsOf(object, { context: { namespaceIsolated: isolated }, actions: { [rule]: "off" } }),
      [],
      `${rule} set to off`,
    );
  }
});
