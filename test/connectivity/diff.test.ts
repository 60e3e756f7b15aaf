// Diffs of create, update and delete, with exact entries: what a pull request changes in connectivity.
import t from "tap";
import {
  clusterFromObjects,
  diff,
  diffEngines,
  Engine,
  isEmptyDiff,
  type ConnectivityDiff,
  type FlowChange,
  type Matrix,
} from "../../src/connectivity/index.ts";
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

t.test("a deleted workload loses every flow it had, both ways and with the outside", async (t) => {
  const result = diff(clusterFromObjects(base), clusterFromObjects(base.slice(0, 3)));
  t.same(result.added, []);
  t.same(result.unknown, []);
  t.same(result.removed, [
    { from: { cidr: "0.0.0.0/0" }, to: "b/api", ports: all },
    { from: { cidr: "::/0" }, to: "b/api", ports: all },
    { from: "a/web", to: "b/api", ports: all },
    { from: "b/api", to: { cidr: "0.0.0.0/0" }, ports: all },
    { from: "b/api", to: { cidr: "::/0" }, ports: all },
    { from: "b/api", to: "a/web", ports: all },
  ]);
});

t.test("flows change with namespace labels alone, the policies being the same", async (t) => {
  const fromTeamX = policy("b", "from-team-x", {
    ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "x" } } }] }],
  });
  const [, b, web, api] = base;
  const table: [string, unknown[], unknown[]][] = [
    ["namespace a loses its label", [namespace("a", { team: "x" }), b, web], [namespace("a"), b, web]],
    [
      "namespace a loses its label and a/web gets another",
      [namespace("a", { team: "x" }), b, web],
      [namespace("a"), b, pod("a", "web", { labels: { app: "web2" }, ip: "10.0.0.1" })],
    ],
  ];
  for (const [name, before, after] of table) {
    const result = diff(
      clusterFromObjects([...before, api, fromTeamX]),
      clusterFromObjects([...after, api, fromTeamX]),
    );
    t.same(result, { removed: [{ from: "a/web", to: "b/api", ports: all }], added: [], unknown: [] }, name);
  }
});

t.test("entries are in the order of their source, then destination, CIDRs in text order", async (t) => {
  const denyEgress = policy("a", "deny-egress", { policyTypes: ["Egress"] });
  const allowNets = policy("a", "to-nets", {
    policyTypes: ["Egress"],
    egress: [
      { to: [{ ipBlock: { cidr: "192.0.2.0/24" } }, { ipBlock: { cidr: "203.0.113.0/24" } }], ports: [{ port: 443 }] },
      { to: [{ ipBlock: { cidr: "198.51.100.0/24" } }], ports: [{ port: 80 }] },
    ],
  });
  const result = diff(clusterFromObjects([...base, denyEgress, allowNets]), clusterFromObjects([...base, denyEgress]));
  const tcp = (port: number) => [{ protocol: "TCP", port, endPort: port }];
  t.same(result.removed, [
    { from: "a/web", to: { cidr: "192.0.2.0/24" }, ports: tcp(443) },
    { from: "a/web", to: { cidr: "198.51.100.0/24" }, ports: tcp(80) },
    { from: "a/web", to: { cidr: "203.0.113.0/24" }, ports: tcp(443) },
  ]);
});

t.test("a diff is empty when it removes, adds and leaves unknown nothing", async (t) => {
  const change: FlowChange = { from: "a/web", to: "b/api", ports: [{ protocol: "TCP", port: 80, endPort: 80 }] };
  const table: [string, ConnectivityDiff, boolean][] = [
    ["nothing", { removed: [], added: [], unknown: [] }, true],
    ["a removed flow", { removed: [change], added: [], unknown: [] }, false],
    ["an added flow", { removed: [], added: [change], unknown: [] }, false],
    ["a flow become unknown", { removed: [], added: [], unknown: [change] }, false],
  ];
  for (const [name, result, empty] of table) t.equal(isEmptyDiff(result), empty, name);
});

/** An Engine that records which entries of its matrix a diff reads, named by workload. */
class RecordingEngine extends Engine {
  readonly read: string[] = [];
  override matrix(): Matrix {
    const matrix = super.matrix();
    const name = (index: number) => matrix.classes[index]!.members.map((w) => w.id).join(" ");
    const record = (entry: string) => {
      if (!this.read.includes(entry)) this.read.push(entry);
    };
    return {
      ...matrix,
      cell: (source, destination) => {
        record(`${name(source)} -> ${name(destination)}`);
        return matrix.cell(source, destination);
      },
      egressExternal: (source) => {
        record(`${name(source)} -> outside`);
        return matrix.egressExternal(source);
      },
      ingressExternal: (destination) => {
        record(`outside -> ${name(destination)}`);
        return matrix.ingressExternal(destination);
      },
    };
  }
}

t.test("after one policy changes, the diff reads only the flows into the workloads it selects", async (t) => {
  const cluster = (apiPort: number) =>
    clusterFromObjects([
      ...base,
      pod("b", "db", { labels: { app: "db" }, ip: "10.0.0.3" }),
      policy("b", "api-from-a", {
        podSelector: { matchLabels: { app: "api" } },
        ingress: [
          {
            from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "a" } } }],
            ports: [{ port: apiPort }],
          },
        ],
      }),
      policy("b", "db-from-api", {
        podSelector: { matchLabels: { app: "db" } },
        ingress: [{ from: [{ podSelector: { matchLabels: { app: "api" } } }] }],
      }),
    ]);
  const before = new RecordingEngine(cluster(8080));
  const after = new RecordingEngine(cluster(443));
  const result = diffEngines(before, after);
  t.same(result.removed, [{ from: "a/web", to: "b/api", ports: [{ protocol: "TCP", port: 8080, endPort: 8080 }] }]);
  t.same(result.added, [{ from: "a/web", to: "b/api", ports: [{ protocol: "TCP", port: 443, endPort: 443 }] }]);
  const expected = ["a/web -> b/api", "b/api -> b/api", "b/db -> b/api", "outside -> b/api"];
  t.same(before.read, expected, "before");
  t.same(after.read, expected, "after");
});
