// Isolation preview: what isolating a namespace would cut off, through the same functions the
// reconciler and `clusterFromObjects` use; the annotation stays bounded.
import t from "tap";
import { clusterFromObjects, diff } from "../../src/connectivity/index.ts";
import {
  previewAnnotation,
  previewMessage,
  previewOf,
  PREVIEW_MAX_CHARS,
} from "../../src/cluster/isolation-preview.ts";
import { isolationImpact } from "../../src/impact/isolation.ts";
import { namespace, pod, policy } from "../connectivity/objects.ts";
import { impactCluster } from "./objects.ts";

const objects = [
  namespace("team-a"),
  namespace("team-b"),
  namespace("monitoring"),
  pod("team-a", "api", { labels: { app: "api" }, ip: "10.244.1.1", ports: [{ name: "http", containerPort: 8080 }] }),
  pod("team-a", "worker", { labels: { app: "worker" }, ip: "10.244.1.2" }),
  pod("team-b", "web", { labels: { app: "web" }, ip: "10.244.2.1" }),
  pod("monitoring", "prometheus", { labels: { app: "prometheus" }, ip: "10.244.3.1" }),
  policy("team-a", "api-from-web", {
    podSelector: { matchLabels: { app: "api" } },
    ingress: [{ from: [{ namespaceSelector: {} }] }],
  }),
];

t.test(
  "isolating team-a cuts off team-b from worker (api-from-web keeps api open: policies add up); the engine with --isolate agrees",
  async (t) => {
    const impact = isolationImpact(impactCluster(objects), "team-a", ["monitoring"]);
    t.same(previewOf(impact), {
      cutsOff: 1,
      fromAllowedNamespaces: 0,
      externalWorkloads: 1,
      examples: ["team-b/web -> team-a/worker all ports"],
    });
    const engine = diff(
      clusterFromObjects(objects),
      clusterFromObjects(objects, { isolatedNamespaces: ["team-a"], allowedIngressNamespaces: ["monitoring"] }),
    );
    const pairs = [
      ...new Set(
        engine.removed.flatMap((c) =>
          typeof c.from === "string" && typeof c.to === "string" ? [`${c.from} -> ${c.to}`] : [],
        ),
      ),
    ];
    t.same(pairs, ["team-b/web -> team-a/worker"]);
  },
);

t.test("the Event's message and the annotation", async (t) => {
  const preview = previewOf(isolationImpact(impactCluster(objects), "team-a", ["monitoring"]));
  t.equal(
    previewMessage(preview),
    "isolation preview: isolating this namespace would cut off 1 flow now allowed and traffic from outside the cluster to 1 workload, e.g. team-b/web -> team-a/worker all ports",
  );
  t.same(JSON.parse(previewAnnotation(preview)), preview);
  t.equal(
    previewMessage({ cutsOff: 0, fromAllowedNamespaces: 0, externalWorkloads: 0, examples: [] }),
    "isolation preview: isolating this namespace would cut off no traffic between running workloads",
  );
});

t.test("the annotation never exceeds 4096 characters: long examples are cut, then dropped", async (t) => {
  const long = {
    cutsOff: 100000,
    fromAllowedNamespaces: 0,
    externalWorkloads: 3,
    examples: Array.from({ length: 5 }, (_, i) => `${i}${"x".repeat(1000)}`),
  };
  const text = previewAnnotation(long);
  t.ok(text.length <= PREVIEW_MAX_CHARS, String(text.length));
  const parsed = JSON.parse(text);
  t.equal(parsed.cutsOff, 100000);
  t.same(
    parsed.examples.map((e: string) => e.length),
    [300, 300, 300, 300, 300],
  );
  const many = previewAnnotation({ ...long, examples: Array.from({ length: 40 }, () => "y".repeat(300)) });
  t.ok(many.length <= PREVIEW_MAX_CHARS);
  t.equal(JSON.parse(many).examples.length, 13, "13 examples of 300 characters and their quotes fit");
});

t.test("a namespace already isolated by the stored managed policy: previewing it changes nothing", async (t) => {
  const isolated = clusterFromObjects(objects, {
    isolatedNamespaces: ["team-a"],
    allowedIngressNamespaces: ["monitoring"],
  });
  const stored = [
    ...objects.filter((o) => o.kind !== "NetworkPolicy"),
    ...isolated.policies.map((p) => ({
      ...p.policy,
      kind: "NetworkPolicy",
      metadata: { ...p.policy.metadata, name: p.name, namespace: p.namespace },
    })),
  ];
  t.same(previewOf(isolationImpact(impactCluster(stored), "team-a", ["monitoring"])), {
    cutsOff: 0,
    fromAllowedNamespaces: 0,
    externalWorkloads: 0,
    examples: [],
  });
});
