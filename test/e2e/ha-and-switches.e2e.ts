// The other isolation switches and high availability, on the real API server: the KubeSphere and the
// legacy DefaultDeny annotations isolate like the label (managed policy, injection) and their removal
// undoes it; two netfence processes elect one leader with a Lease, both admit, and when the leader
// is killed the other reconciles a namespace labelled afterwards within the lease duration plus a resync.
import { hostname } from "node:os";
import t from "tap";
import { startCluster } from "./start-cluster.ts";

const LEASE_SECONDS = 4;
const RESYNC_SECONDS = 5;
const cluster = await startCluster({
  allowedIngressNamespaces: ["monitoring"],
  extraConfig: {
    resyncSeconds: RESYNC_SECONDS,
    leaderElection: { leaseDurationSeconds: LEASE_SECONDS, renewDeadlineSeconds: 3, retryPeriodSeconds: 0.5 },
  },
});

const policyExists = async (ns: string) =>
  (await cluster.kubectl(["get", "networkpolicy", "netfence-isolation", "-n", ns])).code === 0;
const teamPolicy = (ns: string) => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name: "web", namespace: ns },
  spec: { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] },
});
const injected = async (ns: string) =>
  (await cluster.getJson(["networkpolicy", "web", "-n", ns])).metadata.annotations?.[
    "netfence.io/injected-ingress-namespaces"
  ];

const switches = [
  { name: "the KubeSphere annotation", ns: "kubesphere", key: "kubesphere.io/network-isolate", value: "enabled" },
  {
    name: "the legacy DefaultDeny annotation",
    ns: "legacy",
    key: "net.beta.kubernetes.io/network-policy",
    value: '{"ingress":{"isolation":"DefaultDeny"}}',
  },
];

for (const s of switches) {
  t.test(`${s.name}: policy created, injection active, removal deletes the managed policy`, async (t) => {
    await cluster.kubectlApply([
      { apiVersion: "v1", kind: "Namespace", metadata: { name: s.ns, annotations: { [s.key]: s.value } } },
    ]);
    await cluster.eventually(
      `netfence-isolation in ${s.ns}`,
      () => policyExists(s.ns),
      (exists) => exists,
    );
    t.pass("netfence-isolation created");
    const applied = await cluster.kubectlApply([teamPolicy(s.ns)]);
    t.equal(applied.code, 0, applied.stderr);
    t.equal(await injected(s.ns), "monitoring", "the webhook injects into the team's policy");
    t.equal((await cluster.kubectl(["annotate", "namespace", s.ns, `${s.key}-`])).code, 0);
    await cluster.eventually(
      `netfence-isolation gone from ${s.ns}`,
      () => policyExists(s.ns),
      (exists) => !exists,
    );
    t.pass("the managed policy is deleted when the annotation is removed");
    await cluster.eventually(
      "the injected rule removed",
      () => injected(s.ns),
      (value) => value === undefined,
    );
    t.same(
      (await cluster.getJson(["networkpolicy", "web", "-n", s.ns])).spec.ingress,
      [{ from: [{ podSelector: {} }] }],
      "the team's policy is as written",
    );
  });
}

const leaseHolder = async () =>
  (await cluster.apiGet("/apis/coordination.k8s.io/v1/namespaces/default/leases/netfence")).json?.spec?.holderIdentity;
const leaderMetric = async () => /^netfence_leader 1$/m.test(String((await cluster.netfenceRequest("/metrics")).json));

t.test(
  "two replicas: one leader, both admit; the leader killed, the other reconciles within the lease duration plus a resync",
  async (t) => {
    const first = `${hostname()}_${cluster.netfencePid}`;
    await cluster.eventually("the first netfence holds the Lease", leaseHolder, (holder) => holder === first);
    const replica = await cluster.startNetfenceReplica("b");
    t.teardown(() => replica.stop());
    // From now on the API server calls the replica: admission works on a replica that does not lead.
    cluster.netfencePort = replica.port;
    await cluster.registerWebhooks();
    t.pass("the replica answers admission (the webhook marker was denied through it)");
    t.notOk(await leaderMetric(), "the replica does not lead");
    t.equal(await leaseHolder(), first, "the Lease stays with the first netfence");

    await cluster.killNetfence("SIGKILL");
    const killed = performance.now();
    t.equal(
      (
        await cluster.kubectlApply([
          {
            apiVersion: "v1",
            kind: "Namespace",
            metadata: { name: "after-failover", labels: { "netfence.io/isolation": "enabled" } },
          },
        ])
      ).code,
      0,
    );
    await cluster.eventually(
      "netfence-isolation in after-failover",
      () => policyExists("after-failover"),
      (exists) => exists,
      60_000,
    );
    const seconds = (performance.now() - killed) / 1000;
    t.comment(
      `the namespace labelled after the leader was killed got its policy ${seconds.toFixed(1)} s after the kill`,
    );
    t.ok(
      seconds <= LEASE_SECONDS + RESYNC_SECONDS,
      `${seconds.toFixed(1)} s, within the lease duration (${LEASE_SECONDS} s) plus a resync (${RESYNC_SECONDS} s)`,
    );
    t.equal(await leaseHolder(), `${hostname()}_${replica.pid}`, "the replica holds the Lease");
    t.ok(await leaderMetric(), "and says so in its metrics");
  },
);
