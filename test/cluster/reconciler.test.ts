// The reconciler against a fake of the KubeClient, with the real caches: what it writes, which
// Events it records, what it counts, and what it must never do.
import pino from "pino";
import t from "tap";
import { NamespaceCache } from "../../src/cluster/namespace-cache.ts";
import { PolicyCache } from "../../src/cluster/policy-cache.ts";
import { Reconciler } from "../../src/cluster/reconciler.ts";
import { createMetrics } from "../../src/metrics.ts";
import { eventually, FakeKubeClient } from "../helpers/fake-kube-client.ts";

const log = pino({ level: "silent" });
const nsPath = (name: string) => `/api/v1/namespaces/${name}`;
const npPath = (ns: string, name: string) => `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies/${name}`;
const namespace = (name: string, isolated: boolean) => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, labels: isolated ? { "netfence.io/isolation": "enabled" } : {} },
});
const policy = (
  ns: string,
  name: string,
  spec: object,
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> } = {},
) => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name, namespace: ns, ...metadata },
  spec,
});
const allowedRule = (...values: string[]) => ({
  from: [{ namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values }] } }],
});
const webRule = { from: [{ podSelector: { matchLabels: { app: "api" } } }] };

async function setup(
  t: { teardown(fn: () => unknown): void },
  options: { allowed?: string[]; writesPerSecond?: number; now?: () => number } = {},
) {
  const api = new FakeKubeClient();
  const metrics = createMetrics({ processMetrics: false });
  const namespaces = new NamespaceCache(api, { log, metrics, staleAfterMs: 60_000 });
  const policies = new PolicyCache(api, { log, metrics, staleAfterMs: 60_000 });
  const reconciler = new Reconciler(api, namespaces, policies, {
    allowedIngressNamespaces: options.allowed ?? ["monitoring"],
    isIsolated: (name) => namespaces.isIsolated(name),
    log,
    metrics,
    resyncMs: 60_000,
    debounceMs: 10,
    writesPerSecond: options.writesPerSecond ?? 1000,
    retryMs: { initial: 20, max: 50 },
    ...(options.now ? { now: options.now } : {}),
  });
  const start = async () => {
    namespaces.start();
    policies.start();
    await reconciler.start();
    await reconciler.idle();
  };
  t.teardown(async () => {
    reconciler.stop();
    await Promise.all([namespaces.stop(), policies.stop()]);
  });
  const events = () =>
    [...api.objects]
      .filter(([path]) => path.includes("/events/"))
      .map(([, event]) => `${event.reason} ${event.involvedObject.name}`);
  const settled = async () => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    await reconciler.idle();
  };
  const counter = async (reason: string) =>
    (await metrics.reconcileRepairs.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
  return { api, metrics, reconciler, start, events, settled, counter };
}

t.test("isolation on: the managed policy is created, with an Event and a count", async (t) => {
  const { api, start, events, counter } = await setup(t);
  api.put(nsPath("team-a"), namespace("team-a", true));
  await start();
  const stored = api.objects.get(npPath("team-a", "netfence-isolation"));
  t.same(stored?.spec, {
    podSelector: {},
    policyTypes: ["Ingress"],
    ingress: [{ from: [{ podSelector: {} }] }, allowedRule("monitoring")],
  });
  t.equal(stored?.metadata.labels["app.kubernetes.io/managed-by"], "netfence");
  t.same(events(), ["IsolationPolicyCreated netfence-isolation"]);
  t.equal(await counter("isolation-on"), 1);
});

t.test("a deleted managed policy is restored at once (not on the resync timer), as a restore", async (t) => {
  const { api, start, events, settled, counter } = await setup(t);
  api.put(nsPath("team-a"), namespace("team-a", true));
  await start();
  api.remove(npPath("team-a", "netfence-isolation"));
  await eventually("restored", () => api.objects.has(npPath("team-a", "netfence-isolation")));
  await settled();
  t.same(events(), ["IsolationPolicyCreated netfence-isolation", "IsolationPolicyRestored netfence-isolation"]);
  t.equal(await counter("isolation-policy-deleted"), 1);
});

