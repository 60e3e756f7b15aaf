// Impact warnings and isolation preview on a real kube-apiserver, driven with kubectl: pods created as
// objects with their status (pod IPs, ports) written through the status subresource (no kubelet), a
// default-deny applied, dry-run and deleted, a namespace previewed and then isolated.
import t from "tap";
import { startCluster } from "./start-cluster.ts";

const cluster = await startCluster({ allowedIngressNamespaces: ["monitoring"] });

// NetworkPolicy DELETE goes to a webhook entry of its own, as the chart registers it.
const deleteWebhook = {
  apiVersion: "admissionregistration.k8s.io/v1",
  kind: "ValidatingWebhookConfiguration",
  metadata: { name: "netfence-delete" },
  webhooks: [
    {
      name: "delete.validate.netfence.io",
      admissionReviewVersions: ["v1"],
      sideEffects: "None",
      matchPolicy: "Equivalent",
      timeoutSeconds: 2,
      failurePolicy: "Ignore",
      clientConfig: { url: `https://127.0.0.1:${cluster.netfencePort}/validate`, caBundle: cluster.netfenceCaBundle },
      rules: [
        {
          apiGroups: ["networking.k8s.io"],
          apiVersions: ["v1"],
          operations: ["DELETE"],
          resources: ["networkpolicies"],
          scope: "Namespaced",
        },
      ],
    },
  ],
};

const namespace = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, labels },
});
const defaultDeny = {
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name: "default-deny", namespace: "team-a" },
  spec: { podSelector: {}, policyTypes: ["Ingress"] },
};

/** A pod as a controller would create it; `replicaSet` makes it one replica of a Deployment. */
function pod(
  ns: string,
  name: string,
  labels: Record<string, string>,
  options: { replicaSet?: string; statefulSet?: string; ports?: object[] } = {},
) {
  const hash = options.replicaSet?.split("-").at(-1);
  const owner = options.replicaSet
    ? { kind: "ReplicaSet", name: options.replicaSet }
    : options.statefulSet
      ? { kind: "StatefulSet", name: options.statefulSet }
      : undefined;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace: ns,
      labels: { ...labels, ...(hash ? { "pod-template-hash": hash } : {}) },
      ...(owner
        ? {
            ownerReferences: [
              { apiVersion: "apps/v1", ...owner, uid: "00000000-0000-0000-0000-000000000001", controller: true },
            ],
          }
        : {}),
    },
    spec: { containers: [{ name: "main", image: "registry.example/app:1", ports: options.ports ?? [] }] },
  };
}

async function run(pods: { object: ReturnType<typeof pod>; ip: string }[]) {
  const created = await cluster.kubectlApply(pods.map((p) => p.object));
  if (created.code !== 0) throw new Error(`creating pods: ${created.stderr}`);
  for (const { object, ip } of pods) {
    const status = { status: { phase: "Running", podIP: ip, podIPs: [{ ip }] } };
    const patched = await cluster.kubectl([
      "patch",
      "pod",
      object.metadata.name,
      "-n",
      object.metadata.namespace,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify(status),
    ]);
    if (patched.code !== 0) throw new Error(`writing the status of ${object.metadata.name}: ${patched.stderr}`);
  }
}

/** What netfence's pod cache holds, from its metrics. */
async function cachedPods(): Promise<number> {
  const { json } = await cluster.netfenceRequest("/metrics");
  return Number(/^netfence_pod_cache_pods (\d+)/m.exec(String(json))?.[1] ?? -1);
}

const warnings = (stderr: string) =>
  stderr
    .split("\n")
    .filter((line) => line.startsWith("Warning: "))
    .map((line) => line.slice("Warning: ".length));

await cluster.kubectlApply([deleteWebhook, namespace("team-a"), namespace("team-b"), namespace("monitoring")]);
const http = [{ name: "http", containerPort: 8080 }];
await run([
  {
    object: pod("team-a", "api-5d9f8b7c6-a1", { app: "api" }, { replicaSet: "api-5d9f8b7c6", ports: http }),
    ip: "10.244.1.11",
  },
  {
    object: pod("team-a", "api-5d9f8b7c6-b2", { app: "api" }, { replicaSet: "api-5d9f8b7c6", ports: http }),
    ip: "10.244.1.12",
  },
  {
    object: pod("team-a", "api-5d9f8b7c6-c3", { app: "api" }, { replicaSet: "api-5d9f8b7c6", ports: http }),
    ip: "10.244.1.13",
  },
  {
    object: pod("monitoring", "prometheus-0", { app: "prometheus" }, { statefulSet: "prometheus" }),
    ip: "10.244.2.10",
  },
  { object: pod("team-b", "web", { app: "web" }), ip: "10.244.3.10" },
]);
await cluster.eventually("netfence's pod cache to hold the 5 pods", cachedPods, (n) => n === 5);

