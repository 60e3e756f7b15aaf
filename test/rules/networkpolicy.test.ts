// NetworkPolicy rules as a table: valid policies say nothing; each invalid one names its exact
// rule, action and field path (the other families are called from here, so their paths are too).
import t from "tap";
import { findingsOf, triples } from "../helpers/evaluate.ts";
import { networkPolicy } from "../helpers/review.ts";

const DNS = {
  ports: [
    { protocol: "UDP", port: 53 },
    { protocol: "TCP", port: 53 },
  ],
};

const valid: Record<string, Record<string, unknown>> = {
  "default deny ingress": { policyTypes: ["Ingress"] },
  "allow from one namespace and pod (AND in one peer)": {
    ingress: [
      {
        from: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "web" } },
            podSelector: { matchLabels: { app: "api" } },
          },
        ],
      },
    ],
  },
  "ports with named and ranged ports": {
    ingress: [{ ports: [{ port: "http" }, { protocol: "UDP", port: 5000, endPort: 5010 }, { protocol: "TCP" }] }],
  },
  "egress with DNS": { policyTypes: ["Egress"], egress: [{ to: [{ podSelector: {} }] }, DNS] },
  "egress to all ports counts as DNS": { egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/8" } }] }] },
  "selector expressions": {
    podSelector: {
      matchExpressions: [
        { key: "app.kubernetes.io/name", operator: "In", values: ["a", "b-c"] },
        { key: "tier", operator: "Exists" },
      ],
    },
  },
  "a podSelector peer after a podSelector peer is plain OR": {
    ingress: [{ from: [{ podSelector: { matchLabels: { a: "1" } } }, { podSelector: { matchLabels: { b: "2" } } }] }],
  },
};

t.test("correct policies produce no findings", async (t) => {
  for (const [name, spec] of Object.entries(valid)) t.same(triples(findingsOf(networkPolicy(spec))), [], name);
});

type Case = {
  spec?: Record<string, unknown>;
  object?: unknown;
  isolated?: boolean;
  expect: [string, string, string][];
};

