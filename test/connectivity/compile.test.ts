// Compiling policies: what cannot be evaluated is reported as a problem with its field path, and a
// skipped peer or port narrows its rule; it never widens the rule to "everything".
import t from "tap";
import { clusterFromObjects, engineFor, type Protocol } from "../../src/connectivity/index.ts";
import { namespace, pod, policy } from "./objects.ts";

const world = [
  namespace("team-a", { team: "a" }),
  namespace("team-b", { team: "b" }),
  pod("team-a", "api", { labels: { app: "api" }, ip: "10.0.1.1", ports: [{ name: "http", containerPort: 8080 }] }),
  pod("team-b", "web", { labels: { app: "web" }, ip: "10.0.2.1" }),
];

const engineWith = (spec: Record<string, unknown>) =>
  engineFor(clusterFromObjects([...world, policy("team-a", "np", spec)]));

interface ProblemCase {
  spec: Record<string, unknown>;
  path: string;
  message: string;
  /** Flows into team-a/api from team-b/web and what the compiled policy says about them. */
  flows: [protocol: Protocol, port: number, verdict: "allowed" | "denied"][];
}

const problems: Record<string, ProblemCase> = {
  "an invalid pod selector: the whole policy is skipped, so it isolates nothing": {
    spec: { podSelector: { matchLabels: { "bad key!": "x" } } },
    path: "spec.podSelector.matchLabels[bad key!]",
    message:
      "key `bad key!`: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character; the whole policy is not evaluated",
    flows: [["TCP", 8080, "allowed"]],
  },
  "an unknown policy type is reported and ignored; Ingress still isolates": {
    spec: { policyTypes: ["Ingress", "Sideways"] },
    path: "spec.policyTypes",
    message: "`Sideways` is not a policy type (Ingress or Egress) and is ignored",
    flows: [["TCP", 8080, "denied"]],
  },
  "ingress rules without Ingress in policyTypes are ignored, as Kubernetes does": {
    spec: { policyTypes: ["Egress"], ingress: [{}] },
    path: "spec.ingress",
    message: "ignored, as Kubernetes does: `policyTypes` does not include Ingress",
    flows: [["TCP", 8080, "allowed"]],
  },
  "egress rules without Egress in policyTypes are ignored; ingress is isolated": {
    spec: { policyTypes: ["Ingress"], egress: [{}] },
    path: "spec.egress",
    message: "ignored, as Kubernetes does: `policyTypes` does not include Egress",
    flows: [["TCP", 8080, "denied"]],
  },
  "an ipBlock with a selector is skipped: the rule admits nobody": {
    spec: { ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/8" }, podSelector: {} }] }] },
    path: "spec.ingress[0].from[0]",
    message: "`ipBlock` may not be combined with a selector; this peer is not evaluated",
    flows: [["TCP", 8080, "denied"]],
  },
  "an ipBlock with a namespaceSelector is skipped too": {
    spec: { ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/8" }, namespaceSelector: {} }] }] },
    path: "spec.ingress[0].from[0]",
    message: "`ipBlock` may not be combined with a selector; this peer is not evaluated",
    flows: [["TCP", 8080, "denied"]],
  },
  "an ipBlock whose cidr is no CIDR is skipped": {
    spec: { ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/33" } }] }] },
    path: "spec.ingress[0].from[0].ipBlock.cidr",
    message: "`10.0.0.0/33`: the prefix length must be at most 32 for IPv4; this peer is not evaluated",
    flows: [["TCP", 8080, "denied"]],
  },
  "an ipBlock with one bad except entry is skipped as a whole, not widened to the cidr": {
    spec: { ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/8", except: ["10.1.0.0/16", "nope"] } }] }] },
    path: "spec.ingress[0].from[0].ipBlock.except[1]",
    message: "`nope`: not an IP address; this peer is not evaluated",
    flows: [["TCP", 8080, "denied"]],
  },
  "a peer with nothing in it is skipped, not read as everyone": {
    spec: { ingress: [{ from: [{}] }] },
    path: "spec.ingress[0].from[0]",
    message: "a peer needs `podSelector`, `namespaceSelector` or `ipBlock`; this peer is not evaluated",
    flows: [["TCP", 8080, "denied"]],
  },
  "an invalid namespaceSelector skips its peer": {
    spec: { ingress: [{ from: [{ namespaceSelector: { matchLabels: { "bad key!": "x" } } }] }] },
    path: "spec.ingress[0].from[0].namespaceSelector.matchLabels[bad key!]",
    message:
      "key `bad key!`: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character; this peer is not evaluated",
    flows: [["TCP", 8080, "denied"]],
  },
  "an invalid podSelector skips its peer": {
    spec: { ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: "a", operator: "In" }] } }] }] },
    path: "spec.ingress[0].from[0].podSelector.matchExpressions[0].values",
    message: "is required when `operator` is In; this peer is not evaluated",
    flows: [["TCP", 8080, "denied"]],
  },
  "an unknown protocol skips its port: the rule admits no port": {
    spec: { ingress: [{ ports: [{ protocol: "ICMP", port: 1 }] }] },
    path: "spec.ingress[0].ports[0].protocol",
    message: "`ICMP` is not TCP, UDP or SCTP; this port is not evaluated",
    flows: [
      ["TCP", 1, "denied"],
      ["UDP", 1, "denied"],
    ],
  },
  "an invalid port name skips its port": {
    spec: { ingress: [{ ports: [{ port: "not_a_name!" }] }] },
    path: "spec.ingress[0].ports[0].port",
    message:
      "`not_a_name!` is not a port name: it must contain only lowercase letters, digits and '-'; this port is not evaluated",
    flows: [["TCP", 8080, "denied"]],
  },
  "port 0 is below the range": {
    spec: { ingress: [{ ports: [{ port: 0 }] }] },
    path: "spec.ingress[0].ports[0].port",
    message: "0 is not between 1 and 65535; this port is not evaluated",
    flows: [
      ["TCP", 1, "denied"],
      ["TCP", 8080, "denied"],
    ],
  },
  "port 65536 is above the range": {
    spec: { ingress: [{ ports: [{ port: 65536 }] }] },
    path: "spec.ingress[0].ports[0].port",
    message: "65536 is not between 1 and 65535; this port is not evaluated",
    flows: [["TCP", 65535, "denied"]],
  },
  "an endPort below port is skipped": {
    spec: { ingress: [{ ports: [{ port: 8080, endPort: 8079 }] }] },
    path: "spec.ingress[0].ports[0].endPort",
    message: "8079 is not between `port` (8080) and 65535; this port is not evaluated",
    flows: [
      ["TCP", 8079, "denied"],
      ["TCP", 8080, "denied"],
    ],
  },
  "an endPort above 65535 is skipped": {
    spec: { ingress: [{ ports: [{ port: 8080, endPort: 65536 }] }] },
    path: "spec.ingress[0].ports[0].endPort",
    message: "65536 is not between `port` (8080) and 65535; this port is not evaluated",
    flows: [
      ["TCP", 8080, "denied"],
      ["TCP", 65535, "denied"],
    ],
  },
};

