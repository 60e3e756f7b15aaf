// The engine's own surface: endpoints, defaults, notes and the targets of one policy.
import t from "tap";
import { clusterFromObjects, describePorts, engineFor, externalGroups } from "../../src/connectivity/index.ts";
import { deployment, namespace, pod, policy } from "./objects.ts";

/** The workload IDs of each class, in class order. */
const classMembers = (objects: object[]) =>
  engineFor(clusterFromObjects(objects))
    .classes()
    .map((c) => c.members.map((member) => member.id));

const world = [
  namespace("team-a"),
  namespace("team-b"),
  pod("team-a", "api", { labels: { app: "api" }, ip: "10.0.1.1" }),
  pod("team-a", "db", { labels: { app: "db" }, ip: "10.0.1.2" }),
  pod("team-b", "web", { labels: { app: "web" }, ip: "10.0.2.1" }),
  deployment("team-b", "worker", { app: "worker" }),
];

t.test("an endpoint that is no workload is an input error naming the forms and a few workloads", async (t) => {
  const engine = engineFor(clusterFromObjects(world));
  t.throws(() => engine.endpoint("team-a/nope"), {
    name: "InputError",
    message:
      "`team-a/nope` is no workload in the input; workloads are NAMESPACE/POD or NAMESPACE/KIND/NAME (e.g. team-a/api, team-a/db, team-b/web)",
  });
  t.throws(() => engine.endpoint("nonsense"), {
    name: "InputError",
    message: "`nonsense` is neither NAMESPACE/POD, NAMESPACE/KIND/NAME nor an IP address",
  });
  t.throws(() => engineFor(clusterFromObjects([])).endpoint("team-a/api"), {
    message:
      "`team-a/api` is no workload in the input; workloads are NAMESPACE/POD or NAMESPACE/KIND/NAME (e.g. none found)",
  });
});

t.test("a pod's IP is that pod; any other address is outside the cluster", async (t) => {
  const engine = engineFor(clusterFromObjects(world));
  t.match(engine.endpoint("10.0.2.1"), { kind: "workload", workload: { id: "team-b/web" } });
  t.match(engine.endpoint("192.0.2.1"), { kind: "external", address: { text: "192.0.2.1" } });
});

t.test("a flow without a protocol is TCP, as in the API server's defaults", async (t) => {
  const udpOnly = policy("team-a", "udp", { ingress: [{ ports: [{ protocol: "UDP", port: 53 }] }] });
  const tcpOnly = policy("team-a", "tcp", {
    podSelector: { matchLabels: { app: "db" } },
    ingress: [{ ports: [{ port: 53 }] }],
  });
  const engine = engineFor(clusterFromObjects([...world, udpOnly, tcpOnly]));
  t.equal(engine.verdict({ from: "team-b/web", to: "team-a/api", port: 53 }), "denied");
  t.equal(engine.verdict({ from: "team-b/web", to: "team-a/api", protocol: "UDP", port: 53 }), "allowed");
  t.equal(engine.verdict({ from: "team-b/web", to: "team-a/db", port: 53 }), "allowed");
});

t.test("a rule whose peers do not match is not listed, whatever its ports", async (t) => {
  const engine = engineFor(
    clusterFromObjects([
      ...world,
      policy("team-a", "from-db", { ingress: [{ from: [{ podSelector: { matchLabels: { app: "db" } } }] }] }),
    ]),
  );
  const explained = engine.explain({ from: "team-b/web", to: "team-a/api", port: 80 });
  t.equal(explained.verdict, "denied");
  t.same(explained.ingress?.allowedBy, []);
  t.same(explained.ingress?.unknownBy, []);
});

