// NetworkPolicy rules at their edges (policyTypes, peers, NP040-NP042), with the words users read.
import t from "tap";
import { findingsOf, triples } from "../helpers/evaluate.ts";
import { networkPolicy } from "../helpers/review.ts";

const DNS = { ports: [{ protocol: "UDP", port: 53 }] };
const full = (spec: Record<string, unknown>, isolated = false) =>
  findingsOf(networkPolicy(spec), { context: { namespaceIsolated: isolated } }).map((f) => [
    f.ruleId,
    f.action,
    f.path,
    f.message,
  ]);
const found = (spec: Record<string, unknown>, isolated = false) =>
  triples(findingsOf(networkPolicy(spec), { context: { namespaceIsolated: isolated } }));

t.test("policyTypes: two entries are fine, three are one too many; the hint spells the type", async (t) => {
  t.same(found({ policyTypes: ["Ingress", "Egress"], egress: [DNS] }), []);
  t.same(full({ policyTypes: ["Egress", "Ingress", "Egress"], egress: [DNS] }), [
    ["NP002", "deny", "spec.policyTypes", "may not specify more than two policyTypes (found 3)"],
    ["NP004", "warn", "spec.policyTypes[2]", "`Egress` is listed twice"],
  ]);
  t.same(full({ policyTypes: ["EGRESS"], egress: [DNS] }), [
    [
      "NP002",
      "deny",
      "spec.policyTypes[0]",
      "`EGRESS` is not a policy type; use `Ingress` or `Egress`; write `Egress` (case-sensitive)",
    ],
  ]);
  t.same(full({ policyTypes: ["Both"] }), [
    ["NP002", "deny", "spec.policyTypes[0]", "`Both` is not a policy type; use `Ingress` or `Egress`"],
  ]);
  t.same(
    found({ policyTypes: ["ingress", "ingress"] }),
    [
      ["NP002", "deny", "spec.policyTypes[0]"],
      ["NP002", "deny", "spec.policyTypes[1]"],
    ],
    "a misspelt type twice is two NP002, not NP004",
  );
});

t.test("NP003 only when every type is spelt right; empty policyTypes is defaulted", async (t) => {
  t.same(
    found({ policyTypes: ["ingress"], egress: [DNS] }),
    [["NP002", "deny", "spec.policyTypes[0]"]],
    "NP002 already says it",
  );
  t.same(full({ policyTypes: ["Egress"], ingress: [{}], egress: [DNS] }), [
    [
      "NP003",
      "deny",
      "spec.ingress",
      "Kubernetes ignores these ingress rules because `spec.policyTypes` omits `Ingress`: add `Ingress` to `spec.policyTypes` or delete the ingress rules",
    ],
  ]);
  t.same(found({ policyTypes: ["Egress"], ingress: [], egress: [DNS] }), [], "an empty list of rules is no rules");
  t.same(
    found({ policyTypes: [], egress: [{ ports: [{ port: 443 }] }] }),
    [["NP042", "warn", "spec.egress"]],
    "[] is defaulted: Egress because egress rules exist",
  );
  t.same(found({ policyTypes: [], ingress: [{}] }), [], "[] with ingress rules only: Ingress, no NP003");
});

t.test("NP010: a peer with an ipBlock and any selector, or with nothing", async (t) => {
  const ip = { cidr: "203.0.113.0/24" };
  t.same(full({ ingress: [{ from: [{ ipBlock: ip, namespaceSelector: { matchLabels: { a: "b" } } }] }] }), [
    [
      "NP010",
      "deny",
      "spec.ingress[0].from[0]",
      "may not specify both `ipBlock` and another peer: split it into two peers (`ipBlock` alone is for addresses outside the cluster)",
    ],
  ]);
  t.same(full({ egress: [{ to: [{ podSelector: {} }, {}] }] }), [
    ["NP010", "deny", "spec.egress[0].to[1]", "must specify a peer: `podSelector`, `namespaceSelector` or `ipBlock`"],
  ]);
  t.same(found({ ingress: [{ from: [{ ipBlock: ip }, { podSelector: {}, namespaceSelector: {} }] }] }), []);
});

t.test("NP041: a namespaceSelector-only peer right before a podSelector-only peer, in either direction", async (t) => {
  const ns = { namespaceSelector: { matchLabels: { team: "a" } } };
  const pod = { podSelector: { matchLabels: { app: "api" } } };
  t.same(full({ egress: [{ to: [pod, ns, pod] }, DNS] }), [
    [
      "NP041",
      "warn",
      "spec.egress[0].to[2]",
      "this podSelector peer is separate from the namespaceSelector peer `spec.egress[0].to[1]` (OR: all pods of those namespaces, or these pods of this one); to require both, put both selectors in one peer",
    ],
  ]);
  const quiet: [string, unknown[]][] = [
    ["pod then namespace", [pod, ns]],
    ["namespace then pod and namespace", [ns, { ...pod, ...ns }]],
    ["namespace and pod, then pod", [{ ...pod, ...ns }, pod]],
    ["namespace then ipBlock", [ns, { ipBlock: { cidr: "203.0.113.0/24" } }]],
    ["namespace, ipBlock, pod", [ns, { ipBlock: { cidr: "203.0.113.0/24" } }, pod]],
  ];
  for (const [name, from] of quiet) t.same(found({ ingress: [{ from }] }), [], name);
});

t.test("NP040: only ingress rules, only in isolated namespaces, with the words", async (t) => {
  t.same(full({ ingress: [{ from: [{ podSelector: {} }] }, {}] }, true), [
    [
      "NP040",
      "warn",
      "spec.ingress[1]",
      "this rule has no `from`, so it admits every source, which defeats the namespace's isolation; list the allowed peers",
    ],
  ]);
  t.same(full({ ingress: [{ from: [{ namespaceSelector: {} }] }] }, true), [
    [
      "NP040",
      "warn",
      "spec.ingress[0].from[0].namespaceSelector",
      "`namespaceSelector: {}` admits every namespace, which defeats the namespace's isolation; select namespaces by `kubernetes.io/metadata.name`",
    ],
  ]);
  t.same(
    found({ ingress: [{ from: [] }] }, true),
    [["NP040", "warn", "spec.ingress[0]"]],
    "`from: []` admits every source too",
  );
  t.same(found({ ingress: [{}] }, false), [], "not isolated");
  t.same(found({ egress: [{}] }, true), [], "an open egress rule is not about isolation");
  t.same(found({ ingress: [{ from: [{ podSelector: {} }] }] }, true), [], "all pods of this namespace only");
});

t.test("NP042: the finding and its words", async (t) => {
  t.same(
    full({
      policyTypes: ["Egress"],
      egress: [{ ports: [{ port: 443 }] }, { to: [{ podSelector: {} }], ports: [{ protocol: "TCP", port: 53 }] }],
    }),
    [
      [
        "NP042",
        "warn",
        "spec.egress",
        "egress is restricted but no rule allows UDP port 53, so the selected pods lose DNS; allow UDP and TCP 53 to kube-system pods `k8s-app: kube-dns`",
      ],
    ],
  );
  t.same(found({ policyTypes: ["Ingress"] }), [], "no Egress type, no egress restriction");
  t.same(
    found({ policyTypes: ["Egress"], egress: [{ ports: [{ port: 443 }] }, { to: [{ podSelector: {} }] }] }),
    [],
    "one rule with every port is enough",
  );
});