t.test(
  "an edited managed policy is replaced whole (server-side apply would keep a narrowed podSelector)",
  async (t) => {
    const { api, start, settled, counter } = await setup(t);
    api.put(nsPath("team-a"), namespace("team-a", true));
    await start();
    const stored = api.objects.get(npPath("team-a", "netfence-isolation"))!;
    const written = structuredClone(stored.spec);
    const edited = api.put(npPath("team-a", "netfence-isolation"), {
      ...stored,
      spec: {
        ...stored.spec,
        podSelector: { matchLabels: { app: "only-this" } },
        ingress: [{ from: [{ podSelector: {} }] }],
      },
    });
    await eventually(
      "restored",
      () => JSON.stringify(api.objects.get(npPath("team-a", "netfence-isolation"))!.spec) === JSON.stringify(written),
    );
    await settled();
    t.equal(await counter("isolation-policy-edited"), 1);
    t.equal(api.callsOf("replace").length, 1, "one replacement; its own watch event changes nothing");
    t.equal(
      (api.callsOf("replace")[0]!.body as any).metadata.resourceVersion,
      edited.metadata.resourceVersion,
      "conditional on the edited version",
    );
  },
);

t.test(
  "a team policy written before isolation gets the rule; a config change re-injects; both with Events",
  async (t) => {
    const first = await setup(t, { allowed: ["monitoring"] });
    first.api.put(nsPath("team-a"), namespace("team-a", true));
    first.api.put(npPath("team-a", "web"), policy("team-a", "web", { podSelector: {}, ingress: [webRule] }));
    await first.start();
    const injected = first.api.objects.get(npPath("team-a", "web"))!;
    t.same(injected.spec.ingress, [webRule, allowedRule("monitoring")]);
    t.equal(injected.metadata.annotations["netfence.io/injected-ingress-namespaces"], "monitoring");
    t.ok(first.events().includes("InjectedRuleAdded web"));
    // The same cluster, read by a netfence started with a longer list.
    const second = await setup(t, { allowed: ["monitoring", "ingress-nginx"] });
    for (const [path, object] of first.api.objects) second.api.put(path, object);
    await second.start();
    const updated = second.api.objects.get(npPath("team-a", "web"))!;
    t.same(
      updated.spec.ingress,
      [webRule, allowedRule("ingress-nginx", "monitoring")],
      "the stale rule replaced, not added to",
    );
    t.equal(updated.metadata.annotations["netfence.io/injected-ingress-namespaces"], "ingress-nginx,monitoring");
    t.ok(second.events().includes("InjectedRuleUpdated web"));
    t.equal(await second.counter("injection-stale"), 1);
  },
);

t.test("isolation off: managed policies deleted, injected rules removed, nothing else touched", async (t) => {
  const { api, start, settled, events } = await setup(t);
  api.put(nsPath("team-a"), namespace("team-a", true));
  const written = policy(
    "team-a",
    "web",
    { podSelector: {}, ingress: [webRule] },
    { labels: { app: "web" }, annotations: { owner: "team-a" } },
  );
  const lookalike = policy(
    "team-a",
    "netfence-isolation-copy",
    { podSelector: {} },
    { labels: { "app.kubernetes.io/managed-by": "helm" } },
  );
  api.put(npPath("team-a", "web"), written);
  api.put(npPath("team-a", "netfence-isolation-copy"), lookalike);
  await start();
  t.equal(api.objects.get(npPath("team-a", "web"))!.spec.ingress.length, 2, "injected while isolated");
  api.put(nsPath("team-a"), namespace("team-a", false));
  await eventually("the managed policy deleted", () => !api.objects.has(npPath("team-a", "netfence-isolation")));
  await settled();
  const web = api.objects.get(npPath("team-a", "web"))!;
  t.same(
    { labels: web.metadata.labels, annotations: web.metadata.annotations, spec: web.spec },
    { labels: written.metadata.labels, annotations: written.metadata.annotations, spec: written.spec },
    "exactly as written",
  );
  t.ok(api.objects.has(npPath("team-a", "netfence-isolation-copy")), "a policy managed by someone else stays");
  t.same(
    api.callsOf("delete").map((call) => call.path),
    [npPath("team-a", "netfence-isolation")],
    "the only delete is of the policy labelled managed-by: netfence",
  );
  t.ok(events().includes("IsolationPolicyDeleted netfence-isolation") && events().includes("InjectedRuleRemoved web"));
});

