// `netfence explain --kubeconfig` against a real kube-apiserver with netfence serving (reconciler and
// mutating webhook on): pods created as objects with their status written, read back page by page,
// and a live cluster where netfence already acted reads the same as the manifests evaluated offline.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { stringify } from "yaml";
import { REPO } from "./harness.ts";
import { startCluster } from "./start-cluster.ts";

const cluster = await startCluster({ allowedIngressNamespaces: ["monitoring"] });

const namespace = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, labels },
});
const pod = (
  ns: string,
  name: string,
  labels: Record<string, string>,
  ip: string,
  ports: { name: string; containerPort: number }[] = [],
) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: ns, labels },
  spec: { containers: [{ name: "main", image: "registry.invalid/none", ports }] },
  status: { phase: "Running", podIP: ip, podIPs: [{ ip }] },
});
const policy = (ns: string, name: string, spec: Record<string, unknown>) => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name, namespace: ns },
  spec,
});

const namespaces = [
  namespace("team-a", { "netfence.io/isolation": "enabled" }),
  namespace("team-b"),
  namespace("monitoring"),
];
const pods = [
  pod("team-a", "web-0", { app: "web" }, "198.18.1.1", [{ name: "http", containerPort: 8080 }]),
  pod("team-a", "web-1", { app: "web" }, "198.18.1.2", [{ name: "http", containerPort: 8080 }]),
  pod("team-b", "api-0", { app: "api" }, "198.18.2.1", [{ name: "http", containerPort: 9090 }]),
  pod("monitoring", "prometheus-0", { app: "prometheus" }, "198.18.3.1"),
];
const policies = [
  policy("team-b", "api-from-web", {
    podSelector: { matchLabels: { app: "api" } },
    ingress: [
      {
        from: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "team-a" } },
            podSelector: { matchLabels: { app: "web" } },
          },
        ],
        ports: [{ port: "http" }],
      },
      { from: [{ ipBlock: { cidr: "198.18.3.0/24" } }], ports: [{ port: 9100 }] },
    ],
  }),
  policy("team-a", "web-only", {
    podSelector: { matchLabels: { app: "web" } },
    ingress: [{ from: [{ podSelector: { matchLabels: { app: "web" } } }] }],
  }),
];

const manifests = join(cluster.dir, "explain-input.yaml");
writeFileSync(manifests, [...namespaces, ...pods, ...policies].map((o) => stringify(o)).join("---\n"));
const config = join(cluster.dir, "explain-config.yaml");
writeFileSync(config, stringify({ allowedIngressNamespaces: ["monitoring"] }));

