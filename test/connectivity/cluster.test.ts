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

t.test("objects that cannot be read are skipped, each named as well as it can be, with the reason", async (t) => {
  const table: [string, unknown, { object: string; reason: string }][] = [
    [
      "a Namespace without a name",
      { kind: "Namespace", metadata: {} },
      {
        object: "Namespace (no name)",
        reason: "a Namespace needs `metadata.name`",
      },
    ],
    [
      "a Namespace with a number for labels",
      { kind: "Namespace", metadata: { name: "n", labels: 7 } },
      {
        object: "Namespace n",
        reason: "a Namespace needs `metadata.name`",
      },
    ],
    [
      "a NetworkPolicy without a name",
      { kind: "NetworkPolicy", metadata: { namespace: "a" }, spec: { podSelector: {} } },
      {
        object: "NetworkPolicy a/(no name)",
        reason: "not a NetworkPolicy the API server would accept (see `netfence lint`)",
      },
    ],
    [
      "a NetworkPolicy without metadata",
      { kind: "NetworkPolicy", spec: { podSelector: {} } },
      {
        object: "NetworkPolicy (no name)",
        reason: "not a NetworkPolicy the API server would accept (see `netfence lint`)",
      },
    ],
    ["a Pod without metadata", { kind: "Pod" }, { object: "Pod (no name)", reason: "not a Pod with `metadata.name`" }],
    [
      "a Pod without a name",
      { kind: "Pod", metadata: { namespace: "a" } },
      {
        object: "Pod a/(no name)",
        reason: "not a Pod with `metadata.name`",
      },
    ],
    [
      "a Pod whose containerPort is a string",
      {
        kind: "Pod",
        metadata: { name: "p", namespace: "a" },
        spec: { containers: [{ name: "c", ports: [{ name: "http", containerPort: "80" }] }] },
      },
      { object: "Pod a/p", reason: "not a Pod with `metadata.name`" },
    ],
    [
      "a Pod whose pod IPs are strings",
      {
        kind: "Pod",
        metadata: { name: "p", namespace: "a" },
        status: { podIPs: ["10.0.0.1"] },
      },
      { object: "Pod a/p", reason: "not a Pod with `metadata.name`" },
    ],
    [
      "a Pod whose pod IP entry has no `ip`",
      {
        kind: "Pod",
        metadata: { name: "p", namespace: "a" },
        status: { podIPs: [{}] },
      },
      { object: "Pod a/p", reason: "not a Pod with `metadata.name`" },
    ],
    [
      "a Pod whose hostNetwork is a string",
      {
        kind: "Pod",
        metadata: { name: "p", namespace: "a" },
        spec: { hostNetwork: "yes" },
      },
      { object: "Pod a/p", reason: "not a Pod with `metadata.name`" },
    ],
    [
      "a failed Pod",
      { ...pod("a", "f"), status: { phase: "Failed" } },
      { object: "Pod a/f", reason: "has finished (Failed)" },
    ],
    [
      "a Deployment without a template",
      { kind: "Deployment", metadata: { name: "d", namespace: "a" }, spec: {} },
      {
        object: "Deployment a/d",
        reason: "has no pod template",
      },
    ],
    [
      "a Deployment whose template spec is a list",
      {
        kind: "Deployment",
        metadata: { name: "d", namespace: "a" },
        spec: { template: { spec: [] } },
      },
      { object: "Deployment a/d", reason: "has no pod template" },
    ],
    [
      "a Deployment without a name",
      { kind: "Deployment", metadata: {}, spec: { template } },
      {
        object: "Deployment (no name)",
        reason: "has no pod template",
      },
    ],
    [
      "a CronJob with a pod template where its job template belongs",
      {
        kind: "CronJob",
        metadata: { name: "c", namespace: "a" },
        spec: { template },
      },
      { object: "CronJob a/c", reason: "has no pod template" },
    ],
    [
      "a CronJob whose job template has no spec",
      {
        kind: "CronJob",
        metadata: { name: "c", namespace: "a" },
        spec: { jobTemplate: {} },
      },
      { object: "CronJob a/c", reason: "has no pod template" },
    ],
    [
      "a CronJob whose job template has no pod template",
      {
        kind: "CronJob",
        metadata: { name: "c", namespace: "a" },
        spec: { jobTemplate: { spec: {} } },
      },
      { object: "CronJob a/c", reason: "has no pod template" },
    ],
    [
      "a DaemonSet on the host network",
      {
        kind: "DaemonSet",
        metadata: { name: "ds", namespace: "a" },
        spec: { template: { spec: { hostNetwork: true } } },
      },
      { object: "DaemonSet a/ds", reason: "uses the host network: NetworkPolicies do not apply to it" },
    ],
  ];
  for (const [name, object, skipped] of table) {
    const cluster = clusterFromObjects([object]);
    t.same({ workloads: cluster.workloads, skipped: cluster.skipped }, { workloads: [], skipped: [skipped] }, name);
  }
  t.same(
    clusterFromObjects([null, 7, "Pod", { kind: 3, metadata: { name: "x" } }]).skipped,
    [],
    "not objects: ignored",
  );
});

