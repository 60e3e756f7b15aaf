// What impactOf counts and which example it picks, where the pods of one unit or one owner meet:
// flows inside one unit of look-alike pods, one owner spread over several units.
import t from "tap";
import { impactOf } from "../../src/impact/impact.ts";
import { allowedNamespacesMessage, changeMessage } from "../../src/impact/warnings.ts";
import type { PolicyInput } from "../../src/connectivity/index.ts";
import { namespace, pod, policy } from "../connectivity/objects.ts";
import { impactCluster, policyInput, replica } from "./objects.ts";

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

/** What a policy in team-a cuts off from prometheus and between api's pods, with the old ReplicaSet's pod listed first, then last. */
function cutOffInBothOrders(old: object, rolledOut: object, after: PolicyInput) {
  return (
    [
      ["old pods first", [old, rolledOut]],
      ["new pods first", [rolledOut, old]],
    ] as const
  ).map(([order, pods]) => {
    const cluster = impactCluster([
      namespace("team-a"),
      namespace("monitoring"),
      pod("monitoring", "prometheus", { labels: { app: "prometheus" }, ip: "10.0.1.1" }),
      ...pods,
    ]);
    const change = { namespace: "team-a", before: [], after: [after] };
    return { order, cutOff: impactOf(cluster, change, { allowedIngressNamespaces: ["monitoring"] }).cutOff };
  });
}

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
  for (const { order, cutOff } of cutOffInBothOrders(old, rolledOut, httpOnly)) {
    t.equal(cutOff.flows, 2, `${order}: prometheus -> api, api -> api`);
    t.same(cutOff.examples, [{ from: "monitoring/prometheus", to: "team-a/api", ports: "TCP/9090" }], order);
  }
});

t.test("one owner in two units ranked alike: the example does not depend on the pod order either", async (t) => {
  const old = apiPod("api-old-1", "old", "10.0.0.1", [{ name: "web", containerPort: 8081 }]);
  const rolledOut = apiPod("api-new-1", "new", "10.0.0.2", [{ name: "metrics", containerPort: 9090 }]);
  for (const { order, cutOff } of cutOffInBothOrders(old, rolledOut, denyIngress("team-a")))
    t.same(cutOff.examples, [{ from: "monitoring/prometheus", to: "team-a/api", ports: "TCP/8081" }], order);
});

t.test("a Deployment, a StatefulSet and a bare pod of one name are three owners, named with their kind", async (t) => {
  const statefulSetPod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: "web-0",
      namespace: "team-a",
      labels: { app: "db" },
      ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "web", uid: "s", controller: true }],
    },
    spec: { containers: [{ name: "main", image: "x" }] },
    status: { phase: "Running", podIP: "10.0.0.9", podIPs: [{ ip: "10.0.0.9" }] },
  };
  const cluster = impactCluster([
    namespace("team-a"),
    namespace("monitoring"),
    pod("monitoring", "prometheus", { labels: { app: "prometheus" }, ip: "10.0.1.1" }),
    replica("team-a", "web", 0, { labels: { app: "web" }, ip: "10.0.0.1" }),
    statefulSetPod,
    pod("team-a", "web", { labels: { app: "debug" }, ip: "10.0.0.5" }),
  ]);
  const { cutOff } = impactOf(
    cluster,
    { namespace: "team-a", before: [], after: [denyIngress("team-a")] },
    { allowedIngressNamespaces: ["monitoring"], examples: 3 },
  );
  t.equal(cutOff.flows, 9, "prometheus into each of the three, and 3 x 2 between them");
  t.equal(cutOff.fromAllowedNamespaces, 3);
  t.equal(cutOff.external, 3);
  t.same(
    cutOff.examples,
    [
      { from: "monitoring/prometheus", to: "team-a/web (Deployment)", ports: "all ports" },
      { from: "monitoring/prometheus", to: "team-a/web (Pod)", ports: "all ports" },
      { from: "monitoring/prometheus", to: "team-a/web (StatefulSet)", ports: "all ports" },
    ],
    "a name no other owner of its namespace has stays short",
  );
  t.equal(cutOff.externalExample, "team-a/web (Deployment)");
  t.equal(
    changeMessage("cuts off", cutOff),
    "cuts off 9 flows now allowed and external traffic, e.g. monitoring/prometheus -> team-a/web (Deployment) all ports",
  );
});