t.test("the ipBlock note: only when an ipBlock, not a selector, admitted a pod", async (t) => {
  const note =
    "an ipBlock matched a pod IP: Kubernetes' conformance tests expect this, but some CNIs (Cilium, for one) match ipBlocks only against traffic from outside the cluster";
  const engine = engineFor(
    clusterFromObjects([
      ...world,
      policy("team-a", "by-block", {
        podSelector: { matchLabels: { app: "api" } },
        ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/8" } }] }],
      }),
      policy("team-a", "by-selector", {
        podSelector: { matchLabels: { app: "db" } },
        ingress: [{ from: [{ namespaceSelector: {} }, { ipBlock: { cidr: "10.0.0.0/8" } }] }],
      }),
    ]),
  );
  t.same(
    engine.explain({ from: "team-b/web", to: "team-a/api", port: 80 }).notes,
    [note],
    "a pod admitted by an ipBlock",
  );
  t.same(engine.explain({ from: "10.9.9.9", to: "team-a/api", port: 80 }).notes, [], "an address outside the cluster");
  t.same(
    engine.explain({ from: "team-b/web", to: "team-a/db", port: 80 }).notes,
    [],
    "a pod admitted by a selector first",
  );
  const withPending = engineFor(
    clusterFromObjects([
      ...world,
      pod("team-b", "pending"),
      policy("team-a", "by-block", {
        podSelector: { matchLabels: { app: "api" } },
        ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/8" } }] }],
      }),
    ]),
  );
  const pending = withPending.explain({ from: "team-b/pending", to: "team-a/api", port: 80 });
  t.equal(pending.verdict, "unknown", "a pod without an IP yet may or may not be in the block");
  t.same(pending.notes, [], "no note while the match is unknown");
});

t.test("the targets of one policy are its own, in both directions", async (t) => {
  const both = policy("team-a", "both", { policyTypes: ["Ingress", "Egress"] });
  const other = policy("team-a", "other", {});
  const engine = engineFor(clusterFromObjects([...world, both, other]));
  t.same(
    engine.targetsOf("team-a/both").map((target) => [target.policy, target.direction]),
    [
      ["team-a/both", "ingress"],
      ["team-a/both", "egress"],
    ],
  );
  t.same(engine.targetsOf("team-a/missing"), []);
});

t.test("workloads that differ only in the ipBlocks holding their IPs are classes of their own", async (t) => {
  const replicas = ["10.0.2.1", "10.0.2.2", "10.0.2.5"].map((ip, index) =>
    pod("team-b", `web-${index}`, { labels: { app: "web" }, ip }),
  );
  const classesWith = (...peers: object[]) =>
    classMembers([
      namespace("team-a"),
      namespace("team-b"),
      ...replicas,
      policy("team-a", "blocks", { ingress: peers.map((peer) => ({ from: [peer] })) }),
    ]);
  t.same(
    classesWith({ ipBlock: { cidr: "10.0.2.1/32" } }, { ipBlock: { cidr: "10.0.2.5/32" } }),
    [["team-b/web-0"], ["team-b/web-1"], ["team-b/web-2"]],
    "two blocks of different CIDRs",
  );
  t.same(
    classesWith(
      { ipBlock: { cidr: "10.0.2.0/24", except: ["10.0.2.0/31"] } },
      { ipBlock: { cidr: "10.0.2.0/24", except: ["10.0.2.0/30"] } },
    ),
    [["team-b/web-0"], ["team-b/web-1"], ["team-b/web-2"]],
    "one CIDR with excepts that start alike and end apart",
  );
  t.same(
    classesWith({ ipBlock: { cidr: "10.0.0.0/8" } }),
    [["team-b/web-0", "team-b/web-1", "team-b/web-2"]],
    "replicas all in one block are one class",
  );
});

t.test(
  "an explanation names both ends and, per rule, the peer that matched (null for a rule without peers)",
  async (t) => {
    const engine = engineFor(
      clusterFromObjects([
        ...world,
        policy("team-a", "open", { podSelector: { matchLabels: { app: "api" } }, ingress: [{}] }),
        policy("team-a", "from-b", {
          podSelector: { matchLabels: { app: "db" } },
          ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: 5432 }] }],
        }),
      ]),
    );
    const open = engine.explain({ from: "192.0.2.7", to: "team-a/api", port: 80 });
    t.equal(open.from, "192.0.2.7");
    t.equal(open.to, "team-a/api");
    t.strictSame(open.ingress?.allowedBy, [
      { policy: "team-a/open", path: "spec.ingress[0]", peer: null, ports: "all ports" },
    ]);
    t.equal(open.ingress?.verdict, "allowed");
    const fromB = engine.explain({ from: "team-b/web", to: "team-a/db", port: 5432 });
    t.equal(fromB.from, "team-b/web");
    t.equal(fromB.egress?.verdict, "allowed", "an end no policy selects allows");
    t.same(fromB.ingress?.allowedBy, [
      { policy: "team-a/from-b", path: "spec.ingress[0].from[0]", peer: { namespaceSelector: {} }, ports: "TCP 5432" },
    ]);
  },
);