t.test("what cannot be evaluated is reported once, with its path, and narrows the policy", async (t) => {
  for (const [name, { spec, path, message, flows }] of Object.entries(problems)) {
    t.test(name, async (t) => {
      const engine = engineWith(spec);
      t.same(engine.problems, [{ policy: "team-a/np", path, message }]);
      for (const [protocol, port, verdict] of flows) {
        t.equal(
          engine.verdict({ from: "team-b/web", to: "team-a/api", protocol, port }),
          verdict,
          `${protocol}/${port}`,
        );
      }
    });
  }
});

interface PortCase {
  ports: Record<string, unknown>[];
  open: [protocol: Protocol, port: number][];
  closed: [protocol: Protocol, port: number][];
}

const ports: Record<string, PortCase> = {
  "no ports: every port of every protocol": {
    ports: [],
    open: [
      ["TCP", 1],
      ["UDP", 53],
      ["SCTP", 65535],
    ],
    closed: [],
  },
  "port 1, the lowest, alone": {
    ports: [{ port: 1 }],
    open: [["TCP", 1]],
    closed: [
      ["TCP", 2],
      ["UDP", 1],
    ],
  },
  "port 65535, the highest, as a range of one (endPort === port)": {
    ports: [{ port: 65535, endPort: 65535 }],
    open: [["TCP", 65535]],
    closed: [["TCP", 65534]],
  },
  "a range from port to endPort 65535, both ends included": {
    ports: [{ port: 65000, endPort: 65535 }],
    open: [
      ["TCP", 65000],
      ["TCP", 65535],
    ],
    closed: [["TCP", 64999]],
  },
  "a protocol without a port: all its ports, no other protocol": {
    ports: [{ protocol: "UDP" }],
    open: [
      ["UDP", 1],
      ["UDP", 65535],
    ],
    closed: [["TCP", 53]],
  },
  "a named port resolves on the destination: http is 8080 on team-a/api": {
    ports: [{ port: "http" }],
    open: [["TCP", 8080]],
    closed: [
      ["TCP", 80],
      ["UDP", 8080],
    ],
  },
  "two entries are a union; a skipped entry takes nothing from the other": {
    ports: [{ port: 0 }, { port: 443 }],
    open: [["TCP", 443]],
    closed: [
      ["TCP", 1],
      ["TCP", 8080],
    ],
  },
};

