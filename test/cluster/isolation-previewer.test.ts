// The isolation previewer against a fake of the KubeClient, with the real caches: what it writes on a
// namespace in preview (an Event and a bounded annotation, never a policy), when it writes again
// (pods and policies change, debounced), and when it takes the annotation away (out of preview, also
// when that happened while no leader ran).
import pino from "pino";
import t from "tap";
import { cachedImpactCluster, impactReadiness } from "../../src/cluster/impact-cluster.ts";
import { IsolationPreviewer, PREVIEW_MAX_CHARS } from "../../src/cluster/isolation-preview.ts";
import { NamespaceCache } from "../../src/cluster/namespace-cache.ts";
import { PolicyCache } from "../../src/cluster/policy-cache.ts";
import { WorkloadCache } from "../../src/cluster/workload-cache.ts";
import { createMetrics } from "../../src/metrics.ts";
import { ISOLATION_LABEL, ISOLATION_PREVIEW_ANNOTATION } from "../../src/names.ts";
import { namespace, pod, policy } from "../connectivity/objects.ts";
import { eventually, FakeKubeClient } from "../helpers/fake-kube-client.ts";

const log = pino({ level: "silent" });
const nsPath = (name: string) => `/api/v1/namespaces/${name}`;
const podPath = (ns: string, name: string) => `/api/v1/namespaces/${ns}/pods/${name}`;
const npPath = (ns: string, name: string) => `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies/${name}`;
// Long enough that five puts a few milliseconds apart fall within it even on a loaded machine.
const DEBOUNCE_MS = 500;

/** team-a's api, reached from team-b's web and monitoring's prometheus (an allowedIngressNamespace). */
function seed(api: FakeKubeClient, isolation: Record<string, string> = { "team-a": "preview" }) {
  for (const name of ["team-a", "team-b", "monitoring"])
    api.put(nsPath(name), namespace(name, isolation[name] === undefined ? {} : { [ISOLATION_LABEL]: isolation[name] }));
  api.put(
    podPath("team-a", "api"),
    pod("team-a", "api", { labels: { app: "api" }, ip: "10.244.1.1", ports: [{ name: "http", containerPort: 8080 }] }),
  );
  api.put(podPath("team-b", "web"), pod("team-b", "web", { labels: { app: "web" }, ip: "10.244.2.1" }));
  api.put(
    podPath("monitoring", "prometheus"),
    pod("monitoring", "prometheus", { labels: { app: "prometheus" }, ip: "10.244.3.1" }),
  );
}

async function setup(t: { teardown(fn: () => unknown): void }, api = new FakeKubeClient()) {
  const metrics = createMetrics({ processMetrics: false });
  const namespaces = new NamespaceCache(api, { log, metrics, staleAfterMs: 60_000 });
  const policies = new PolicyCache(api, { log, metrics, staleAfterMs: 60_000 });
  const workloads = new WorkloadCache(api, { log, staleAfterMs: 60_000 });
  const previewer = new IsolationPreviewer(
    api,
    { namespaces, policies, workloads },
    cachedImpactCluster(namespaces, policies, workloads),
    {
      allowedIngressNamespaces: ["monitoring"],
      log,
      readiness: impactReadiness(namespaces, policies, workloads),
      debounceMs: DEBOUNCE_MS,
    },
  );
  const caches = [namespaces, policies, workloads];
  for (const cache of caches) cache.start();
  t.teardown(async () => {
    await previewer.stop();
    await Promise.all(caches.map((cache) => cache.stop()));
  });
  await Promise.all(caches.map((cache) => cache.whenSynced()));
  /** Let watch events arrive and the debounce run out, then wait for the writes. */
  const settled = async () => {
    await new Promise((resolve) => setTimeout(resolve, 10));
    await previewer.idle();
  };
  const annotation = (name: string): unknown => {
    const value = api.objects.get(nsPath(name))?.metadata?.annotations?.[ISOLATION_PREVIEW_ANNOTATION];
    return value === undefined ? undefined : JSON.parse(value);
  };
  /** Patches that write a preview (not those that remove it). */
  const annotationWrites = (name: string) =>
    api
      .callsOf("mergePatch")
      .filter(
        (call) =>
          call.path === nsPath(name) &&
          typeof (call.body as any).metadata?.annotations?.[ISOLATION_PREVIEW_ANNOTATION] === "string",
      ).length;
  const events = (name: string) =>
    [...api.objects]
      .filter(([path]) => path.startsWith(`/api/v1/namespaces/${name}/events/`))
      .map(
        ([, event]) => `${event.reason} ${event.involvedObject.kind}/${event.involvedObject.name}: ${event.message}`,
      );
  const policyWrites = () =>
    api.calls.filter((call) => call.path.includes("/networkpolicies") && !["list", "watch"].includes(call.method));
  return { api, previewer, settled, annotation, annotationWrites, events, policyWrites };
}

