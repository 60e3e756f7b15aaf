// The connectivity corpus: upstream e2e scenarios (test/e2e/network/netpol) and the semantics of
// pkg/apis/networking/types.go, each asserting the verdict and which policy, rule and peer decided.
import t from "tap";
import {
  clusterFromObjects,
  explain,
  IPBLOCK_POD_NOTE,
  type ClusterOptions,
  type Explanation,
  type SideExplanation,
} from "../../src/connectivity/index.ts";
import { deployment, namespace, pod, policy } from "./objects.ts";

const world = [
  namespace("team-a", { team: "a" }),
  namespace("team-b", { team: "b" }),
  namespace("team-c", { team: "c" }),
  namespace("kube-system"),
  namespace("monitoring"),
  pod("team-a", "web", { labels: { app: "web" }, ip: "10.0.1.1", ports: [{ name: "http", containerPort: 8080 }] }),
  pod("team-a", "db", {
    labels: { app: "db" },
    ip: "10.0.1.2",
    ports: [
      { name: "http", containerPort: 9090 },
      { name: "metrics", containerPort: 9100, protocol: "UDP" },
    ],
  }),
  pod("team-b", "web", { labels: { app: "web" }, ip: "10.0.2.1" }),
  pod("team-b", "api", { labels: { app: "api" }, ip: "10.0.2.2", ports: [{ name: "http", containerPort: 8080 }] }),
  pod("team-c", "web", { labels: { app: "web" }, ip: "10.0.3.1" }),
  pod("kube-system", "coredns", {
    labels: { "k8s-app": "kube-dns" },
    ip: "10.0.9.1",
    ports: [
      { name: "dns", containerPort: 53, protocol: "UDP" },
      { name: "dns-tcp", containerPort: 53 },
    ],
  }),
  pod("monitoring", "prometheus", { labels: { app: "prometheus" }, ip: "10.0.8.1" }),
  deployment("team-a", "worker", { app: "worker" }),
];

const denyAllIngress = (ns: string) => policy(ns, "deny-all", { podSelector: {} });
const denyAllEgress = (ns: string) => policy(ns, "deny-egress", { podSelector: {}, policyTypes: ["Egress"] });

interface SideExpectation {
  isolated: boolean;
  allowedBy?: string[];
  unknownBy?: string[];
}

interface Case {
  /** `SOURCE -> DESTINATION PROTOCOL PORT` */
  flow: string;
  objects: object[];
  options?: ClusterOptions;
  verdict: "allowed" | "denied" | "unknown";
  egress?: SideExpectation | null;
  ingress?: SideExpectation | null;
  notes?: string[];
}

