// `npm run bench:impact` (node --expose-gc bench/impact.ts): what the impact check adds to one
// NetworkPolicy CREATE, and what its caches cost in memory, at 5,000 pods / 500 namespaces / 1,000
// policies. The caches are netfence's own (NamespaceCache, PolicyCache, WorkloadCache), loaded
// through their list path from a fake KubeClient that serves synthetic API objects (pods shaped like
// the API server's, with managedFields, conditions and container specs), so that the memory figure is
// what the records keep, not what the objects weighed. Requests go through the Fastify app
// (app.inject: parse, rules, impact, response), in-process, impact on and off alternating in blocks.
//
//   node --expose-gc bench/impact.ts [--requests 2000]
import { parseArgs } from "node:util";
import v8 from "node:v8";
import pino from "pino";
import { admissionPolicy } from "../src/admission/policy.ts";
import { cachedImpactCluster, impactReadiness } from "../src/cluster/impact-cluster.ts";
import type { KubeClient } from "../src/kube/client.ts";
import { NamespaceCache } from "../src/cluster/namespace-cache.ts";
import { PolicyCache } from "../src/cluster/policy-cache.ts";
import { WorkloadCache } from "../src/cluster/workload-cache.ts";
import { parseConfig } from "../src/config.ts";
import { impactCheck, impactMetrics } from "../src/impact/check.ts";
import { createMetrics } from "../src/metrics.ts";
import { buildApp } from "../src/server/app.ts";

const { values: args } = parseArgs({ options: { requests: { type: "string", default: "2000" } } });
const REQUESTS = Number(args.requests);
const NAMESPACES = 500;
const PODS_PER_NAMESPACE = 10;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --expose-gc (npm run bench:impact)");

const nsName = (i: number) => `team-${String(i).padStart(3, "0")}`;
const managedFields = [
  {
    manager: "kube-controller-manager",
    operation: "Update",
    apiVersion: "v1",
    time: "2026-12-01T10:00:00Z",
    fieldsType: "FieldsV1",
    fieldsV1: {
      "f:metadata": { "f:labels": { ".": {}, "f:app": {}, "f:pod-template-hash": {} } },
      "f:spec": { "f:containers": { 'k:{"name":"main"}': { ".": {}, "f:image": {}, "f:ports": {} } } },
    },
  },
];

/** Per namespace: web (4 replicas), api (4, port http 8080), db (2, port postgres 5432). */
function podObject(ns: number, index: number) {
  const [app, replicas, ports] =
    index < 4
      ? ["web", 4, []]
      : index < 8
        ? ["api", 4, [{ name: "http", containerPort: 8080, protocol: "TCP" }]]
        : ["db", 2, [{ name: "postgres", containerPort: 5432, protocol: "TCP" }]];
  const hash = `${app}${ns}`.padEnd(10, "x").slice(0, 10);
  const ip = `10.${Math.floor(ns / 200) + 1}.${ns % 200}.${index + 1}`;
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `${app}-${hash}-${index}`,
      namespace: nsName(ns),
      uid: `00000000-0000-0000-${String(ns).padStart(4, "0")}-${String(index).padStart(12, "0")}`,
      resourceVersion: String(ns * 100 + index),
      labels: { app, "pod-template-hash": hash, team: `t${ns % 20}` },
      annotations: { "kubectl.kubernetes.io/restartedAt": "2026-12-01T10:00:00Z" },
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: `${app}-${hash}`,
          uid: "u",
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
      managedFields,
    },
    spec: {
      containers: [
        {
          name: "main",
          image: `registry.example/${app}:1.2.3`,
          ports,
          resources: { requests: { cpu: "100m", memory: "128Mi" } },
          env: [{ name: "MODE", value: "prod" }],
          volumeMounts: [
            { name: "kube-api-access", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true },
          ],
        },
      ],
      nodeName: `node-${ns % 50}`,
      serviceAccountName: "default",
      volumes: [
        {
          name: "kube-api-access",
          projected: { sources: [{ serviceAccountToken: { path: "token", expirationSeconds: 3607 } }] },
        },
      ],
      replicas,
    },
    status: {
      phase: "Running",
      hostIP: "192.168.0.1",
      podIP: ip,
      podIPs: [{ ip }],
      conditions: ["Initialized", "Ready", "ContainersReady", "PodScheduled"].map((type) => ({
        type,
        status: "True",
        lastTransitionTime: "2026-12-01T10:00:00Z",
      })),
      containerStatuses: [
        {
          name: "main",
          ready: true,
          restartCount: 0,
          image: `registry.example/${app}:1.2.3`,
          imageID: `registry.example/${app}@sha256:${"a".repeat(64)}`,
          containerID: `containerd://${"b".repeat(64)}`,
          started: true,
          state: { running: { startedAt: "2026-12-01T10:00:00Z" } },
        },
      ],
    },
  };
}