t.test(
  "a namespace of thousands of policies from one template: a change's impact is what it is beside one of them",
  async (t) => {
    const allowFromWeb = (i: number) =>
      policy("team-a", `allow-${i}`, {
        podSelector: { matchLabels: { app: "api" } },
        policyTypes: ["Ingress"],
        ingress: [{ from: [{ podSelector: { matchLabels: { app: "web" } } }], ports: [{ port: 8080 }] }],
      });
    const clusterWith = (copies: number) =>
      impactCluster([
        namespace("team-a"),
        pod("team-a", "web", { labels: { app: "web" }, ip: "10.0.0.1" }),
        pod("team-a", "api", { labels: { app: "api" }, ip: "10.0.0.2" }),
        pod("team-a", "db", { labels: { app: "db" }, ip: "10.0.0.3" }),
        ...Array.from({ length: copies }, (_, i) => allowFromWeb(i)),
      ]);
    const dbFromApi = policyInput(
      policy("team-a", "db-from-api", {
        podSelector: { matchLabels: { app: "db" } },
        policyTypes: ["Ingress"],
        ingress: [{ from: [{ podSelector: { matchLabels: { app: "api" } } }], ports: [{ port: 5432 }] }],
      }),
    );
    const openApi = policyInput(allowFromWeb(0));
    for (const copies of [1, 2000]) {
      const cluster = clusterWith(copies);
      const summary = (change: Parameters<typeof impactOf>[1]) => {
        const { cutOff, opened } = impactOf(cluster, change, { allowedIngressNamespaces: [], examples: 3 });
        return { cutOff: [cutOff.flows, cutOff.examples], opened: [opened.flows, opened.examples] };
      };
      t.same(
        summary({ namespace: "team-a", before: [], after: [dbFromApi] }),
        {
          cutOff: [
            2,
            [
              { from: "team-a/api", to: "team-a/db", ports: "TCP/1-5431 and more" },
              { from: "team-a/web", to: "team-a/db", ports: "all ports" },
            ],
          ],
          opened: [0, []],
        },
        `create, beside ${copies}`,
      );
      // The one copy stored is replaced by nothing: api opens up; with others left, nothing changes.
      t.same(
        summary({ namespace: "team-a", before: [openApi], after: [] }),
        copies === 1
          ? {
              cutOff: [0, []],
              opened: [
                2,
                [
                  { from: "team-a/db", to: "team-a/api", ports: "all ports" },
                  { from: "team-a/web", to: "team-a/api", ports: "TCP/1-8079 and more" },
                ],
              ],
            }
          : { cutOff: [0, []], opened: [0, []] },
        `delete allow-0, beside ${copies}`,
      );
    }
  },
);

t.test("a cluster whose policies change between requests answers as a cluster read afresh", async (t) => {
  const objects = [
    namespace("team-a"),
    namespace("team-b"),
    pod("team-a", "web", { labels: { app: "web" }, ip: "10.0.0.1" }),
    pod("team-a", "api", { labels: { app: "api" }, ip: "10.0.0.2" }),
    pod("team-b", "client", { labels: { app: "client" }, ip: "10.0.1.1" }),
  ];
  const fromWeb = (name: string, port: number) =>
    policyInput(
      policy("team-a", name, {
        podSelector: { matchLabels: { app: "api" } },
        policyTypes: ["Ingress"],
        ingress: [{ from: [{ podSelector: { matchLabels: { app: "web" } } }], ports: [{ port }] }],
      }),
    );
  // One cluster object over time, as the webhook's caches are: its generation moves on each write.
  const fixed = impactCluster(objects);
  let policies: PolicyInput[] = [];
  let generation = 0;
  const live = {
    get generation() {
      return generation;
    },
    namespaces: fixed.namespaces,
    shapes: () => fixed.shapes(),
    policiesIn: (ns: string) => policies.filter((p) => p.namespace === ns),
  };
  const change = { namespace: "team-a", before: [], after: [denyIngress("team-a")] };
  const answer = (cluster: Parameters<typeof impactOf>[0]) => {
    const { cutOff, opened } = impactOf(cluster, change, { allowedIngressNamespaces: [], examples: 5 });
    return { cutOff: [cutOff.flows, cutOff.examples], opened: [opened.flows, opened.examples] };
  };
  const a = fromWeb("a", 80);
  const b = fromWeb("b", 81);
  const c = fromWeb("c", 82);
  const steps: [string, PolicyInput[]][] = [
    ["none", []],
    ["a created", [a]],
    ["b created", [a, b]],
    ["a deleted", [b]],
    ["a and c created", [b, a, c]],
    ["b edited in its place", [fromWeb("b", 90), a, c]],
    ["all deleted", []],
  ];
  for (const [what, now] of steps) {
    policies = now;
    generation++;
    const afresh = impactCluster([...objects, ...now.map((p) => p.policy)]);
    t.same(answer(live), answer(afresh), what);
  }
});