t.test("ports of a rule, with the API server's default protocol TCP", async (t) => {
  for (const [name, { ports: entries, open, closed }] of Object.entries(ports)) {
    t.test(name, async (t) => {
      const engine = engineWith({ ingress: [{ ports: entries }] });
      for (const [protocol, port] of open)
        t.equal(
          engine.verdict({ from: "team-b/web", to: "team-a/api", protocol, port }),
          "allowed",
          `${protocol}/${port}`,
        );
      for (const [protocol, port] of closed)
        t.equal(
          engine.verdict({ from: "team-b/web", to: "team-a/api", protocol, port }),
          "denied",
          `${protocol}/${port}`,
        );
    });
  }
});

t.test("policies are compiled in namespace, then name order, whatever order they came in", async (t) => {
  const objects = [
    namespace("zeta"),
    namespace("alpha"),
    policy("zeta", "a", { policyTypes: ["Bogus"] }),
    policy("alpha", "b", { policyTypes: ["Bogus"] }),
    policy("alpha", "a", { policyTypes: ["Bogus"] }),
  ];
  const order = (input: object[]) => engineFor(clusterFromObjects(input)).problems.map((p) => p.policy);
  t.same(order(objects), ["alpha/a", "alpha/b", "zeta/a"]);
  t.same(order([...objects].reverse()), ["alpha/a", "alpha/b", "zeta/a"]);
});

t.test("an egress-only policy governs egress alone, under the egress field's name", async (t) => {
  const engine = engineFor(
    clusterFromObjects([
      ...world,
      policy("team-b", "egress", {
        policyTypes: ["Egress"],
        egress: [{ to: [{ namespaceSelector: { matchLabels: { team: "b" } } }], ports: [{ port: "http" }] }],
      }),
    ]),
  );
  t.same(engine.problems, []);
  const explained = engine.explain({ from: "team-b/web", to: "team-a/api", port: 8080 });
  t.equal(explained.verdict, "denied");
  t.match(explained.egress, { direction: "egress", isolated: true, policies: ["team-b/egress"], allowedBy: [] });
  t.match(explained.ingress, { isolated: false });
});
