// From Kubernetes objects to the engine's input: workloads of every kind, namespaces as the API server
// labels them, and isolated namespaces as netfence makes them (idempotently).
import t from "tap";
import { clusterFromObjects, diff, withNetfenceIsolation } from "../../src/connectivity/index.ts";
import { isolationPolicy } from "../../src/isolation-policy.ts";
import { injectAllowedIngress } from "../../src/mutate/inject-allowed-ingress.ts";
import type { NetworkPolicy } from "../../src/kube-objects.ts";
import { namespace, pod, policy } from "./objects.ts";

const template = {
  metadata: { labels: { app: "t" } },
  spec: { containers: [{ name: "c", ports: [{ name: "http", containerPort: 80 }] }] },
};

t.test("workload kinds: Pods by name, pod templates as NAMESPACE/KIND/NAME with unknown IPs", async (t) => {
  const cluster = clusterFromObjects(
    [
      pod("a", "p", {
        labels: { app: "p" },
        ip: "10.0.0.1",
        ports: [{ name: "dns", containerPort: 53, protocol: "UDP" }],
      }),
      ...["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"].map((kind) => ({
        apiVersion: "apps/v1",
        kind,
        metadata: { name: "w", namespace: "a" },
        spec: { template },
      })),
      {
        apiVersion: "batch/v1",
        kind: "CronJob",
        metadata: { name: "w" },
        spec: { jobTemplate: { spec: { template } } },
      },
    ],
    { defaultNamespace: "dflt" },
  );
  t.same(
    cluster.workloads.map((w) => [w.id, w.ips, w.namedPorts]),
    [
      ["a/p", ["10.0.0.1"], [{ name: "dns", protocol: "UDP", port: 53 }]],
      ["a/Deployment/w", [], [{ name: "http", protocol: "TCP", port: 80 }]],
      ["a/StatefulSet/w", [], [{ name: "http", protocol: "TCP", port: 80 }]],
      ["a/DaemonSet/w", [], [{ name: "http", protocol: "TCP", port: 80 }]],
      ["a/ReplicaSet/w", [], [{ name: "http", protocol: "TCP", port: 80 }]],
      ["a/Job/w", [], [{ name: "http", protocol: "TCP", port: 80 }]],
      ["dflt/CronJob/w", [], [{ name: "http", protocol: "TCP", port: 80 }]],
    ],
  );
  t.same(
    cluster.assumedNamespaces,
    ["a", "dflt"],
    "namespaces without a Namespace object are assumed, with only their name label",
  );
});

t.test("host-network and finished pods are no workloads, and say why", async (t) => {
  const hostNet = { ...pod("a", "h"), spec: { hostNetwork: true, containers: [] } };
  const done = { ...pod("a", "d", { ip: "10.0.0.9" }), status: { phase: "Succeeded", podIP: "10.0.0.9" } };
  const cluster = clusterFromObjects([hostNet, done, { kind: "NetworkPolicy", metadata: { name: "x" } }]);
  t.same(cluster.workloads, []);
  t.same(cluster.skipped, [
    { object: "Pod a/h", reason: "uses the host network: NetworkPolicies do not apply to it" },
    { object: "Pod a/d", reason: "has finished (Succeeded)" },
    { object: "NetworkPolicy x", reason: "not a NetworkPolicy the API server would accept (see `netfence lint`)" },
  ]);
});

t.test("namespaces carry kubernetes.io/metadata.name whatever the manifest says", async (t) => {
  const cluster = clusterFromObjects([namespace("a", { team: "x", "kubernetes.io/metadata.name": "other" })]);
  t.same(cluster.namespaces, [{ name: "a", labels: { team: "x", "kubernetes.io/metadata.name": "a" } }]);
});

t.test("isolation is idempotent: a cluster where netfence already acted reads the same", async (t) => {
  const ns = namespace("a", { "netfence.io/isolation": "enabled" });
  const own = policy("a", "own", { ingress: [{ from: [{ podSelector: {} }] }] });
  const workloads = [namespace("m"), pod("a", "x", { ip: "10.0.0.1" }), pod("m", "y", { ip: "10.0.0.2" })];
  const options = { allowedIngressNamespaces: ["m"] };
  const fresh = clusterFromObjects([ns, own, ...workloads], options);
  t.same(fresh.isolated, ["a"]);
  t.same(
    fresh.policies.map((p) => p.name),
    ["own", "netfence-isolation"],
  );
  const applied = clusterFromObjects(
    [ns, injectAllowedIngress(own as unknown as NetworkPolicy, ["m"]), isolationPolicy("a", ["m"]), ...workloads],
    options,
  );
  t.same(applied.policies, fresh.policies);
  t.same(diff(fresh, applied), { removed: [], added: [], unknown: [] });
});

t.test(
  "isolation preview: withNetfenceIsolation on a hand-built cluster, diffed against it, lists what isolation cuts off",
  async (t) => {
    const cluster = clusterFromObjects([
      namespace("a"),
      namespace("b"),
      namespace("m"),
      pod("a", "x", { ip: "10.0.0.1" }),
      pod("b", "y", { ip: "10.0.0.2" }),
      pod("m", "z", { ip: "10.0.0.3" }),
    ]);
    const isolated = { ...cluster, policies: withNetfenceIsolation(cluster.policies, ["a"], ["m"]) };
    const preview = diff(cluster, isolated);
    t.same(
      preview.removed.map((e) => [e.from, e.to]),
      [
        [{ cidr: "0.0.0.0/0" }, "a/x"],
        [{ cidr: "::/0" }, "a/x"],
        ["b/y", "a/x"],
      ],
      "other namespaces and the outside lose ingress; the allowed namespace m keeps it",
    );
    t.same(preview.added, []);
  },
);
