// Pods as the impact check keeps them: compact records, owners that group replicas, and nothing
// for pods NetworkPolicies do not apply to.
import t from "tap";
import { podRecordOf } from "../../src/cluster/workload-cache.ts";
import { replica } from "../impact/objects.ts";

t.test(
  "a Deployment's pod: owner is the Deployment (the ReplicaSet's name minus pod-template-hash), named ports kept",
  async (t) => {
    const record = podRecordOf({
      ...replica("team-a", "api", 0, {
        labels: { app: "api" },
        ip: "10.244.1.1",
        ports: [
          { name: "http", containerPort: 8080 },
          { name: "", containerPort: 9000 },
        ],
      }),
    });
    t.same(record, {
      namespace: "team-a",
      name: "api-5d9f8b7c6-0",
      labels: { app: "api", "pod-template-hash": "5d9f8b7c6" },
      ips: ["10.244.1.1"],
      namedPorts: [{ name: "http", protocol: "TCP", port: 8080 }],
      phase: "Running",
      owner: { kind: "Deployment", name: "api" },
      shape: '["team-a",[["app","api"],["pod-template-hash","5d9f8b7c6"]],["http/TCP/8080"]]',
    });
  },
);

t.test("owners: a StatefulSet, a ReplicaSet without the hash, no controller", async (t) => {
  const pod = (ownerReferences: unknown[], labels = {}) =>
    podRecordOf({
      metadata: { name: "p", namespace: "n", labels, ownerReferences },
      spec: {},
      status: { podIPs: [{ ip: "10.0.0.1" }, { ip: "fd00::1" }] },
    });
  t.same(pod([{ kind: "StatefulSet", name: "db", controller: true }])?.owner, { kind: "StatefulSet", name: "db" });
  t.same(pod([{ kind: "ReplicaSet", name: "rs-1", controller: true }])?.owner, { kind: "ReplicaSet", name: "rs-1" });
  t.same(pod([{ kind: "ReplicaSet", name: "rs-1" }])?.owner, undefined, "an owner that is not the controller");
  t.same(pod([])?.ips, ["10.0.0.1", "fd00::1"]);
});

t.test("not kept: host network, finished pods, objects without a name", async (t) => {
  t.equal(podRecordOf({ metadata: { name: "p", namespace: "n" }, spec: { hostNetwork: true } }), undefined);
  t.equal(podRecordOf({ metadata: { name: "p", namespace: "n" }, status: { phase: "Succeeded" } }), undefined);
  t.equal(podRecordOf({ metadata: { name: "p", namespace: "n" }, status: { phase: "Failed" } }), undefined);
  t.equal(podRecordOf({ metadata: { namespace: "n" } }), undefined);
  t.equal(podRecordOf("not a pod"), undefined);
  t.equal(
    podRecordOf({ metadata: { name: "p", namespace: "n" }, status: { phase: "Pending" } })?.phase,
    "Pending",
    "pending pods stay: their IPs are unknown, not absent",
  );
});