const cases: Record<string, Case> = {
  "no policy: every flow is allowed and neither side is isolated": {
    flow: "team-a/web -> team-b/api TCP 8080",
    objects: [],
    verdict: "allowed",
    egress: { isolated: false, allowedBy: [] },
    ingress: { isolated: false, allowedBy: [] },
  },
  "default deny ingress: nothing admits the flow": {
    flow: "team-a/web -> team-b/api TCP 8080",
    objects: [denyAllIngress("team-b")],
    verdict: "denied",
    egress: { isolated: false },
    ingress: { isolated: true, allowedBy: [] },
  },
  "default deny ingress does not touch egress of the same pods": {
    flow: "team-b/api -> team-a/web TCP 80",
    objects: [denyAllIngress("team-b")],
    verdict: "allowed",
    egress: { isolated: false },
    ingress: { isolated: false },
  },
  "a peer with both selectors is AND: the right namespace and the right pods": {
    flow: "team-a/web -> team-b/api TCP 80",
    objects: [
      policy("team-b", "and", {
        ingress: [
          {
            from: [{ namespaceSelector: { matchLabels: { team: "a" } }, podSelector: { matchLabels: { app: "web" } } }],
          },
        ],
      }),
    ],
    verdict: "allowed",
    ingress: { isolated: true, allowedBy: ["team-b/and spec.ingress[0].from[0]"] },
  },
  "AND: the right namespace but other pods is denied": {
    flow: "team-a/db -> team-b/api TCP 80",
    objects: [
      policy("team-b", "and", {
        ingress: [
          {
            from: [{ namespaceSelector: { matchLabels: { team: "a" } }, podSelector: { matchLabels: { app: "web" } } }],
          },
        ],
      }),
    ],
    verdict: "denied",
    ingress: { isolated: true, allowedBy: [] },
  },
  "AND: the right pods in another namespace is denied": {
    flow: "team-c/web -> team-b/api TCP 80",
    objects: [
      policy("team-b", "and", {
        ingress: [
          {
            from: [{ namespaceSelector: { matchLabels: { team: "a" } }, podSelector: { matchLabels: { app: "web" } } }],
          },
        ],
      }),
    ],
    verdict: "denied",
  },
  "two peers are OR: the namespaceSelector peer admits any pod of team-a": {
    flow: "team-a/db -> team-b/api TCP 80",
    objects: [
      policy("team-b", "or", {
        ingress: [
          {
            from: [
              { namespaceSelector: { matchLabels: { team: "a" } } },
              { podSelector: { matchLabels: { app: "web" } } },
            ],
          },
        ],
      }),
    ],
    verdict: "allowed",
    ingress: { isolated: true, allowedBy: ["team-b/or spec.ingress[0].from[0]"] },
  },
  "a podSelector-only peer means the policy's own namespace": {
    flow: "team-b/web -> team-b/api TCP 80",
    objects: [
      policy("team-b", "or", {
        ingress: [
          {
            from: [
              { namespaceSelector: { matchLabels: { team: "a" } } },
              { podSelector: { matchLabels: { app: "web" } } },
            ],
          },
        ],
      }),
    ],
    verdict: "allowed",
    ingress: { isolated: true, allowedBy: ["team-b/or spec.ingress[0].from[1]"] },
  },
  "a podSelector-only peer does not reach pods of that label in other namespaces": {
    flow: "team-c/web -> team-b/api TCP 80",
    objects: [
      policy("team-b", "or", {
        ingress: [
          {
            from: [
              { namespaceSelector: { matchLabels: { team: "a" } } },
              { podSelector: { matchLabels: { app: "web" } } },
            ],
          },
        ],
      }),
    ],
    verdict: "denied",
  },
  "namespaceSelector {} admits pods of every namespace": {
    flow: "team-c/web -> team-b/api TCP 80",
    objects: [policy("team-b", "all-ns", { ingress: [{ from: [{ namespaceSelector: {} }] }] })],
    verdict: "allowed",
    ingress: { isolated: true, allowedBy: ["team-b/all-ns spec.ingress[0].from[0]"] },
  },
  "namespaceSelector {} admits no address outside the cluster": {
    flow: "203.0.113.9 -> team-b/api TCP 80",
    objects: [policy("team-b", "all-ns", { ingress: [{ from: [{ namespaceSelector: {} }] }] })],
    verdict: "denied",
    egress: null,
    ingress: { isolated: true, allowedBy: [] },
  },
  "a rule without from admits every source, outside the cluster too": {
    flow: "203.0.113.9 -> team-b/api TCP 80",
    objects: [policy("team-b", "open", { ingress: [{}] })],
    verdict: "allowed",
    egress: null,
    ingress: { isolated: true, allowedBy: ["team-b/open spec.ingress[0]"] },
  },
  "ipBlock admits its addresses": {
    flow: "203.0.113.9 -> team-b/api TCP 80",
    objects: [
      policy("team-b", "cidr", {
        ingress: [{ from: [{ ipBlock: { cidr: "203.0.113.0/24", except: ["203.0.113.128/25"] } }] }],
      }),
    ],
    verdict: "allowed",
    ingress: { isolated: true, allowedBy: ["team-b/cidr spec.ingress[0].from[0]"] },
  },
  "ipBlock except carves addresses out": {
    flow: "203.0.113.200 -> team-b/api TCP 80",
    objects: [
      policy("team-b", "cidr", {
        ingress: [{ from: [{ ipBlock: { cidr: "203.0.113.0/24", except: ["203.0.113.128/25"] } }] }],
      }),
    ],
    verdict: "denied",
  },
  "ipBlock matches pod IPs too, as the upstream e2e tests expect, and says that CNIs differ": {
    flow: "team-a/web -> team-b/api TCP 80",
    objects: [policy("team-b", "cidr", { ingress: [{ from: [{ ipBlock: { cidr: "10.0.1.0/24" } }] }] })],
    verdict: "allowed",
    ingress: { isolated: true, allowedBy: ["team-b/cidr spec.ingress[0].from[0]"] },
    notes: [IPBLOCK_POD_NOTE],
  },
  "ipBlock except also excludes pod IPs": {
    flow: "team-a/db -> team-b/api TCP 80",
    objects: [
      policy("team-b", "cidr", {
        ingress: [{ from: [{ ipBlock: { cidr: "10.0.1.0/24", except: ["10.0.1.2/32"] } }] }],
      }),
    ],
    verdict: "denied",
  },
  "ipBlock against a template whose pod IP is not known yet is unknown, never guessed": {
    flow: "team-a/Deployment/worker -> team-b/api TCP 80",
    objects: [policy("team-b", "cidr", { ingress: [{ from: [{ ipBlock: { cidr: "10.0.1.0/24" } }] }] })],
    verdict: "unknown",
    ingress: { isolated: true, allowedBy: [], unknownBy: ["team-b/cidr spec.ingress[0].from[0]"] },
  },
  "a template's labels still decide selector peers": {
    flow: "team-a/Deployment/worker -> team-b/api TCP 80",
    objects: [
      policy("team-b", "sel", {
        ingress: [
          {
            from: [
              { namespaceSelector: { matchLabels: { team: "a" } }, podSelector: { matchLabels: { app: "worker" } } },
            ],
          },
        ],
      }),
    ],
    verdict: "allowed",
    ingress: { isolated: true, allowedBy: ["team-b/sel spec.ingress[0].from[0]"] },
  },
  "policyTypes defaults to Ingress even when only egress rules are written": {
    flow: "team-c/web -> team-b/api TCP 80",
    objects: [policy("team-b", "egress-only", { egress: [{ to: [{ namespaceSelector: {} }] }] })],
    verdict: "denied",
    ingress: { isolated: true, allowedBy: [] },
  },
  "policyTypes: [Egress] leaves ingress alone": {
    flow: "team-c/web -> team-b/api TCP 80",
    objects: [
      policy("team-b", "egress-only", { policyTypes: ["Egress"], egress: [{ to: [{ namespaceSelector: {} }] }] }),
    ],
    verdict: "allowed",
    ingress: { isolated: false },
  },
  "egress rules without Egress in policyTypes are ignored (the policy still isolates ingress)": {
    flow: "team-b/api -> 203.0.113.9 TCP 443",
    objects: [
      policy("team-b", "ignored", {
        policyTypes: ["Ingress"],
        egress: [{ to: [{ ipBlock: { cidr: "192.0.2.0/24" } }] }],
      }),
    ],
    verdict: "allowed",
    egress: { isolated: false },
    ingress: null,
  },
  "default deny egress plus DNS: UDP 53 to kube-dns is allowed": {
    flow: "team-a/web -> kube-system/coredns UDP 53",
    objects: [
      denyAllEgress("team-a"),
      policy("team-a", "allow-dns", {
        policyTypes: ["Egress"],
        egress: [
          {
            to: [
              {
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
                podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
              },
            ],
            ports: [
              { protocol: "UDP", port: 53 },
              { protocol: "TCP", port: 53 },
            ],
          },
        ],
      }),
    ],
    verdict: "allowed",
    egress: { isolated: true, allowedBy: ["team-a/allow-dns spec.egress[0].to[0]"] },
    ingress: { isolated: false },
  },
  "default deny egress plus DNS: anything else leaving the pod is denied": {
    flow: "team-a/web -> team-b/api TCP 8080",
    objects: [
      denyAllEgress("team-a"),
      policy("team-a", "allow-dns", {
        policyTypes: ["Egress"],
        egress: [
          {
            to: [
              {
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
                podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
              },
            ],
            ports: [{ protocol: "UDP", port: 53 }],
          },
        ],
      }),
    ],
    verdict: "denied",
    egress: { isolated: true, allowedBy: [] },
    ingress: { isolated: false },
  },
  "a rule's ports bind to that rule's peers only": {
    flow: "team-c/web -> team-b/api TCP 80",
    objects: [
      policy("team-b", "split", {
        ingress: [
          { from: [{ namespaceSelector: { matchLabels: { team: "a" } } }], ports: [{ port: 80 }] },
          { from: [{ namespaceSelector: { matchLabels: { team: "c" } } }], ports: [{ port: 443 }] },
        ],
      }),
    ],
    verdict: "denied",
  },
  "rules are OR-ed: the second rule admits its own peers on its own ports": {
    flow: "team-c/web -> team-b/api TCP 443",
    objects: [
      policy("team-b", "split", {
        ingress: [
          { from: [{ namespaceSelector: { matchLabels: { team: "a" } } }], ports: [{ port: 80 }] },
          { from: [{ namespaceSelector: { matchLabels: { team: "c" } } }], ports: [{ port: 443 }] },
        ],
      }),
    ],
    verdict: "allowed",
    ingress: { isolated: true, allowedBy: ["team-b/split spec.ingress[1].from[0]"] },
  },
  "policies add up: each one that admits the flow is named": {
    flow: "team-a/web -> team-b/api TCP 80",
    objects: [
      denyAllIngress("team-b"),
      policy("team-b", "from-a", { ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "a" } } }] }] }),
      policy("team-b", "open", { ingress: [{}] }),
    ],
    verdict: "allowed",
    ingress: { isolated: true, allowedBy: ["team-b/from-a spec.ingress[0].from[0]", "team-b/open spec.ingress[0]"] },
  },
  "a named port resolves against the destination's container ports (8080 on team-a/web)": {
    flow: "team-b/web -> team-a/web TCP 8080",
    objects: [policy("team-a", "http", { ingress: [{ ports: [{ port: "http" }] }] })],
    verdict: "allowed",
    ingress: { isolated: true, allowedBy: ["team-a/http spec.ingress[0]"] },
  },
  "the same named port is 9090 on team-a/db, so 8080 is denied there": {
    flow: "team-b/web -> team-a/db TCP 8080",
    objects: [policy("team-a", "http", { ingress: [{ ports: [{ port: "http" }] }] })],
    verdict: "denied",
  },
  "a named port resolves per protocol: metrics is UDP, so TCP 9100 is denied": {
    flow: "team-b/web -> team-a/db TCP 9100",
    objects: [policy("team-a", "metrics", { ingress: [{ ports: [{ port: "metrics" }] }] })],
    verdict: "denied",
  },
  "a named port with its protocol matches": {
    flow: "team-b/web -> team-a/db UDP 9100",
    objects: [policy("team-a", "metrics", { ingress: [{ ports: [{ port: "metrics", protocol: "UDP" }] }] })],
    verdict: "allowed",
  },
  "an egress named port resolves against the destination, not the source": {
    flow: "team-a/web -> team-b/api TCP 8080",
    objects: [policy("team-a", "out-http", { policyTypes: ["Egress"], egress: [{ ports: [{ port: "http" }] }] })],
    verdict: "allowed",
    egress: { isolated: true, allowedBy: ["team-a/out-http spec.egress[0]"] },
  },
  "an egress named port never matches an address outside the cluster": {
    flow: "team-a/web -> 203.0.113.9 TCP 8080",
    objects: [policy("team-a", "out-http", { policyTypes: ["Egress"], egress: [{ ports: [{ port: "http" }] }] })],
    verdict: "denied",
    ingress: null,
  },
  "endPort: the first port of the range": {
    flow: "team-a/web -> team-b/api TCP 32000",
    objects: [policy("team-b", "range", { ingress: [{ ports: [{ port: 32000, endPort: 32768 }] }] })],
    verdict: "allowed",
  },
  "endPort: the last port of the range": {
    flow: "team-a/web -> team-b/api TCP 32768",
    objects: [policy("team-b", "range", { ingress: [{ ports: [{ port: 32000, endPort: 32768 }] }] })],
    verdict: "allowed",
  },
  "endPort: one past the range": {
    flow: "team-a/web -> team-b/api TCP 32769",
    objects: [policy("team-b", "range", { ingress: [{ ports: [{ port: 32000, endPort: 32768 }] }] })],
    verdict: "denied",
  },
  "a port without protocol is TCP: UDP on it is denied": {
    flow: "team-a/web -> team-b/api UDP 80",
    objects: [policy("team-b", "tcp80", { ingress: [{ ports: [{ port: 80 }] }] })],
    verdict: "denied",
  },
  "SCTP is its own protocol": {
    flow: "team-a/web -> team-b/api SCTP 5000",
    objects: [policy("team-b", "sctp", { ingress: [{ ports: [{ protocol: "SCTP", port: 5000 }] }] })],
    verdict: "allowed",
  },
  "a protocol without a port admits all its ports": {
    flow: "team-a/web -> team-b/api UDP 12345",
    objects: [policy("team-b", "udp", { ingress: [{ ports: [{ protocol: "UDP" }] }] })],
    verdict: "allowed",
  },
  "both ends: the source's egress allows, the destination's ingress denies": {
    flow: "team-a/web -> team-b/api TCP 80",
    objects: [policy("team-a", "out", { policyTypes: ["Egress"], egress: [{}] }), denyAllIngress("team-b")],
    verdict: "denied",
    egress: { isolated: true, allowedBy: ["team-a/out spec.egress[0]"] },
    ingress: { isolated: true, allowedBy: [] },
  },
  "both ends: the destination admits, the source's egress denies": {
    flow: "team-a/web -> team-b/api TCP 80",
    objects: [denyAllEgress("team-a"), policy("team-b", "open", { ingress: [{}] })],
    verdict: "denied",
    egress: { isolated: true, allowedBy: [] },
    ingress: { isolated: true, allowedBy: ["team-b/open spec.ingress[0]"] },
  },
  "an IP address of a pod is that pod": {
    flow: "10.0.1.1 -> team-b/api TCP 80",
    objects: [
      policy("team-b", "from-web", {
        ingress: [{ from: [{ namespaceSelector: {}, podSelector: { matchLabels: { app: "web" } } }] }],
      }),
    ],
    verdict: "allowed",
    egress: { isolated: false },
  },
  "an invalid peer is skipped, it does not widen its rule to everything": {
    flow: "team-a/web -> team-b/api TCP 80",
    objects: [
      policy("team-b", "broken", {
        ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: "app", operator: "Bogus" }] } }] }],
      }),
    ],
    verdict: "denied",
    ingress: { isolated: true, allowedBy: [] },
    notes: ["1 part(s) of the policies could not be evaluated and were skipped (see problems)"],
  },
  "an isolated namespace: other namespaces lose ingress": {
    flow: "team-b/web -> team-a/web TCP 80",
    objects: [namespace("team-a", { team: "a", "netfence.io/isolation": "enabled" })],
    options: { allowedIngressNamespaces: ["monitoring"] },
    verdict: "denied",
    ingress: { isolated: true, allowedBy: [] },
  },
  "an isolated namespace: the namespace itself keeps ingress through the managed policy": {
    flow: "team-a/db -> team-a/web TCP 80",
    objects: [namespace("team-a", { team: "a", "netfence.io/isolation": "enabled" })],
    options: { allowedIngressNamespaces: ["monitoring"] },
    verdict: "allowed",
    ingress: { isolated: true, allowedBy: ["team-a/netfence-isolation spec.ingress[0].from[0]"] },
  },
  "an isolated namespace: allowed namespaces are injected into the team's own policy too": {
    flow: "monitoring/prometheus -> team-a/web TCP 80",
    objects: [
      namespace("team-a", { team: "a", "netfence.io/isolation": "enabled" }),
      policy("team-a", "web-only", {
        podSelector: { matchLabels: { app: "web" } },
        ingress: [{ from: [{ podSelector: { matchLabels: { app: "web" } } }] }],
      }),
    ],
    options: { allowedIngressNamespaces: ["monitoring"] },
    verdict: "allowed",
    ingress: {
      isolated: true,
      allowedBy: ["team-a/netfence-isolation spec.ingress[1].from[0]", "team-a/web-only spec.ingress[1].from[0]"],
    },
  },
  "isolation from the config (or --isolate) works without any label": {
    flow: "team-b/web -> team-a/web TCP 80",
    objects: [],
    options: { isolatedNamespaces: ["team-a"] },
    verdict: "denied",
  },
  "the KubeSphere annotation isolates the same way": {
    flow: "team-b/web -> team-a/web TCP 80",
    objects: [namespace("team-a", { team: "a" }, { "kubesphere.io/network-isolate": "enabled" })],
    verdict: "denied",
  },
};