/** Two per namespace: a default-deny for ingress, and web -> api on http. */
function policyObjects(ns: number) {
  const metadata = (name: string) => ({
    name,
    namespace: nsName(ns),
    resourceVersion: String(ns),
    uid: `p-${ns}-${name}`,
  });
  return [
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: metadata("default-deny"),
      spec: { podSelector: {}, policyTypes: ["Ingress"] },
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: metadata("web-to-api"),
      spec: {
        podSelector: { matchLabels: { app: "api" } },
        policyTypes: ["Ingress"],
        ingress: [
          {
            from: [
              { podSelector: { matchLabels: { app: "web" } } },
              { namespaceSelector: { matchLabels: { team: `t${ns % 20}` } } },
            ],
            ports: [{ port: "http" }],
          },
        ],
      },
    },
  ];
}

/** Item `index` of a collection: pods 10 per namespace, policies 2 per namespace, one namespace each. */
function item(path: string, index: number): unknown {
  if (path.endsWith("/pods")) return podObject(Math.floor(index / PODS_PER_NAMESPACE), index % PODS_PER_NAMESPACE);
  if (path.endsWith("/networkpolicies")) return policyObjects(Math.floor(index / 2))[index % 2];
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: nsName(index), labels: { "kubernetes.io/metadata.name": nsName(index), team: `t${index % 20}` } },
  };
}

const collectionSize = (path: string) =>
  NAMESPACES * (path.endsWith("/pods") ? PODS_PER_NAMESPACE : path.endsWith("/networkpolicies") ? 2 : 1);

/** Lists pages of the size asked for (as the API server does), generated on demand (nothing is kept here); watches wait until stopped. */
const client: KubeClient = {
  async listPage(path, { limit, continue: token }) {
    const from = Number(token ?? 0);
    const to = Math.min(collectionSize(path), from + limit);
    const items: unknown[] = [];
    for (let i = from; i < to; i++) items.push(item(path, i));
    return {
      items,
      continue: to < collectionSize(path) ? String(to) : undefined,
      resourceVersion: "1",
      kind: "List",
      apiVersion: "v1",
    };
  },
  watch: (_path, { signal }) => new Promise((resolve) => signal?.addEventListener("abort", () => resolve())),
  get: () => Promise.reject(new Error("not used")),
  create: () => Promise.reject(new Error("not used")),
  replace: () => Promise.reject(new Error("not used")),
  apply: () => Promise.reject(new Error("not used")),
  mergePatch: () => Promise.reject(new Error("not used")),
  delete: () => Promise.reject(new Error("not used")),
};

const log = pino({ level: "silent" });
const metrics = createMetrics({ processMetrics: false });
const settle = () => {
  for (let i = 0; i < 4; i++) gc();
};
/** A collection that also returns the pages V8 keeps pooled (what it does under memory pressure). */
const releasePooled = () =>
  (gc as (options: object) => void)({ type: "major", execution: "sync", flavor: "last-resort" });
// Both figures below start from the same baseline, with nothing pooled: the delta is all the load added.
releasePooled();
const before = process.memoryUsage();
/** The young generation's size: V8 grows it to its maximum in any burst of allocation, requests or a listing alike. */
const youngGeneration = () => v8.getHeapSpaceStatistics().find((space) => space.space_name === "new_space")!.space_size;
const youngBefore = youngGeneration();
const namespaces = new NamespaceCache(client, { log, metrics, staleAfterMs: 300_000 });
const policies = new PolicyCache(client, { log, metrics, staleAfterMs: 300_000 });
const workloads = new WorkloadCache(client, { log, staleAfterMs: 300_000 });
for (const cache of [namespaces, policies, workloads]) cache.start();
await Promise.all([namespaces.whenSynced(), policies.whenSynced(), workloads.whenSynced()]);
settle();
const after = process.memoryUsage();
const youngAfter = youngGeneration();
// What of that V8 only keeps pooled (freed pages it holds on to for the next burst, released under
// memory pressure): the figure above is the one held against the budget, this one says what it is.
releasePooled();
const pooledReleased = process.memoryUsage();

const config = parseConfig({ allowedIngressNamespaces: ["team-000"], logLevel: "silent" });
const impact = impactCheck({
  cluster: cachedImpactCluster(namespaces, policies, workloads),
  readiness: impactReadiness(namespaces, policies, workloads),
  allowedIngressNamespaces: config.allowedIngressNamespaces,
  deadlineMs: config.impact.deadlineMs,
  actions: config.rules,
  metrics: impactMetrics(metrics.registry),
  log,
});
/** The impact check's own time per request: the part of the latency it adds, without the neighbours' noise in the rest of the request. */
const impactMs: number[] = [];
const timed: typeof impact = (request) => {
  const started = performance.now();
  try {
    return impact(request);
  } finally {
    impactMs.push(performance.now() - started);
  }
};
const base = admissionPolicy(config, namespaces);
const apps = {
  off: buildApp({ policy: base, bodyLimitBytes: config.bodyLimitBytes }),
  on: buildApp({ policy: { ...base, impact: timed }, bodyLimitBytes: config.bodyLimitBytes }),
};

