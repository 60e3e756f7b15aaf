// What the connectivity engine costs on a synthetic cluster of the size issue 14 names: 5,000 pods in
// 500 namespaces under 1,000 NetworkPolicies. Prints time and memory for building the input,
// compiling, the equivalence classes, the full matrix, a diff after one policy change, and single
// explain queries. Run: npm run bench:connectivity (add -- --pods N --namespaces N --policies N).
import { parseArgs } from "node:util";
import { clusterFromObjects, diffEngines, Engine } from "../src/connectivity/index.ts";

const { values } = parseArgs({
  options: {
    pods: { type: "string", default: "5000" },
    namespaces: { type: "string", default: "500" },
    policies: { type: "string", default: "1000" },
  },
});
const POD_COUNT = Number(values.pods);
const NAMESPACE_COUNT = Number(values.namespaces);
const POLICY_COUNT = Number(values.policies);
const APPS = ["web", "api", "worker", "db"];

function syntheticObjects(policyCount: number): unknown[] {
  const objects: unknown[] = [];
  for (let n = 0; n < NAMESPACE_COUNT; n++) {
    objects.push({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: `ns-${n}`, labels: { team: `t${n % 50}`, env: n % 3 === 0 ? "prod" : "dev" } },
    });
  }
  for (let p = 0; p < POD_COUNT; p++) {
    const n = p % NAMESPACE_COUNT;
    const app = APPS[Math.floor(p / NAMESPACE_COUNT) % APPS.length]!;
    // Replicas of one Deployment share labels and ports, as they do in real clusters.
    objects.push({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: `${app}-${p}`,
        namespace: `ns-${n}`,
        labels: { app, "app.kubernetes.io/part-of": `shop-${n % 7}` },
      },
      spec: { containers: [{ name: app, ports: [{ name: "http", containerPort: app === "db" ? 5432 : 8080 }] }] },
      status: { phase: "Running", podIP: `10.${(p >> 16) & 255}.${(p >> 8) & 255}.${p & 255}` },
    });
  }
  for (let i = 0; i < policyCount; i++) {
    const n = i % NAMESPACE_COUNT;
    // Two policies per namespace at the default sizes, of different kinds.
    const kind = (i + Math.floor(i / NAMESPACE_COUNT)) % 4;
    const spec =
      kind === 0
        ? {
            podSelector: {},
            ingress: [
              { from: [{ podSelector: {} }] },
              { from: [{ namespaceSelector: { matchLabels: { team: `t${n % 50}` } } }], ports: [{ port: "http" }] },
            ],
          }
        : kind === 1
          ? {
              podSelector: { matchLabels: { app: "db" } },
              ingress: [{ from: [{ podSelector: { matchLabels: { app: "api" } } }], ports: [{ port: 5432 }] }],
            }
          : kind === 2
            ? {
                podSelector: { matchLabels: { app: "web" } },
                policyTypes: ["Egress"],
                egress: [
                  {
                    to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } }],
                    ports: [{ port: 53, protocol: "UDP" }],
                  },
                  { to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8"] } }], ports: [{ port: 443 }] },
                ],
              }
            : {
                podSelector: { matchExpressions: [{ key: "app", operator: "In", values: ["api", "worker"] }] },
                ingress: [
                  {
                    from: [
                      {
                        namespaceSelector: { matchLabels: { env: "prod" } },
                        podSelector: { matchLabels: { app: "web" } },
                      },
                    ],
                    ports: [{ port: 8000, endPort: 8100 }],
                  },
                ],
              };
    objects.push({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: `p-${i}`, namespace: `ns-${n}` },
      spec,
    });
  }
  return objects;
}

const gc = (globalThis as { gc?: () => void }).gc;
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
function step<T>(name: string, work: () => T): T {
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const cpuBefore = process.cpuUsage();
  const start = process.hrtime.bigint();
  const result = work();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const cpu = process.cpuUsage(cpuBefore);
  const heapAfter = process.memoryUsage().heapUsed;
  // CPU time as well as wall time: on a shared machine the wall clock also measures the neighbours.
  console.log(
    `| ${name} | ${ms.toFixed(0)} ms | ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms | ${mb(heapAfter - heapBefore)} | ${mb(process.memoryUsage().rss)} |`,
  );
  return result;
}

console.log(
  `load average ${(await import("node:os")).loadavg()[0]!.toFixed(1)}; ${POD_COUNT} pods, ${NAMESPACE_COUNT} namespaces, ${POLICY_COUNT} NetworkPolicies; Node ${process.version}${gc ? "" : " (run with --expose-gc for heap deltas)"}\n`,
);
console.log("| step | wall time | CPU time | heap added | RSS after |\n| --- | ---: | ---: | ---: | ---: |");
const objects = step("synthetic objects", () => syntheticObjects(POLICY_COUNT));
const cluster = step("clusterFromObjects", () => clusterFromObjects(objects));
const engine = step("compile (new Engine)", () => new Engine(cluster));
const classes = step("equivalence classes", () => engine.classes());
let allowedPairs = 0;
const matrix = step("full matrix: every class pair and outside", () => {
  const m = engine.matrix();
  for (const s of m.classes) {
    m.egressExternal(s.index);
    m.ingressExternal(s.index);
    for (const d of m.classes)
      if (m.cell(s.index, d.index).allowed.TCP.length > 0) allowedPairs += s.members.length * d.members.length;
  }
  return m;
});
// The change: ns-0's first policy (same-namespace and team traffic) becomes a default deny.
const firstPolicy = NAMESPACE_COUNT + POD_COUNT;
const changed = syntheticObjects(POLICY_COUNT).map((o, i) =>
  i === firstPolicy ? { ...(o as object), spec: { podSelector: {} } } : o,
);
const afterCluster = clusterFromObjects(changed);
const diff = step("diff after one policy changed (AFTER compiled, classes, affected rows only)", () =>
  diffEngines(engine, new Engine(afterCluster)),
);
const ids = cluster.workloads.map((w) => w.id);
const QUERIES = 1000;
step(`${QUERIES} explain queries`, () => {
  for (let i = 0; i < QUERIES; i++)
    engine.explain({ from: ids[(i * 7919) % ids.length]!, to: ids[(i * 104729) % ids.length]!, port: 8080 });
});
console.log(
  `\n${classes.length} classes for ${cluster.workloads.length} workloads; ${allowedPairs} of ${ids.length ** 2} pod pairs allow some TCP port; diff: ${diff.removed.length} removed, ${diff.added.length} added`,
);