t.test("a conflict (the team wrote in between) is retried against the new version", async (t) => {
  const { api, start, settled } = await setup(t);
  api.put(nsPath("team-a"), namespace("team-a", true));
  api.put(npPath("team-a", "web"), policy("team-a", "web", { podSelector: {}, ingress: [webRule] }));
  // Every merge patch first meets a write by someone else.
  const original = api.mergePatch.bind(api);
  let conflicts = 0;
  api.mergePatch = async (path: string, patch: unknown) => {
    if (conflicts++ === 0)
      api.put(path, {
        ...api.objects.get(path)!,
        metadata: { ...api.objects.get(path)!.metadata, labels: { edited: "yes" } },
      });
    return original(path, patch);
  };
  await start();
  await eventually("injected", () => api.objects.get(npPath("team-a", "web"))!.spec.ingress.length === 2);
  await settled();
  const web = api.objects.get(npPath("team-a", "web"))!;
  t.equal(web.metadata.labels.edited, "yes", "the other write is kept");
  t.equal(api.callsOf("mergePatch").length, 2, "refused once (409), then applied");
});

t.test("drift that cannot be repaired is pending, and its age grows", async (t) => {
  let now = 1_000_000;
  const { api, metrics, start, reconciler } = await setup(t, { now: () => now });
  api.put(nsPath("team-a"), namespace("team-a", true));
  await start();
  // Writes fail from now on; reads and watches still work (an RBAC problem, say).
  api.apply = async () => {
    throw new Error("forbidden");
  };
  api.remove(npPath("team-a", "netfence-isolation"));
  await eventually("pending", async () => (await metrics.reconcilePending.get()).values[0]?.value === 1);
  now += 42_000;
  t.equal((await metrics.reconcileOldestDrift.get()).values[0]?.value, 42, "the oldest unrepaired drift is 42 s old");
  reconciler.stop();
});

t.test("writes are rate-bounded: 30 re-injections at 20 writes/s take at least half a second", async (t) => {
  const { api, start, metrics } = await setup(t, { writesPerSecond: 20 });
  api.put(nsPath("team-a"), namespace("team-a", true));
  api.put(
    npPath("team-a", "netfence-isolation"),
    policy(
      "team-a",
      "netfence-isolation",
      {
        podSelector: {},
        policyTypes: ["Ingress"],
        ingress: [{ from: [{ podSelector: {} }] }, allowedRule("monitoring")],
      },
      {
        labels: { "app.kubernetes.io/managed-by": "netfence" },
        annotations: { "netfence.io/injected-ingress-namespaces": "monitoring" },
      },
    ),
  );
  for (let i = 0; i < 30; i++)
    api.put(npPath("team-a", `p${i}`), policy("team-a", `p${i}`, { podSelector: {}, ingress: [webRule] }));
  await start();
  const patches = api.callsOf("mergePatch");
  t.equal(patches.length, 30);
  // 20 at once (the burst), then one every 50 ms.
  t.ok(
    patches.at(-1)!.at - patches[0]!.at >= 450,
    `${patches.at(-1)!.at - patches[0]!.at} ms from first to last write`,
  );
  t.equal((await metrics.reconcilePending.get()).values[0]?.value, 0, "nothing pending once done");
});

t.test("a namespace being deleted is left alone (the API server refuses new objects in it)", async (t) => {
  const { api, start } = await setup(t);
  api.put(nsPath("team-a"), {
    ...namespace("team-a", true),
    metadata: { ...namespace("team-a", true).metadata, deletionTimestamp: "2026-12-03T17:00:00Z" },
  });
  await start();
  t.same(api.callsOf("apply"), [], "no policy created");
});