function parseFlow(text: string) {
  const match = /^(\S+) -> (\S+) (TCP|UDP|SCTP) (\d+)$/.exec(text);
  if (!match) throw new Error(`bad flow ${text}`);
  return { from: match[1]!, to: match[2]!, protocol: match[3] as "TCP", port: Number(match[4]) };
}

const names = (side: SideExplanation, key: "allowedBy" | "unknownBy") => side[key].map((m) => `${m.policy} ${m.path}`);

function checkSide(
  t: { equal: (...a: any[]) => unknown; ok: (...a: any[]) => unknown; same: (...a: any[]) => unknown },
  actual: SideExplanation | null,
  expected: SideExpectation | null | undefined,
  what: string,
) {
  if (expected === undefined) return;
  if (expected === null) return t.equal(actual, null, `${what}: no side (outside the cluster or ignored)`);
  t.ok(actual, `${what} side present`);
  if (actual === null) return;
  t.equal(actual.isolated, expected.isolated, `${what} isolated`);
  if (expected.allowedBy !== undefined) t.same(names(actual, "allowedBy"), expected.allowedBy, `${what} allowed by`);
  if (expected.unknownBy !== undefined) t.same(names(actual, "unknownBy"), expected.unknownBy, `${what} unknown by`);
}

for (const [name, c] of Object.entries(cases)) {
  t.test(name, async (t) => {
    const objects = [
      ...world.filter(
        (o) =>
          !(
            o.kind === "Namespace" &&
            c.objects.some(
              (x) => (x as typeof o).kind === "Namespace" && (x as typeof o).metadata.name === o.metadata.name,
            )
          ),
      ),
      ...c.objects,
    ];
    const result: Explanation = explain(clusterFromObjects(objects, c.options), parseFlow(c.flow));
    t.equal(result.verdict, c.verdict, "verdict");
    checkSide(t, result.egress, c.egress, "egress");
    checkSide(t, result.ingress, c.ingress, "ingress");
    if (c.notes !== undefined) t.same(result.notes, c.notes, "notes");
  });
}

t.test("an unknown endpoint is an input error that names the expected forms", async (t) => {
  const cluster = clusterFromObjects(world);
  t.throws(() => explain(cluster, { from: "team-a/nope", to: "team-b/api", port: 80 }), {
    name: "InputError",
    message: /`team-a\/nope` is no workload in the input/,
  });
  t.throws(() => explain(cluster, { from: "nope", to: "team-b/api", port: 80 }), {
    message: /neither NAMESPACE\/POD, NAMESPACE\/KIND\/NAME nor an IP address/,
  });
});
