// Diffs of create, update and delete, with exact entries: what a pull request changes in connectivity.
import t from "tap";
import { clusterFromObjects, diff } from "../../src/connectivity/index.ts";
import { deployment, namespace, pod, policy } from "./objects.ts";

const base = [
  namespace("a"),
  namespace("b"),
  pod("a", "web", { labels: { app: "web" }, ip: "10.0.0.1" }),
  pod("b", "api", { labels: { app: "api" }, ip: "10.0.0.2", ports: [{ name: "http", containerPort: 8080 }] }),
];
const all = [
  { protocol: "TCP", port: 1, endPort: 65535 },
  { protocol: "UDP", port: 1, endPort: 65535 },
  { protocol: "SCTP", port: 1, endPort: 65535 },
];
const allowFromA = (ports?: object[]) =>
  policy("b", "from-a", {
    ingress: [
      {
        from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "a" } } }],
        ...(ports ? { ports } : {}),
      },
    ],
  });

t.test("create: a policy admitting only TCP 8080 from namespace a cuts off everything else into b", async (t) => {
  const result = diff(clusterFromObjects(base), clusterFromObjects([...base, allowFromA([{ port: 8080 }])]));
  t.same(result.added, []);
  t.same(result.unknown, []);
  t.same(result.removed, [
    { from: { cidr: "0.0.0.0/0" }, to: "b/api", ports: all },
    { from: { cidr: "::/0" }, to: "b/api", ports: all },
    {
      from: "a/web",
      to: "b/api",
      ports: [
        { protocol: "TCP", port: 1, endPort: 8079 },
        { protocol: "TCP", port: 8081, endPort: 65535 },
        { protocol: "UDP", port: 1, endPort: 65535 },
        { protocol: "SCTP", port: 1, endPort: 65535 },
      ],
    },
  ]);
});

t.test("update: from port 8080 to the named port http (8080 on b/api) changes nothing", async (t) => {
  const result = diff(
    clusterFromObjects([...base, allowFromA([{ port: 8080 }])]),
    clusterFromObjects([...base, allowFromA([{ port: "http" }])]),
  );
  t.same(result, { removed: [], added: [], unknown: [] });
});

t.test("update: from 8080 to 443 removes one port and adds another", async (t) => {
  const result = diff(
    clusterFromObjects([...base, allowFromA([{ port: 8080 }])]),
    clusterFromObjects([...base, allowFromA([{ port: 443 }])]),
  );
  t.same(result.removed, [{ from: "a/web", to: "b/api", ports: [{ protocol: "TCP", port: 8080, endPort: 8080 }] }]);
  t.same(result.added, [{ from: "a/web", to: "b/api", ports: [{ protocol: "TCP", port: 443, endPort: 443 }] }]);
});

t.test(
  "delete: removing an egress allowlist under a default deny takes egress away; CIDRs are printed as sets",
  async (t) => {
    const denyEgress = policy("a", "deny-egress", { policyTypes: ["Egress"] });
    const allowCidr = policy("a", "to-net", {
      policyTypes: ["Egress"],
      egress: [{ to: [{ ipBlock: { cidr: "192.0.2.0/24", except: ["192.0.2.128/25"] } }], ports: [{ port: 443 }] }],
    });
    const result = diff(
      clusterFromObjects([...base, denyEgress, allowCidr]),
      clusterFromObjects([...base, denyEgress]),
    );
    t.same(result.added, []);
    t.same(result.removed, [
      { from: "a/web", to: { cidr: "192.0.2.0/25" }, ports: [{ protocol: "TCP", port: 443, endPort: 443 }] },
    ]);
  },
);

t.test("delete: removing a default deny opens the flows it blocked", async (t) => {
  const result = diff(clusterFromObjects([...base, policy("b", "deny", {})]), clusterFromObjects(base));
  t.same(
    result.added.map((e) => [e.from, e.to]),
    [
      [{ cidr: "0.0.0.0/0" }, "b/api"],
      [{ cidr: "::/0" }, "b/api"],
      ["a/web", "b/api"],
    ],
  );
  t.same(result.removed, []);
});

t.test("a new workload adds its flows; an ipBlock against a template is reported as unknown", async (t) => {
  const cidrOnly = policy("b", "from-net", { ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/24" } }] }] });
  const result = diff(
    clusterFromObjects([...base, cidrOnly]),
    clusterFromObjects([...base, cidrOnly, deployment("a", "batch", { app: "batch" })]),
  );
  t.same(result.unknown, [{ from: "a/Deployment/batch", to: "b/api", ports: all }]);
  t.same(
    result.added.map((e) => [e.from, e.to]),
    [
      [{ cidr: "0.0.0.0/0" }, "a/Deployment/batch"],
      [{ cidr: "::/0" }, "a/Deployment/batch"],
      ["a/Deployment/batch", { cidr: "0.0.0.0/0" }],
      ["a/Deployment/batch", { cidr: "::/0" }],
      ["a/Deployment/batch", "a/web"],
      ["a/web", "a/Deployment/batch"],
      ["b/api", "a/Deployment/batch"],
    ],
  );
});
