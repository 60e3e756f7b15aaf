// Evaluating one side of a connection: which peers match an endpoint and which ports a rule admits.
import t from "tap";
import { clusterFromObjects, describePorts, engineFor, verdict } from "../../src/connectivity/index.ts";
import { OPEN_SIDE, resolveWorkload, sidePorts } from "../../src/connectivity/evaluate.ts";
import { namespace, pod, policy } from "./objects.ts";

const dualStack = {
  ...pod("team-b", "dual", { labels: { app: "dual" } }),
  status: { phase: "Running", podIP: "10.0.2.5", podIPs: [{ ip: "10.0.2.5" }, { ip: "fd00::5" }] },
};
const world = [
  namespace("team-a"),
  namespace("team-b"),
  pod("team-a", "api", { labels: { app: "api" }, ip: "10.0.1.1", ports: [{ name: "http", containerPort: 8080 }] }),
  pod("team-b", "bad-ip", { labels: { app: "bad" }, ip: "not-an-ip" }),
  dualStack,
];

t.test("a side no target selects is open; otherwise each matching rule adds its ports", async (t) => {
  const engine = engineFor(
    clusterFromObjects([...world, policy("team-a", "http", { ingress: [{ ports: [{ port: "http" }] }] })]),
  );
  const api = engine.endpoint("team-a/api");
  const client = engine.endpoint("team-b/dual");
  t.equal(sidePorts([], client, api), OPEN_SIDE, "no target: not isolated");
  const targets = engine.targetsOf("team-a/http");
  const side = sidePorts(targets, client, api);
  t.equal(describePorts(side.allowed), "TCP 8080", "the named port resolved on the destination");
  t.equal(describePorts(side.unknown), "none");
});

t.test("an ipBlock matches a pod when any of its IPs is in the block", async (t) => {
  const cluster = clusterFromObjects([
    ...world,
    policy("team-a", "from-v4", { ingress: [{ from: [{ ipBlock: { cidr: "10.0.2.0/24" } }] }] }),
  ]);
  t.equal(verdict(cluster, { from: "team-b/dual", to: "team-a/api", port: 80 }), "allowed", "IPv4 of a dual-stack pod");
  t.equal(verdict(cluster, { from: "fd00::5", to: "team-a/api", port: 80 }), "allowed", "its IPv6 address is that pod");
  t.equal(verdict(cluster, { from: "fd00::6", to: "team-a/api", port: 80 }), "denied");
});

t.test("a pod whose IP cannot be read matches ipBlocks as unknown, never as yes", async (t) => {
  const cluster = clusterFromObjects([
    ...world,
    policy("team-a", "from-all", { ingress: [{ from: [{ ipBlock: { cidr: "0.0.0.0/0" } }] }] }),
  ]);
  t.strictSame(engineFor(cluster).endpoint("team-b/bad-ip"), {
    kind: "workload",
    workload: engineFor(cluster).workloads.get("team-b/bad-ip")!.workload,
    namespaceLabels: { "kubernetes.io/metadata.name": "team-b" },
    addresses: [],
  });
  t.equal(verdict(cluster, { from: "team-b/bad-ip", to: "team-a/api", port: 80 }), "unknown");
});

t.test("towards an address outside the cluster a named port resolves to nothing", async (t) => {
  const cluster = clusterFromObjects([
    ...world,
    policy("team-a", "out", {
      podSelector: { matchLabels: { app: "api" } },
      policyTypes: ["Egress"],
      egress: [{ to: [{ ipBlock: { cidr: "192.0.2.0/24" } }], ports: [{ port: "http" }, { port: 443 }] }],
    }),
  ]);
  t.equal(verdict(cluster, { from: "team-a/api", to: "192.0.2.1", port: 443 }), "allowed");
  t.equal(verdict(cluster, { from: "team-a/api", to: "192.0.2.1", port: 8080 }), "denied");
});

t.test("a workload outside any known namespace gets only the name label", async (t) => {
  const resolved = resolveWorkload(
    { id: "ghost/pod", namespace: "ghost", labels: {}, ips: ["10.9.9.9"], namedPorts: [] },
    undefined,
  );
  t.strictSame(resolved.namespaceLabels, { "kubernetes.io/metadata.name": "ghost" });
  t.equal(resolved.addresses.length, 1);
});