const invalid: Record<string, Case> = {
  "spec missing": {
    object: { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "x" } },
    expect: [["NP001", "deny", "spec"]],
  },
  "podSelector missing": {
    object: { kind: "NetworkPolicy", spec: { policyTypes: ["Ingress"] } },
    expect: [["NP001", "deny", "spec.podSelector"]],
  },
  "a port of the wrong type": {
    spec: { ingress: [{ ports: [{ port: 1.5 }] }] },
    expect: [["NP001", "deny", "spec.ingress[0].ports[0].port"]],
  },
  "ingress that is not a list": { spec: { ingress: { from: [] } }, expect: [["NP001", "deny", "spec.ingress"]] },
  "a lowercase policy type": { spec: { policyTypes: ["ingress"] }, expect: [["NP002", "deny", "spec.policyTypes[0]"]] },
  "an unknown policy type": {
    spec: { policyTypes: ["Ingress", "Both"] },
    expect: [["NP002", "deny", "spec.policyTypes[1]"]],
  },
  "three policy types": {
    spec: { policyTypes: ["Ingress", "Egress", "Ingress"], egress: [DNS] },
    expect: [
      ["NP002", "deny", "spec.policyTypes"],
      ["NP004", "warn", "spec.policyTypes[2]"],
    ],
  },
  "a duplicated policy type": {
    spec: { policyTypes: ["Ingress", "Ingress"] },
    expect: [["NP004", "warn", "spec.policyTypes[1]"]],
  },
  "egress rules without Egress in policyTypes": {
    spec: { policyTypes: ["Ingress"], egress: [DNS] },
    expect: [["NP003", "deny", "spec.egress"]],
  },
  "ingress rules without Ingress in policyTypes": {
    spec: { policyTypes: ["Egress"], ingress: [{}], egress: [DNS] },
    expect: [["NP003", "deny", "spec.ingress"]],
  },
  "ipBlock and podSelector in one peer": {
    spec: { ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/8" }, podSelector: {} }] }] },
    expect: [["NP010", "deny", "spec.ingress[0].from[0]"]],
  },
  "an empty peer": { spec: { egress: [{ to: [{}] }] }, expect: [["NP010", "deny", "spec.egress[0].to[0]"]] },
  "an unknown operator": {
    spec: { podSelector: { matchExpressions: [{ key: "app", operator: "in", values: ["a"] }] } },
    expect: [["NP011", "deny", "spec.podSelector.matchExpressions[0].operator"]],
  },
  "In without values": {
    spec: { ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: "team", operator: "In" }] } }] }] },
    expect: [["NP011", "deny", "spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values"]],
  },
  "Exists with values": {
    spec: { podSelector: { matchExpressions: [{ key: "team", operator: "Exists", values: ["a"] }] } },
    expect: [["NP011", "deny", "spec.podSelector.matchExpressions[0].values"]],
  },
  "a bad label key": {
    spec: { podSelector: { matchLabels: { "-app": "x" } } },
    expect: [["NP011", "deny", "spec.podSelector.matchLabels[-app]"]],
  },
  "an uppercase key prefix": {
    spec: { podSelector: { matchLabels: { "Example.com/app": "x" } } },
    expect: [["NP011", "deny", "spec.podSelector.matchLabels[Example.com/app]"]],
  },
  "a label value over 63 characters": {
    spec: { podSelector: { matchLabels: { app: "a".repeat(64) } } },
    expect: [["NP011", "deny", "spec.podSelector.matchLabels[app]"]],
  },
  "a bad value in an expression": {
    spec: { podSelector: { matchExpressions: [{ key: "app", operator: "NotIn", values: ["ok", "not ok"] }] } },
    expect: [["NP011", "deny", "spec.podSelector.matchExpressions[0].values[1]"]],
  },
  "a lowercase protocol": {
    spec: { ingress: [{ ports: [{ protocol: "tcp", port: 80 }] }] },
    expect: [["NP030", "deny", "spec.ingress[0].ports[0].protocol"]],
  },
  ICMP: {
    spec: { ingress: [{ ports: [{ protocol: "ICMP" }] }] },
    expect: [["NP030", "deny", "spec.ingress[0].ports[0].protocol"]],
  },
  SCTP: {
    spec: { ingress: [{ ports: [{ protocol: "SCTP", port: 9 }] }] },
    expect: [["NP031", "warn", "spec.ingress[0].ports[0].protocol"]],
  },
  "port 0": {
    spec: { ingress: [{ ports: [{ port: 0 }] }] },
    expect: [["NP032", "deny", "spec.ingress[0].ports[0].port"]],
  },
  "port 65536": {
    spec: { ingress: [{ ports: [{ port: 65536 }] }] },
    expect: [["NP032", "deny", "spec.ingress[0].ports[0].port"]],
  },
  "a port name of 16 characters": {
    spec: { ingress: [{ ports: [{ port: "abcdefghijklmnop" }] }] },
    expect: [["NP032", "deny", "spec.ingress[0].ports[0].port"]],
  },
  "a port name without letters": {
    spec: { ingress: [{ ports: [{ port: "8080" }] }] },
    expect: [["NP032", "deny", "spec.ingress[0].ports[0].port"]],
  },
  "a port name with consecutive dashes": {
    spec: { ingress: [{ ports: [{ port: "my--port" }] }] },
    expect: [["NP032", "deny", "spec.ingress[0].ports[0].port"]],
  },
  "an uppercase port name": {
    spec: { ingress: [{ ports: [{ port: "HTTP" }] }] },
    expect: [["NP032", "deny", "spec.ingress[0].ports[0].port"]],
  },
  "endPort below port": {
    spec: { ingress: [{ ports: [{ port: 8080, endPort: 80 }] }] },
    expect: [["NP033", "deny", "spec.ingress[0].ports[0].endPort"]],
  },
  "endPort without port": {
    spec: { ingress: [{ ports: [{ endPort: 80 }] }] },
    expect: [["NP033", "deny", "spec.ingress[0].ports[0].endPort"]],
  },
  "endPort with a named port": {
    spec: { ingress: [{ ports: [{ port: "http", endPort: 80 }] }] },
    expect: [["NP033", "deny", "spec.ingress[0].ports[0].endPort"]],
  },
  "endPort above 65535": {
    spec: { ingress: [{ ports: [{ port: 80, endPort: 70000 }] }] },
    expect: [["NP033", "deny", "spec.ingress[0].ports[0].endPort"]],
  },
  "a named port to addresses outside the cluster": {
    spec: { egress: [{ to: [{ ipBlock: { cidr: "203.0.113.0/24" } }], ports: [{ port: "https" }] }, DNS] },
    expect: [["NP034", "warn", "spec.egress[0].ports[0].port"]],
  },
  "an ingress rule without from, in an isolated namespace": {
    spec: { ingress: [{}] },
    isolated: true,
    expect: [["NP040", "warn", "spec.ingress[0]"]],
  },
  "namespaceSelector {} in an isolated namespace": {
    spec: { ingress: [{ from: [{ namespaceSelector: {} }] }] },
    isolated: true,
    expect: [["NP040", "warn", "spec.ingress[0].from[0].namespaceSelector"]],
  },
  "a namespaceSelector peer followed by a podSelector peer": {
    spec: {
      ingress: [
        {
          from: [
            { namespaceSelector: { matchLabels: { team: "a" } } },
            { podSelector: { matchLabels: { app: "api" } } },
          ],
        },
      ],
    },
    expect: [["NP041", "warn", "spec.ingress[0].from[1]"]],
  },
  "egress restricted without DNS": {
    spec: { policyTypes: ["Egress"], egress: [{ to: [{ podSelector: {} }], ports: [{ port: 5432 }] }] },
    expect: [["NP042", "warn", "spec.egress"]],
  },
  "deny all egress": { spec: { policyTypes: ["Egress"] }, expect: [["NP042", "warn", "spec.policyTypes"]] },
  "TCP 53 only is not DNS": {
    spec: { egress: [{ ports: [{ protocol: "TCP", port: 53 }] }] },
    expect: [["NP042", "warn", "spec.egress"]],
  },
  "every problem is reported, not only the first": {
    spec: {
      policyTypes: ["ingress"],
      ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.1/8" } }], ports: [{ port: 0 }] }],
    },
    expect: [
      ["NP002", "deny", "spec.policyTypes[0]"],
      ["NP032", "deny", "spec.ingress[0].ports[0].port"],
      ["NP021", "deny", "spec.ingress[0].from[0].ipBlock.cidr"],
    ],
  },
};

