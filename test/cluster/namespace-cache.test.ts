// The namespace cache against a fake of the KubeClient: list, watch, isolation from each source,
// staleness while the API server is away, catching up when it is back, relist after 410 Gone.
import pino from "pino";
import t from "tap";
import { NamespaceCache } from "../../src/cluster/namespace-cache.ts";
import { createMetrics } from "../../src/metrics.ts";
import { eventually, FakeKubeClient } from "../helpers/fake-kube-client.ts";

const log = pino({ level: "silent" });
const namespace = (name: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, labels, annotations },
});

const restarts = async (metrics: ReturnType<typeof createMetrics>) =>
  (await metrics.informerRestarts.get()).values[0]?.value ?? 0;

function setup() {
  const api = new FakeKubeClient();
  let now = 1_000_000;
  const metrics = createMetrics({ processMetrics: false });
  const cache = new NamespaceCache(api, {
    log,
    metrics,
    staleAfterMs: 10_000,
    backoff: { initialMs: 5, maxMs: 20 },
    now: () => now,
  });
  return { api, cache, metrics, advance: (ms: number) => (now += ms) };
}

t.test(
  "not ready before the first list; then every isolation source, and namespaces being deleted, are known",
  async (t) => {
    const { api, cache } = setup();
    api.put("/api/v1/namespaces/label", namespace("label", { "netfence.io/isolation": "enabled" }));
    api.put(
      "/api/v1/namespaces/kubesphere",
      namespace("kubesphere", {}, { "kubesphere.io/network-isolate": "enabled" }),
    );
    api.put(
      "/api/v1/namespaces/legacy",
      namespace("legacy", {}, { "net.beta.kubernetes.io/network-policy": '{"ingress":{"isolation":"DefaultDeny"}}' }),
    );
    api.put("/api/v1/namespaces/leaving", {
      ...namespace("leaving"),
      metadata: { name: "leaving", deletionTimestamp: "2026-12-03T17:00:00Z" },
    });
    t.same(cache.readiness(), { ready: false, reason: "namespace cache has not synced yet" });
    cache.start();
    t.teardown(() => cache.stop());
    await cache.whenSynced();
    t.same(cache.readiness(), { ready: true });
    t.same(
      cache.all().map((s) => [s.name, s.isolation.source, s.isolation.isolated, s.terminating]),
      [
        ["label", "label", true, false],
        ["kubesphere", "kubesphere-annotation", true, false],
        ["legacy", "legacy-annotation", true, false],
        ["leaving", "none", false, true],
      ],
    );
  },
);

t.test("watch events change the state and reach the listeners", async (t) => {
  const { api, cache } = setup();
  const seen: string[] = [];
  cache.onChange((name, state) => seen.push(`${name}:${state === undefined ? "gone" : state.isolation.isolated}`));
  cache.start();
  t.teardown(() => cache.stop());
  await cache.whenSynced();
  await eventually("the watch is open", () => api.callsOf("watch").length > 0);
  api.put("/api/v1/namespaces/team-a", namespace("team-a"));
  api.put("/api/v1/namespaces/team-a", namespace("team-a", { "netfence.io/isolation": "enabled" }));
  t.ok(cache.isIsolated("team-a"));
  api.remove("/api/v1/namespaces/team-a");
  t.notOk(cache.isIsolated("team-a"));
  t.same(seen, ["team-a:false", "team-a:true", "team-a:gone"]);
});

t.test("API server away: answers from the cache, stale after the configured time, catches up when back", async (t) => {
  const { api, cache, metrics, advance } = setup();
  api.put("/api/v1/namespaces/iso", namespace("iso", { "netfence.io/isolation": "enabled" }));
  api.put("/api/v1/namespaces/doomed", namespace("doomed"));
  cache.start();
  t.teardown(() => cache.stop());
  await cache.whenSynced();
  await eventually("the watch is open", () => api.callsOf("watch").length > 0);
  api.takeDown();
  await eventually("the failure is noticed", async () => (await restarts(metrics)) > 0);
  t.ok(cache.isIsolated("iso"), "still answers from the cache");
  t.same(cache.readiness(), { ready: true }, "not stale yet");
  advance(10_001);
  t.match(cache.readiness(), {
    ready: false,
    reason: /namespace cache stale: no contact with the API server for 10 s/,
  });
  // Changed while netfence could not see it: only a fresh list tells.
  api.up();
  api.remove("/api/v1/namespaces/doomed");
  api.put("/api/v1/namespaces/iso", namespace("iso"));
  await eventually("reconnected", () => cache.readiness().ready);
  t.notOk(cache.isIsolated("iso"), "the change made during the outage is seen");
  t.equal(cache.get("doomed"), undefined, "the namespace deleted during the outage is gone");
});

t.test("410 Gone: a fresh list, without ever going stale", async (t) => {
  const { api, cache, metrics } = setup();
  cache.start();
  t.teardown(() => cache.stop());
  await cache.whenSynced();
  await eventually("the watch is open", () => api.callsOf("watch").length === 1);
  api.expireWatches();
  await eventually("listed again", () => api.callsOf("list").length === 2);
  t.equal(await restarts(metrics), 0, "no restart counted: nothing went wrong");
});
