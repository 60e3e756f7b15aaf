// `node bench/policy-pile.ts`: what one NetworkPolicy CREATE costs netfence as the policies of its
// namespace pile up. The webhook's caches, reconciler and impact check run in process over the fake
// KubeClient; each CREATE is admitted (app.inject: rules, impact, response), then written, so that
// its watch event reaches the caches, the reconciler and the impact cluster as it would in a cluster.
// The figures are per CREATE, at N policies already in one isolated namespace: the request, the watch
// event, and all CPU in between (the reconciler's debounced passes included). Compare the rows of
// one run: the machine's load moves absolute figures, not their ratios.
//
//   node bench/policy-pile.ts [--creates 60] [--sizes 100,1000,3000]
import { parseArgs } from "node:util";
import pino from "pino";
import { admissionPolicy } from "../src/admission/policy.ts";
import { cachedImpactCluster, impactReadiness } from "../src/cluster/impact-cluster.ts";
import { NamespaceCache } from "../src/cluster/namespace-cache.ts";
import { PolicyCache } from "../src/cluster/policy-cache.ts";
import { Reconciler } from "../src/cluster/reconciler.ts";
import { WorkloadCache } from "../src/cluster/workload-cache.ts";
import { parseConfig } from "../src/config.ts";
import { impactCheck, impactMetrics } from "../src/impact/check.ts";
import { isolationPredicate } from "../src/isolation.ts";
import type { NetworkPolicy } from "../src/kube-objects.ts";
import { paths } from "../src/kube/client.ts";
import { createMetrics } from "../src/metrics.ts";
import { injectAllowedIngress } from "../src/mutate/inject-allowed-ingress.ts";
import { ISOLATION_LABEL } from "../src/names.ts";
import { buildApp } from "../src/server/app.ts";
import { FakeKubeClient } from "../test/helpers/fake-kube-client.ts";

const { values: args } = parseArgs({
  options: { creates: { type: "string", default: "60" }, sizes: { type: "string", default: "100,1000,3000" } },
});
const CREATES = Number(args.creates);
const SIZES = args.sizes.split(",").map(Number);
const NAMESPACE = "pile";
const ALLOWED = ["monitoring"];

/** A team's policy: one app's ingress from the web pods, on one port (the namespace has 50 apps). */
function teamPolicy(i: number): NetworkPolicy {
  const policy: NetworkPolicy = {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: `allow-${i}`, namespace: NAMESPACE },
    spec: {
      podSelector: { matchLabels: { app: `svc-${i % 50}` } },
      policyTypes: ["Ingress"],
      ingress: [{ from: [{ podSelector: { matchLabels: { app: "web" } } }], ports: [{ port: 8000 + (i % 100) }] }],
    },
  };
  // Stored as the mutating webhook left it, so that the reconciler finds nothing to repair.
  return injectAllowedIngress(policy, ALLOWED);
}

function pod(namespace: string, name: string, app: string, ip: string) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels: { app } },
    spec: { containers: [{ name: "main", ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }] }] },
    status: { phase: "Running", podIP: ip, podIPs: [{ ip }] },
  };
}