function netfence(args: string[]) {
  const result = spawnSync(process.execPath, [join(REPO, "src/cli.ts"), ...args], {
    encoding: "utf8",
    env: { ...process.env, KUBECONFIG: "", NETFENCE_CONFIG: "" },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
const live = (args: string[]) =>
  netfence(["explain", "--kubeconfig", cluster.kubeconfig, "-c", config, "--page-size", "2", ...args]);

// Pods as objects, their status written as a kubelet would (there is none). Setup failures throw:
// assertions belong in the subtests.
async function must(what: string, result: Promise<{ code: number; stderr: string }>) {
  const { code, stderr } = await result;
  if (code !== 0) throw new Error(`${what}: ${stderr}`);
}
await must("namespaces", cluster.kubectlApply(namespaces));
for (const p of pods) {
  const { status, ...object } = p;
  await must(`pod ${p.metadata.name}`, cluster.kubectlApply([object]));
  await must(
    `status of ${p.metadata.name}`,
    cluster.kubectl([
      "patch",
      "pod",
      p.metadata.name,
      "-n",
      p.metadata.namespace,
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status }),
    ]),
  );
}
await must("policies", cluster.kubectlApply(policies));
await cluster.eventually(
  "the reconciler's isolation policy in team-a",
  () => cluster.kubectl(["get", "networkpolicy", "netfence-isolation", "-n", "team-a"]),
  (r) => r.code === 0,
);

t.test("the cluster is as netfence makes it: the team's policy got the allowed namespaces injected", async (t) => {
  const stored = await cluster.getJson(["networkpolicy", "web-only", "-n", "team-a"]);
  t.equal(stored.spec.ingress.length, 2);
});

t.test("live: a named port resolves against the destination pod read from the API server", async (t) => {
  const result = live(["--from", "team-a/web-1", "--to", "team-b/api-0", "--port", "9090", "-o", "json"]);
  t.equal(result.code, 0, result.stderr);
  const json = JSON.parse(result.stdout);
  t.equal(json.verdict, "allowed");
  t.same(
    json.ingress.allowedBy.map((m: { policy: string; path: string; ports: string }) => [m.policy, m.path, m.ports]),
    [["team-b/api-from-web", "spec.ingress[0].from[0]", "TCP 9090"]],
  );
  t.equal(
    JSON.parse(live(["--from", "team-a/web-1", "--to", "team-b/api-0", "--port", "8080", "-o", "json"]).stdout).verdict,
    "denied",
    "8080 is web's http, not api's",
  );
});

t.test(
  "live: the isolated namespace is closed to team-b and open to monitoring through the injected rules",
  async (t) => {
    const denied = JSON.parse(
      live(["--from", "team-b/api-0", "--to", "team-a/web-0", "--port", "8080", "-o", "json"]).stdout,
    );
    t.equal(denied.verdict, "denied");
    t.same(denied.ingress.policies, ["team-a/netfence-isolation", "team-a/web-only"]);
    const allowed = JSON.parse(
      live(["--from", "monitoring/prometheus-0", "--to", "team-a/web-0", "--port", "8080", "-o", "json"]).stdout,
    );
    t.same(
      allowed.ingress.allowedBy.map((m: { policy: string; path: string }) => `${m.policy} ${m.path}`),
      ["team-a/netfence-isolation spec.ingress[1].from[0]", "team-a/web-only spec.ingress[1].from[0]"],
    );
  },
);

t.test("live: an ipBlock matches a pod by the IP in its status, and says CNIs differ", async (t) => {
  const json = JSON.parse(
    live(["--from", "198.18.3.1", "--to", "team-b/api-0", "--port", "9100", "-o", "json"]).stdout,
  );
  t.equal(json.from, "monitoring/prometheus-0", "a pod's IP is that pod");
  t.equal(json.verdict, "allowed");
  t.match(json.notes.join("\n"), /Cilium/);
});

t.test("live equals offline: netfence's own policies and injections read the same as the manifests", async (t) => {
  const liveMatrix = JSON.parse(live(["-o", "json"]).stdout);
  const offline = JSON.parse(netfence(["explain", manifests, "-c", config, "-o", "json"]).stdout);
  t.equal(liveMatrix.workloads, 4);
  t.same(liveMatrix.rows, offline.rows);
  t.same(liveMatrix.external, offline.external);
  t.ok(liveMatrix.rows.length > 0);
});

t.test("live plus manifests: what if this policy were applied?", async (t) => {
  const extra = join(cluster.dir, "deny-team-b.yaml");
  writeFileSync(extra, stringify(policy("team-b", "api-from-web", { podSelector: {} })));
  const result = live([extra, "--from", "team-a/web-1", "--to", "team-b/api-0", "--port", "9090", "-o", "json"]);
  t.equal(JSON.parse(result.stdout).verdict, "denied", "the manifest replaces the cluster's policy of the same name");
});

t.test("live: a kubeconfig that cannot be read is an error with exit 2", async (t) => {
  const result = netfence(["explain", "--kubeconfig", join(cluster.dir, "missing-kubeconfig")]);
  t.equal(result.code, 2);
  t.match(result.stderr, /^netfence: /);
});