t.test("a namespace in preview gets an Event and the annotation, and no policy", async (t) => {
  const api = new FakeKubeClient();
  seed(api);
  const { previewer, settled, annotation, events, policyWrites } = await setup(t, api);
  previewer.start();
  await settled();
  t.same(annotation("team-a"), {
    cutsOff: 1,
    fromAllowedNamespaces: 0,
    externalWorkloads: 1,
    examples: ["team-b/web -> team-a/api TCP/8080"],
  });
  t.same(events("team-a"), [
    "IsolationPreview Namespace/team-a: isolation preview: isolating this namespace would cut off 1 flow now allowed and traffic from outside the cluster to 1 workload, e.g. team-b/web -> team-a/api TCP/8080",
  ]);
  t.same(policyWrites(), [], "preview creates no policy");
  t.equal(annotation("team-b"), undefined, "namespaces not in preview are left alone");
  t.same(events("team-b"), []);
});

t.test("the annotation stays bounded: at most 5 examples, within 4096 characters", async (t) => {
  const api = new FakeKubeClient();
  seed(api);
  // 40 workloads elsewhere with long names, each cut off from team-a/api.
  for (let i = 0; i < 40; i++) {
    const ns = `team-${"x".repeat(50)}-${String(i).padStart(2, "0")}`;
    api.put(nsPath(ns), namespace(ns));
    api.put(podPath(ns, "client"), pod(ns, `client-${"y".repeat(100)}`, { ip: `10.244.9.${i + 1}` }));
  }
  const { api: client, previewer, settled, annotation } = await setup(t, api);
  previewer.start();
  await settled();
  const stored = client.objects.get(nsPath("team-a"))!.metadata.annotations[ISOLATION_PREVIEW_ANNOTATION] as string;
  t.ok(stored.length <= PREVIEW_MAX_CHARS, `${stored.length} characters`);
  const preview = annotation("team-a") as { cutsOff: number; examples: string[] };
  t.equal(preview.cutsOff, 41);
  t.equal(preview.examples.length, 5);
});

t.test("refreshed when pods or policies change, once per burst (debounced)", async (t) => {
  const api = new FakeKubeClient();
  seed(api);
  const { previewer, settled, annotation, annotationWrites, events } = await setup(t, api);
  previewer.start();
  await settled();
  t.equal(annotationWrites("team-a"), 1);

  // A burst of pods (one Deployment's replicas count once) in a new namespace: one more write.
  api.put(nsPath("team-c"), namespace("team-c"));
  for (let i = 0; i < 5; i++) {
    api.put(
      podPath("team-c", `batch-${i}`),
      pod("team-c", `batch-${i}`, { labels: { app: "batch" }, ip: `10.244.4.${i + 1}` }),
    );
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await settled();
  t.equal(annotationWrites("team-a"), 2, "five pods 2 ms apart, within the debounce: one write");
  t.equal((annotation("team-a") as { cutsOff: number }).cutsOff, 6);
  t.equal(events("team-a").length, 2);

  // A policy of team-a that admits only team-b: team-a's ingress is isolated already, and what the
  // policy admits stays admitted under isolation (policies add up): isolating cuts off nothing more.
  api.put(
    npPath("team-a", "from-team-b"),
    policy("team-a", "from-team-b", {
      podSelector: {},
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "team-b" } } }] }],
    }),
  );
  await settled();
  t.equal(annotationWrites("team-a"), 3);
  t.same(annotation("team-a"), { cutsOff: 0, fromAllowedNamespaces: 0, externalWorkloads: 0, examples: [] });

  // A change that does not change the answer writes nothing.
  api.put(podPath("team-b", "web"), pod("team-b", "web", { labels: { app: "web", tier: "front" }, ip: "10.244.2.1" }));
  await settled();
  t.equal(annotationWrites("team-a"), 3, "same answer: no write, no Event");
  t.equal(events("team-a").length, 3);
});