t.test("classes: the order of labels and of named ports does not split look-alike pods", async (t) => {
  const members = (objects: object[]) => classMembers([namespace("team-a"), ...objects]);
  t.same(
    members([
      pod("team-a", "one", { labels: { app: "api", tier: "back" }, ip: "10.0.1.1" }),
      pod("team-a", "two", { labels: { tier: "back", app: "api" }, ip: "10.0.1.2" }),
    ]),
    [["team-a/one", "team-a/two"]],
    "labels in another order",
  );
  const http = { name: "http", containerPort: 8080 };
  const metrics = { name: "metrics", containerPort: 9100 };
  t.same(
    members([
      pod("team-a", "one", { ip: "10.0.1.1", ports: [http, metrics] }),
      pod("team-a", "two", { ip: "10.0.1.2", ports: [metrics, http] }),
    ]),
    [["team-a/one", "team-a/two"]],
    "named ports in another order",
  );
  t.same(
    members([
      pod("team-a", "one", {
        ip: "10.0.1.1",
        ports: [
          { name: "0a", containerPort: 1 },
          { name: "1b", containerPort: 2 },
        ],
      }),
      pod("team-a", "two", {
        ip: "10.0.1.2",
        ports: [
          { name: "0a", containerPort: 11 },
          { name: "b", containerPort: 2 },
        ],
      }),
    ]),
    [["team-a/one"], ["team-a/two"]],
    "named ports that would read alike run together",
  );
});

t.test("the matrix resolves named ports per destination, and to nothing towards outside addresses", async (t) => {
  const engine = engineFor(
    clusterFromObjects([
      namespace("team-a"),
      pod("team-a", "client", {
        labels: { app: "client" },
        ip: "10.0.1.9",
        ports: [{ name: "http", containerPort: 7070 }],
      }),
      pod("team-a", "api-1", {
        labels: { app: "api" },
        ip: "10.0.1.1",
        ports: [{ name: "http", containerPort: 8080 }],
      }),
      pod("team-a", "api-2", {
        labels: { app: "api" },
        ip: "10.0.1.2",
        ports: [{ name: "http", containerPort: 9090 }],
      }),
      policy("team-a", "api-http", {
        podSelector: { matchLabels: { app: "api" } },
        ingress: [{ ports: [{ port: "http" }] }],
      }),
      policy("team-a", "client-out", {
        podSelector: { matchLabels: { app: "client" } },
        policyTypes: ["Egress"],
        egress: [
          { to: [{ ipBlock: { cidr: "192.0.2.0/24" } }], ports: [{ port: "http" }, { port: 443 }] },
          { ports: [{ port: "http" }] },
        ],
      }),
    ]),
  );
  const matrix = engine.matrix();
  const cell = (from: string, to: string) =>
    describePorts(matrix.cell(matrix.classOf.get(from)!, matrix.classOf.get(to)!).allowed);
  t.equal(cell("team-a/api-1", "team-a/api-2"), "TCP 9090");
  t.equal(cell("team-a/api-2", "team-a/api-1"), "TCP 8080");
  t.equal(cell("team-a/client", "team-a/api-1"), "TCP 8080");
  t.equal(cell("team-a/client", "team-a/api-2"), "TCP 9090");
  t.equal(cell("team-a/api-1", "team-a/client"), "all ports");
  t.strictSame(
    externalGroups(matrix.egressExternal(matrix.classOf.get("team-a/client")!)).map((group) => [
      group.cidrs,
      describePorts(group.ports),
    ]),
    [[["192.0.2.0/24"], "TCP 443"]],
    "the client's own named port opens nothing outside",
  );
});
