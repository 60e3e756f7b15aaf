// What impactOf counts and which example it picks, where the pods of one unit or one owner meet:
// flows inside one unit of look-alike pods, one owner spread over several units.
import t from "tap";
import { impactOf } from "../../src/impact/impact.ts";
import { allowedNamespacesMessage } from "../../src/impact/warnings.ts";
import { namespace, pod, policy } from "../connectivity/objects.ts";
import { impactCluster, policyInput } from "./objects.ts";

const denyIngress = (ns: string) => policyInput(policy(ns, "deny", { policyTypes: ["Ingress"] }));

t.test("flows inside one unit of look-alike pods have an example", async (t) => {
  const twoPods = impactCluster([
    namespace("team-a"),
    pod("team-a", "a", { labels: { app: "x" }, ip: "10.0.0.1" }),
    pod("team-a", "b", { labels: { app: "x" }, ip: "10.0.0.2" }),
  ]);
  const change = { namespace: "team-a", before: [], after: [denyIngress("team-a")] };
  const { cutOff } = impactOf(twoPods, change, { allowedIngressNamespaces: [] });
  t.equal(cutOff.flows, 2, "a -> b and b -> a");
  t.same(cutOff.examples, [{ from: "team-a/a", to: "team-a/b", ports: "all ports" }], "a has one pod: not a -> a");
  t.same(impactOf(twoPods, change, { allowedIngressNamespaces: [], examples: 3 }).cutOff.examples, [
    { from: "team-a/a", to: "team-a/b", ports: "all ports" },
    { from: "team-a/b", to: "team-a/a", ports: "all ports" },
  ]);
});

t.test("NP053's example is a flow from an allowedIngressNamespace, even inside one unit", async (t) => {
  const cluster = impactCluster([
    namespace("monitoring"),
    namespace("team-x"),
    pod("monitoring", "prom-a", { labels: { app: "prom" }, ip: "10.0.0.1" }),
    pod("monitoring", "prom-b", { labels: { app: "prom" }, ip: "10.0.0.2" }),
    pod("team-x", "client", { labels: { app: "client" }, ip: "10.0.1.1" }),
  ]);
  const { cutOff } = impactOf(
    cluster,
    { namespace: "monitoring", before: [], after: [denyIngress("monitoring")] },
    { allowedIngressNamespaces: ["monitoring"] },
  );
  t.equal(cutOff.flows, 4, "client into prom-a and prom-b, prom-a and prom-b into each other");
  t.equal(
    allowedNamespacesMessage(cutOff),
    "cuts off 2 flows from allowedIngressNamespaces, e.g. monitoring/prom-a -> monitoring/prom-b all ports",
  );
});

/** A pod of Deployment `api` through ReplicaSet `api-HASH`, naming these ports. */
const apiPod = (name: string, hash: string, ip: string, ports: { name: string; containerPort: number }[]) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name,
    namespace: "team-a",
    labels: { app: "api", "pod-template-hash": hash },
    ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: `api-${hash}`, uid: hash, controller: true }],
  },
  spec: { containers: [{ name: "main", image: "x", ports }] },
  status: { phase: "Running", podIP: ip, podIPs: [{ ip }] },
});

t.test("one owner in two units: its best-ranked flow is the example, whatever the pod order", async (t) => {
  // A rollout: the old ReplicaSet's pods name only `http`, the new one's also `metrics`; a policy
  // leaves only `http` open, so prometheus loses 9090, a port the new pods declare.
  const old = apiPod("api-old-1", "old", "10.0.0.1", [{ name: "http", containerPort: 8080 }]);
  const rolledOut = apiPod("api-new-1", "new", "10.0.0.2", [
    { name: "http", containerPort: 8080 },
    { name: "metrics", containerPort: 9090 },
  ]);
  const httpOnly = policyInput(
    policy("team-a", "http-only", {
      podSelector: { matchLabels: { app: "api" } },
      ingress: [{ ports: [{ port: "http" }] }],
    }),
  );
  for (const [order, pods] of [
    ["old pods first", [old, rolledOut]],
    ["new pods first", [rolledOut, old]],
  ] as const) {
    const cluster = impactCluster([
      namespace("team-a"),
      namespace("monitoring"),
      pod("monitoring", "prometheus", { labels: { app: "prometheus" }, ip: "10.0.1.1" }),
      ...pods,
    ]);
    const { cutOff } = impactOf(
      cluster,
      { namespace: "team-a", before: [], after: [httpOnly] },
      { allowedIngressNamespaces: ["monitoring"] },
    );
    t.equal(cutOff.flows, 2, `${order}: prometheus -> api, api -> api`);
    t.same(cutOff.examples, [{ from: "monitoring/prometheus", to: "team-a/api", ports: "TCP/9090" }], order);
  }
});

t.test("one owner in two units ranked alike: the example does not depend on the pod order either", async (t) => {
  const old = apiPod("api-old-1", "old", "10.0.0.1", [{ name: "web", containerPort: 8081 }]);
  const rolledOut = apiPod("api-new-1", "new", "10.0.0.2", [{ name: "metrics", containerPort: 9090 }]);
  for (const [order, pods] of [
    ["old pods first", [old, rolledOut]],
    ["new pods first", [rolledOut, old]],
  ] as const) {
    const cluster = impactCluster([
      namespace("team-a"),
      namespace("monitoring"),
      pod("monitoring", "prometheus", { labels: { app: "prometheus" }, ip: "10.0.1.1" }),
      ...pods,
    ]);
    const { cutOff } = impactOf(
      cluster,
      { namespace: "team-a", before: [], after: [denyIngress("team-a")] },
      { allowedIngressNamespaces: ["monitoring"] },
    );
    t.same(cutOff.examples, [{ from: "monitoring/prometheus", to: "team-a/api", ports: "TCP/8081" }], order);
  }
});