/** The requests: a default-deny for egress, an ingress allow from one team, a db lock-down; in random namespaces. */
function review(i: number) {
  const ns = nsName((i * 7919) % NAMESPACES);
  const specs = [
    { podSelector: {}, policyTypes: ["Egress"], egress: [{ ports: [{ port: 53, protocol: "UDP" }] }] },
    {
      podSelector: { matchLabels: { app: "api" } },
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "t3" } } }] }],
    },
    {
      podSelector: { matchLabels: { app: "db" } },
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ podSelector: { matchLabels: { app: "api" } } }], ports: [{ port: "postgres" }] }],
    },
  ];
  const object = {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: `bench-${i}`, namespace: ns },
    spec: specs[i % specs.length],
  };
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: `u${i}`,
      kind: { group: "networking.k8s.io", version: "v1", kind: "NetworkPolicy" },
      resource: { group: "networking.k8s.io", version: "v1", resource: "networkpolicies" },
      namespace: ns,
      name: `bench-${i}`,
      operation: "CREATE",
      object,
      dryRun: false,
    },
  };
}

const latencies: Record<"on" | "off", number[]> = { on: [], off: [] };
/** CPU time of this process per state: on a machine shared with other work, wall-clock latency also measures the neighbours. */
const cpuMicros: Record<"on" | "off", number> = { on: 0, off: 0 };
let warned = 0;
async function block(state: "on" | "off", from: number, count: number) {
  const cpu = process.cpuUsage();
  for (let i = from; i < from + count; i++) {
    const payload = review(i);
    const started = process.hrtime.bigint();
    const res = await apps[state].inject({ method: "POST", url: "/validate", payload });
    latencies[state].push(Number(process.hrtime.bigint() - started) / 1e6);
    if (res.statusCode !== 200) throw new Error(`${state}: HTTP ${res.statusCode} ${res.body}`);
    if (state === "on" && /NP05[01]/.test(res.body)) warned++;
  }
  const used = process.cpuUsage(cpu);
  cpuMicros[state] += used.user + used.system;
}
// Warm-up, then blocks ordered A B B A so drift hits both alike.
await block("off", 0, 200);
await block("on", 0, 200);
latencies.on.length = latencies.off.length = impactMs.length = 0;
cpuMicros.on = cpuMicros.off = 0;
warned = 0;
const blockSize = Math.floor(REQUESTS / 4);
for (const [state, offset] of [
  ["off", 0],
  ["on", 0],
  ["on", 1],
  ["off", 1],
] as const)
  await block(state, 1000 + offset * blockSize, blockSize);

const quantile = (values: number[], q: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(q * values.length))]!;
const row = (state: "on" | "off") =>
  `${quantile(latencies[state], 0.5).toFixed(3)} / ${quantile(latencies[state], 0.99).toFixed(3)} ms`;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
console.log(
  `cluster: ${namespaces.all().length} namespaces, ${workloads.size} pods (${[...workloads.shapes()].length} shapes), ${NAMESPACES * 2} policies; ${REQUESTS / 2} CREATEs per state`,
);
console.log(`impact off  p50 / p99: ${row("off")}`);
console.log(`impact on   p50 / p99: ${row("on")}   (${warned} of ${latencies.on.length} answers carried NP050/NP051)`);
console.log(
  `CPU per request: off ${(cpuMicros.off / latencies.off.length / 1000).toFixed(3)} ms, on ${(cpuMicros.on / latencies.on.length / 1000).toFixed(3)} ms`,
);
console.log(
  `added by impact: p50 ${(quantile(latencies.on, 0.5) - quantile(latencies.off, 0.5)).toFixed(3)} ms, p99 ${(quantile(latencies.on, 0.99) - quantile(latencies.off, 0.99)).toFixed(3)} ms`,
);
console.log(
  `the impact check itself p50 / p99: ${quantile(impactMs, 0.5).toFixed(3)} / ${quantile(impactMs, 0.99).toFixed(3)} ms (max ${Math.max(...impactMs).toFixed(3)} ms)`,
);
console.log(
  `caches hold: RSS +${mb(pooledReleased.rss - before.rss)}, heap +${mb(after.heapUsed - before.heapUsed)} (both sides after a last-resort gc)`,
);
console.log(
  `right after the listing: RSS +${mb(after.rss - before.rss)} (after a regular gc; the young generation grew from ${mb(youngBefore)} to ${mb(youngAfter)} reserved, which a last-resort gc shrinks back)`,
);
await Promise.all([namespaces.stop(), policies.stop(), workloads.stop(), apps.on.close(), apps.off.close()]);