function review(policy: NetworkPolicy, uid: string) {
  return {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: { group: "networking.k8s.io", version: "v1", kind: "NetworkPolicy" },
      resource: { group: "networking.k8s.io", version: "v1", resource: "networkpolicies" },
      namespace: NAMESPACE,
      name: policy.metadata!.name,
      operation: "CREATE",
      object: policy,
      dryRun: false,
    },
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function pileOf(size: number) {
  const client = new FakeKubeClient();
  for (const name of [NAMESPACE, "monitoring", "other"])
    client.put(`${paths.namespaces}/${name}`, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name,
        labels: {
          "kubernetes.io/metadata.name": name,
          ...(name === NAMESPACE ? { [ISOLATION_LABEL]: "enabled" } : {}),
        },
      },
    });
  for (let i = 0; i < 60; i++) {
    const [namespace, app] = i < 50 ? [NAMESPACE, i < 10 ? "web" : `svc-${i}`] : [i < 55 ? "monitoring" : "other", "x"];
    client.put(`/api/v1/namespaces/${namespace}/pods/p${i}`, pod(namespace, `p${i}`, app, `10.0.0.${i + 1}`));
  }
  for (let i = 0; i < size; i++) client.put(paths.networkPolicy(NAMESPACE, `allow-${i}`), teamPolicy(i));

  const log = pino({ level: "silent" });
  const metrics = createMetrics({ processMetrics: false });
  const config = parseConfig({ allowedIngressNamespaces: ALLOWED, logLevel: "silent" });
  const namespaces = new NamespaceCache(client, { log, metrics, staleAfterMs: 300_000 });
  const policies = new PolicyCache(client, { log, metrics, staleAfterMs: 300_000 });
  const workloads = new WorkloadCache(client, { log, staleAfterMs: 300_000 });
  for (const cache of [namespaces, policies, workloads]) cache.start();
  await Promise.all([namespaces.whenSynced(), policies.whenSynced(), workloads.whenSynced()]);
  const reconciler = new Reconciler(client, namespaces, policies, {
    allowedIngressNamespaces: ALLOWED,
    isIsolated: isolationPredicate(config, namespaces),
    log,
    metrics,
    resyncMs: 3_600_000,
    writesPerSecond: 100,
    debounceMs: 20,
  });
  await reconciler.start();
  // Its first pass creates the namespace's netfence-isolation; the creates must find nothing more to do.
  await reconciler.idle();
  const setupCalls = client.calls.length;
  const impact = impactCheck({
    cluster: cachedImpactCluster(namespaces, policies, workloads),
    readiness: impactReadiness(namespaces, policies, workloads),
    allowedIngressNamespaces: ALLOWED,
    deadlineMs: 10_000,
    actions: config.rules,
    metrics: impactMetrics(metrics.registry),
    log,
  });
  const app = buildApp({
    policy: { ...admissionPolicy(config, namespaces), impact },
    bodyLimitBytes: config.bodyLimitBytes,
  });
  return {
    client,
    setupCalls,
    app,
    reconciler,
    async close() {
      reconciler.stop();
      await Promise.all([namespaces.stop(), policies.stop(), workloads.stop(), app.close()]);
    },
  };
}

console.log(`per CREATE in namespace ${NAMESPACE}, median of ${CREATES} (each followed by its watch event):`);
console.log("policies   request ms   watch event ms   CPU per create ms");
for (const size of SIZES) {
  const pile = await pileOf(size);
  const requestMs: number[] = [];
  const eventMs: number[] = [];
  // One warm-up create, then the measured ones; every create stays, as in the e2e blocks.
  let cpu = process.cpuUsage();
  for (let i = -1; i < CREATES; i++) {
    if (i === 0) {
      requestMs.length = eventMs.length = 0;
      cpu = process.cpuUsage();
    }
    const policy = teamPolicy(size + i + 1);
    let started = performance.now();
    for (const url of ["/mutate", "/validate"]) {
      const res = await pile.app.inject({ method: "POST", url, payload: review(policy, `u${i}`) });
      if (res.statusCode !== 200) throw new Error(`${url}: HTTP ${res.statusCode} ${res.body}`);
    }
    requestMs.push(performance.now() - started);
    started = performance.now();
    pile.client.put(paths.networkPolicy(NAMESPACE, policy.metadata!.name!), policy);
    eventMs.push(performance.now() - started);
    // The API server answers, the client sends the next one: the reconciler's debounce fires in between.
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await pile.reconciler.idle();
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000 / CREATES;
  console.log(
    `${String(size).padStart(8)}   ${median(requestMs).toFixed(2).padStart(10)}   ${median(eventMs).toFixed(2).padStart(14)}   ${cpuMs.toFixed(2).padStart(17)}`,
  );
  const writes = pile.client.calls
    .slice(pile.setupCalls)
    .filter((call) => call.method !== "list" && call.method !== "watch").length;
  if (writes > 0) throw new Error(`the reconciler wrote ${writes} times: the pile is not as the webhook leaves it`);
  await pile.close();
}