t.test("named ports: only named ones, TCP unless said, and only protocols a policy can name", async (t) => {
  const ports = [
    { containerPort: 1 },
    { name: "", containerPort: 2 },
    { name: null, containerPort: 3 },
    { name: "dns", containerPort: 53, protocol: "UDP" },
    { name: "web", containerPort: 80 },
    { name: "web-null", containerPort: 81, protocol: null },
    { name: "ping", containerPort: 7, protocol: "ICMP" },
  ];
  const cluster = clusterFromObjects([
    {
      kind: "Pod",
      metadata: { name: "p", namespace: "a" },
      spec: { containers: [{ name: "c", ports }, { name: "d" }] },
    },
    { kind: "Pod", metadata: { name: "q", namespace: "a" }, spec: { containers: null } },
    { kind: "Pod", metadata: { name: "r", namespace: "a" } },
  ]);
  t.same(
    cluster.workloads.map((w) => [w.id, w.namedPorts]),
    [
      [
        "a/p",
        [
          { name: "dns", protocol: "UDP", port: 53 },
          { name: "web", protocol: "TCP", port: 80 },
          { name: "web-null", protocol: "TCP", port: 81 },
        ],
      ],
      ["a/q", []],
      ["a/r", []],
    ],
  );
});

t.test("pod addresses: podIPs and podIP, each once; objects without a namespace go to `default`", async (t) => {
  const cluster = clusterFromObjects([
    {
      kind: "Pod",
      metadata: { name: "p" },
      status: { podIP: "10.0.0.1", podIPs: [{ ip: "10.0.0.1" }, { ip: "fd00::1" }] },
    },
    { kind: "Pod", metadata: { name: "q", namespace: "a" }, status: { podIP: "" } },
    { kind: "Pod", metadata: { name: "r", namespace: "a", labels: null }, status: null },
  ]);
  t.same(
    cluster.workloads.map((w) => [w.id, w.ips, w.labels]),
    [
      ["default/p", ["10.0.0.1", "fd00::1"], {}],
      ["a/q", [], {}],
      ["a/r", [], {}],
    ],
  );
});

t.test("a pod template without metadata or spec is a workload without labels or named ports", async (t) => {
  const cluster = clusterFromObjects([
    { kind: "Deployment", metadata: { name: "d", namespace: "a" }, spec: { template: {} } },
  ]);
  t.same(cluster.workloads, [{ id: "a/Deployment/d", namespace: "a", labels: {}, ips: [], namedPorts: [] }]);
});

t.test(
  "namespaces that only workloads, policies or the isolation option name are assumed, with only their name label",
  async (t) => {
    const cluster = clusterFromObjects(
      [namespace("a"), pod("z", "w"), pod("a", "v"), policy("p", "np", { policyTypes: ["Ingress"] })],
      { isolatedNamespaces: ["y", "b"] },
    );
    t.same(cluster.namespaces, [
      { name: "a", labels: { "kubernetes.io/metadata.name": "a" } },
      { name: "z", labels: { "kubernetes.io/metadata.name": "z" } },
      { name: "p", labels: { "kubernetes.io/metadata.name": "p" } },
      { name: "y", labels: { "kubernetes.io/metadata.name": "y" } },
      { name: "b", labels: { "kubernetes.io/metadata.name": "b" } },
    ]);
    t.same(cluster.assumedNamespaces, ["b", "p", "y", "z"], "sorted");
    t.same(cluster.isolated, ["b", "y"], "sorted");
    t.same(
      cluster.policies.map((p) => [p.namespace, p.name, p.policy.spec]),
      [
        ["p", "np", { podSelector: {}, policyTypes: ["Ingress"] }],
        [
          "y",
          "netfence-isolation",
          { podSelector: {}, policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: {} }] }] },
        ],
        [
          "b",
          "netfence-isolation",
          { podSelector: {}, policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: {} }] }] },
        ],
      ],
      "without allowedIngressNamespaces, an isolated namespace admits ingress only from itself",
    );
  },
);