t.test("invalid policies: exact rule, action and path", async (t) => {
  for (const [name, { spec, object, isolated, expect }] of Object.entries(invalid)) {
    const findings = findingsOf(object ?? networkPolicy(spec ?? {}), {
      context: { namespaceIsolated: isolated ?? false },
    });
    t.same(triples(findings), expect, name);
    for (const f of findings) t.ok(f.message.length > 0 && !/\n/.test(f.message), `${name}: a one-line message`);
  }
});

t.test("messages say what to write instead", async (t) => {
  const message = (spec: Record<string, unknown>) => findingsOf(networkPolicy(spec))[0]?.message;
  t.match(
    message({ policyTypes: ["Ingress"], egress: [DNS] }),
    "add `Egress` to `spec.policyTypes` or delete the egress rules",
  );
  t.match(
    message({ ingress: [{ from: [{ namespaceSelector: { matchLabels: { a: "b" } } }, { podSelector: {} }] }] }),
    "put both selectors in one peer",
  );
  t.match(message({ ingress: [{ ports: [{ protocol: "udp" }] }] }), "write `UDP`");
  t.match(message({ ingress: [{ from: [{ ipBlock: { cidr: "192.168.1.7/24" } }] }] }), "`192.168.1.0/24`");
});

t.test("configured actions: warn, off, and defaults kept for the rest", async (t) => {
  const policy = networkPolicy({
    policyTypes: ["Ingress"],
    ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.1/8" } }] }],
    egress: [DNS],
  });
  t.same(triples(findingsOf(policy, { actions: { NP021: "warn", NP003: "off" } })), [
    ["NP021", "warn", "spec.ingress[0].from[0].ipBlock.cidr"],
  ]);
});

t.test(
  "UPDATE ratcheting: only a denial already stored at the same field with the same value becomes a warning",
  async (t) => {
    const stored = networkPolicy({ ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.1/8" } }] }] });
    const relabelled = { ...stored, metadata: { ...stored.metadata, labels: { a: "b" } } };
    t.same(triples(findingsOf(relabelled, { oldObject: stored })), [
      ["NP021", "warn", "spec.ingress[0].from[0].ipBlock.cidr"],
    ]);
    const changed = networkPolicy({ ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.3/8" } }] }] });
    t.same(triples(findingsOf(changed, { oldObject: stored })), [
      ["NP021", "deny", "spec.ingress[0].from[0].ipBlock.cidr"],
    ]);
    const moved = networkPolicy({ ingress: [{}, { from: [{ ipBlock: { cidr: "10.0.0.1/8" } }] }] });
    t.same(
      triples(findingsOf(moved, { oldObject: stored })),
      [["NP021", "deny", "spec.ingress[1].from[0].ipBlock.cidr"]],
      "another field is not grandfathered",
    );
  },
);