const CUT_OFF =
  "NP050 cuts off 3 flows now allowed and external traffic, e.g. monitoring/prometheus -> team-a/api TCP/8080";
const FROM_MONITORING =
  "NP053 cuts off 1 flow from allowedIngressNamespaces, e.g. monitoring/prometheus -> team-a/api TCP/8080";

t.test("--dry-run=server previews the cut-off and stores nothing", async (t) => {
  const result = await cluster.kubectlApply([defaultDeny], ["--dry-run=server"]);
  t.equal(result.code, 0, result.stderr);
  t.same(warnings(result.stderr), [CUT_OFF, FROM_MONITORING]);
  t.match(result.stdout, "(server dry run)");
  t.equal((await cluster.kubectl(["get", "networkpolicy", "default-deny", "-n", "team-a"])).code, 1, "nothing stored");
});

t.test(
  "kubectl apply of a default-deny: 3 flows (the 3 api replicas count once), the example from monitoring on the port api declares",
  async (t) => {
    const result = await cluster.kubectlApply([defaultDeny]);
    t.equal(result.code, 0, result.stderr);
    t.same(warnings(result.stderr), [CUT_OFF, FROM_MONITORING]);
    for (const warning of warnings(result.stderr)) t.ok(warning.length <= 120, warning);
  },
);

t.test("deleting the default-deny shows the flows it opens", async (t) => {
  const result = await cluster.kubectl(["delete", "networkpolicy", "default-deny", "-n", "team-a"]);
  t.equal(result.code, 0, result.stderr);
  t.same(warnings(result.stderr), [
    "NP051 opens 3 flows now denied and external traffic, e.g. monitoring/prometheus -> team-a/api TCP/8080",
  ]);
  t.equal((await cluster.kubectl(["get", "networkpolicy", "default-deny", "-n", "team-a"])).code, 1, "deleted");
});

const annotation = async (ns: string) => {
  const object = await cluster.getJson(["namespace", ns]);
  const value = object.metadata.annotations?.["netfence.io/isolation-preview"];
  return value === undefined ? undefined : JSON.parse(value);
};

t.test("a namespace in preview: Event and annotation, no policy; refreshed when a pod appears", async (t) => {
  await cluster.kubectl(["label", "namespace", "team-b", "netfence.io/isolation=preview"]);
  const preview = await cluster.eventually(
    "the preview annotation",
    () => annotation("team-b"),
    (value) => value !== undefined,
  );
  t.same(
    preview,
    { cutsOff: 1, fromAllowedNamespaces: 0, externalWorkloads: 1, examples: ["team-a/api -> team-b/web all ports"] },
    "api's replicas count once; monitoring stays allowed",
  );
  const events = await cluster.eventually(
    "the IsolationPreview Event",
    async () =>
      (await cluster.getJson(["events", "-n", "team-b", "--field-selector", "reason=IsolationPreview"])).items,
    (items: any[]) => items.length > 0,
  );
  t.equal(events[0].involvedObject.kind, "Namespace");
  t.equal(
    events[0].message,
    "isolation preview: isolating this namespace would cut off 1 flow now allowed and traffic from outside the cluster to 1 workload, e.g. team-a/api -> team-b/web all ports",
  );
  t.same((await cluster.getJson(["networkpolicy", "-n", "team-b"])).items, [], "preview creates no policy");

  await run([{ object: pod("team-a", "worker", { app: "worker" }), ip: "10.244.1.20" }]);
  const refreshed = await cluster.eventually(
    "the refreshed annotation",
    () => annotation("team-b"),
    (value) => value?.cutsOff === 2,
  );
  t.same(refreshed.examples, ["team-a/api -> team-b/web all ports", "team-a/worker -> team-b/web all ports"]);
});

t.test("switching preview to enabled isolates as before and removes the preview annotation", async (t) => {
  await cluster.kubectl(["label", "namespace", "team-b", "netfence.io/isolation=enabled", "--overwrite"]);
  const created = await cluster.eventually(
    "netfence-isolation in team-b",
    async () => (await cluster.kubectl(["get", "networkpolicy", "netfence-isolation", "-n", "team-b"])).code,
    (code) => code === 0,
  );
  t.equal(created, 0, "the managed policy exists");
  const left = await cluster.eventually(
    "the preview annotation to go",
    () => annotation("team-b"),
    (value) => value === undefined,
  );
  t.equal(left, undefined, "no preview annotation on an isolated namespace");
});