t.test("switching from preview to enabled: the annotation goes, and previewing stops", async (t) => {
  const api = new FakeKubeClient();
  seed(api);
  const { previewer, settled, annotation, annotationWrites, events, policyWrites } = await setup(t, api);
  previewer.start();
  await settled();
  t.ok(annotation("team-a"));
  t.equal(annotationWrites("team-a"), 1);

  // A pod change schedules a refresh of team-a; the switch comes before the debounce runs out.
  api.put(podPath("team-b", "web-2"), pod("team-b", "web-2", { labels: { app: "web" }, ip: "10.244.2.2" }));
  const current = api.objects.get(nsPath("team-a"))!;
  api.put(nsPath("team-a"), {
    ...current,
    metadata: { ...current.metadata, labels: { [ISOLATION_LABEL]: "enabled" } },
  });
  await settled();
  t.equal(annotation("team-a"), undefined, "the annotation is removed");
  t.equal(annotationWrites("team-a"), 1, "the refresh scheduled before the switch writes nothing");
  t.equal(events("team-a").length, 1);

  api.put(podPath("team-b", "web-3"), pod("team-b", "web-3", { labels: { app: "web" }, ip: "10.244.2.3" }));
  await settled();
  t.equal(annotationWrites("team-a"), 1, "nor does any change after it");
  t.equal(events("team-a").length, 1);
  t.equal(annotation("team-a"), undefined);
  t.same(policyWrites(), [], "the policy is the reconciler's to create, not the previewer's");
});

t.test(
  "a namespace that left preview while no leader ran: its annotation is removed when the previewer starts",
  async (t) => {
    const api = new FakeKubeClient();
    seed(api, { "team-a": "enabled", "team-b": "preview" });
    const stale = JSON.stringify({ cutsOff: 3, fromAllowedNamespaces: 0, externalWorkloads: 0, examples: [] });
    for (const [name, labels] of [
      ["team-a", { [ISOLATION_LABEL]: "enabled" }],
      ["monitoring", {}],
    ] as const)
      api.put(nsPath(name), namespace(name, labels, { [ISOLATION_PREVIEW_ANNOTATION]: stale }));
    api.put(
      nsPath("team-b"),
      namespace("team-b", { [ISOLATION_LABEL]: "preview" }, { [ISOLATION_PREVIEW_ANNOTATION]: stale }),
    );
    const { previewer, settled, annotation } = await setup(t, api);
    previewer.start();
    await settled();
    t.equal(annotation("team-a"), undefined, "isolated now: no preview");
    t.equal(annotation("monitoring"), undefined, "label removed: no preview");
    t.not((annotation("team-b") as { cutsOff: number }).cutsOff, 3, "still in preview: refreshed, not removed");
  },
);

t.test("leaving preview while this replica is not the leader: cleaned up when it leads again", async (t) => {
  const api = new FakeKubeClient();
  seed(api);
  const { previewer, settled, annotation } = await setup(t, api);
  previewer.start();
  await settled();
  t.ok(annotation("team-a"));
  await previewer.stop();

  const current = api.objects.get(nsPath("team-a"))!;
  api.put(nsPath("team-a"), { ...current, metadata: { ...current.metadata, labels: {} } });
  await settled();
  t.ok(annotation("team-a"), "not the leader: nothing written");

  previewer.start();
  await eventually("the stale annotation removed", () => annotation("team-a") === undefined);
  await settled();
});
