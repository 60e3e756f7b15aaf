// The impact check on the admission path: NetworkPolicy CREATE, UPDATE and DELETE get the impact
// warnings, dryRun too; past the deadline, with the pod cache not ready, or on a bug, the request
// is answered with NP052 and nothing worse; configured actions apply as for every rule.
import pino from "pino";
import { Registry } from "prom-client";
import t from "tap";
import { parseAllDocuments } from "yaml";
import { admit } from "../../src/admission/handle.ts";
import { admissionPolicy } from "../../src/admission/policy.ts";
import { parseAdmissionReview, type AdmissionRequest } from "../../src/admission/review.ts";
import { parseConfig } from "../../src/config.ts";
import { impactCheck, impactMetrics, type ImpactCheckOptions } from "../../src/impact/check.ts";
import type { ImpactCluster } from "../../src/impact/model.ts";
import { RULES } from "../../src/rules/registry.ts";
import { buildApp } from "../../src/server/app.ts";
import { admissionReview } from "../helpers/review.ts";
import { namespace, pod, policy } from "../connectivity/objects.ts";
import { impactCluster } from "./objects.ts";

const objects = [
  namespace("team-a"),
  namespace("monitoring"),
  pod("team-a", "api", { labels: { app: "api" }, ip: "10.244.1.1", ports: [{ name: "http", containerPort: 8080 }] }),
  pod("monitoring", "prometheus", { labels: { app: "prometheus" }, ip: "10.244.2.1" }),
];
const defaultDeny = policy("team-a", "default-deny", { policyTypes: ["Ingress"] });

function setup(overrides: Partial<ImpactCheckOptions> & { config?: Record<string, unknown> } = {}) {
  const registry = new Registry();
  const metrics = impactMetrics(registry);
  const lines: string[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
  const config = parseConfig({ allowedIngressNamespaces: ["monitoring"], ...overrides.config });
  const impact = impactCheck({
    cluster: impactCluster(objects),
    readiness: () => ({ ready: true }),
    allowedIngressNamespaces: config.allowedIngressNamespaces,
    deadlineMs: config.impact.deadlineMs,
    actions: config.rules,
    metrics,
    log,
    // A clock that stands still: only the deadline test is about time, and a loaded machine must not
    // turn the other answers into NP052.
    now: () => 0,
    ...overrides,
  });
  const policyOf = { ...admissionPolicy(config), impact };
  const validate = (review: unknown) => {
    const parsed = parseAdmissionReview(review);
    if (!parsed.ok) throw new Error(parsed.error);
    return admit("validate", parsed.request, policyOf).review.response;
  };
  return { validate, registry, lines, policy: policyOf };
}

const create = (object: unknown, options: { dryRun?: boolean } = {}) =>
  admissionReview("NetworkPolicy", object, { name: "default-deny", ...options });

t.test("CREATE of a default-deny: the cut-off warnings; dryRun shows the same", async (t) => {
  const { validate } = setup();
  const expected = {
    uid: "705ab4f5-6393-11e8-b7cc-42010a800002",
    allowed: true,
    warnings: [
      "NP050 cuts off 1 flow now allowed and external traffic, e.g. monitoring/prometheus -> team-a/api TCP/8080",
      "NP053 cuts off 1 flow from allowedIngressNamespaces, e.g. monitoring/prometheus -> team-a/api TCP/8080",
    ],
  };
  t.same(validate(create(defaultDeny)), expected);
  t.same(validate(create(defaultDeny, { dryRun: true })), expected);
});

t.test("DELETE of the stored default-deny: only the opened flows, from oldObject", async (t) => {
  const { validate } = setup({ cluster: impactCluster([...objects, defaultDeny]) });
  const review = admissionReview("NetworkPolicy", null, {
    operation: "DELETE",
    name: "default-deny",
    oldObject: defaultDeny,
  });
  t.same(validate(review).warnings, [
    "NP051 opens 1 flow now denied and external traffic, e.g. monitoring/prometheus -> team-a/api TCP/8080",
  ]);
});

t.test("UPDATE: the difference between oldObject and object", async (t) => {
  const { validate } = setup({ cluster: impactCluster([...objects, defaultDeny]) });
  const fromMonitoring = policy("team-a", "default-deny", {
    policyTypes: ["Ingress"],
    ingress: [
      {
        from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } }],
        ports: [{ port: "http" }],
      },
    ],
  });
  const review = admissionReview("NetworkPolicy", fromMonitoring, {
    operation: "UPDATE",
    name: "default-deny",
    oldObject: defaultDeny,
  });
  t.same(validate(review).warnings, [
    "NP051 opens 1 flow now denied, e.g. monitoring/prometheus -> team-a/api TCP/8080",
  ]);
});

t.test("configured actions: NP053 deny refuses the cut-off, NP050 off silences it", async (t) => {
  const { validate } = setup({ config: { rules: { NP053: "deny", NP050: "off" } } });
  const response = validate(create(defaultDeny));
  t.equal(response.allowed, false);
  t.equal(
    response.status?.message,
    "netfence found 1 problem: NP053 cuts off 1 flow from allowedIngressNamespaces, e.g. monitoring/prometheus -> team-a/api TCP/8080",
  );
  t.same(response.warnings, undefined);
});

t.test("every impact rule off: no computation at all", async (t) => {
  let asked = 0;
  const cluster: ImpactCluster = { ...impactCluster(objects), shapes: () => (asked++, []) };
  const { validate } = setup({
    cluster,
    config: { rules: { NP050: "off", NP051: "off", NP052: "off", NP053: "off" } },
  });
  t.same(validate(create(defaultDeny)).warnings, undefined);
  t.equal(asked, 0);
});

t.test("past the deadline: answered without impact, NP052 says so, the metric counts it", async (t) => {
  let clock = 0;
  // Every reading of the clock is 150 ms later: the first checkpoint is past a 100 ms budget.
  const { validate, registry, lines } = setup({ now: () => (clock += 150) });
  t.same(validate(create(defaultDeny)), {
    uid: "705ab4f5-6393-11e8-b7cc-42010a800002",
    allowed: true,
    warnings: ["NP052 impact not computed: took longer than 100 ms (impact.deadlineMs)"],
  });
  t.match(
    await registry.getSingleMetricAsString("netfence_impact_skipped_total"),
    'netfence_impact_skipped_total{reason="deadline"} 1',
  );
  t.match(
    await registry.getSingleMetricAsString("netfence_impact_duration_seconds"),
    "netfence_impact_duration_seconds_count 1",
  );
  t.match(lines.join(""), "impact check ran out of time");
});

t.test("a bug in the impact path: logged, NP052, never a denial or an exception", async (t) => {
  const cluster: ImpactCluster = {
    ...impactCluster(objects),
    shapes: () => {
      throw new TypeError("boom");
    },
  };
  const { validate, registry, lines } = setup({ cluster });
  t.same(validate(create(defaultDeny)).warnings, ["NP052 impact not computed: internal error (see the netfence logs)"]);
  t.match(
    await registry.getSingleMetricAsString("netfence_impact_skipped_total"),
    'netfence_impact_skipped_total{reason="error"} 1',
  );
  t.match(lines.join(""), /"level":50.*boom/);
});

t.test("the pod cache not synced: NP052 with the reason", async (t) => {
  const { validate } = setup({ readiness: () => ({ ready: false, reason: "pod cache has not synced yet" }) });
  t.same(validate(create(defaultDeny)).warnings, ["NP052 impact not computed: pod cache has not synced yet"]);
});

t.test(
  "a request decided in a worker thread (over the offload size): NP052 says why, the metric counts it",
  async (t) => {
    const { registry, policy: admission } = setup();
    const app = buildApp({ policy: admission, bodyLimitBytes: 3 * 1024 * 1024, offloadAboveBytes: 1024 });
    t.teardown(() => app.close());
    const send = async (review: unknown) =>
      (await app.inject({ method: "POST", url: "/validate", payload: review as object })).json().response;
    // Padding in an annotation puts the body over 1 KiB without changing what the policy selects.
    const large = (name: string, spec: Record<string, unknown>) =>
      create({
        ...policy("team-a", name, spec),
        metadata: { name, namespace: "team-a", annotations: { pad: "x".repeat(2048) } },
      });
    t.same((await send(large("default-deny", { policyTypes: ["Ingress"] }))).warnings, [
      "NP052 impact not computed: the request is over 1 KiB, too large to check here",
    ]);
    t.match(
      await registry.getSingleMetricAsString("netfence_impact_skipped_total"),
      'netfence_impact_skipped_total{reason="too-large"} 1',
    );
    const denied = await send(large("bad", { ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.1/8" } }] }] }));
    t.equal(denied.allowed, false, "a denial is answered as such, without NP052");
    t.same(denied.warnings, undefined);
    // A small request of the same app still gets its impact.
    t.match((await send(create(defaultDeny))).warnings, [/^NP050 cuts off 1 flow/]);
  },
);

t.test("a denied policy gets its denial, no impact; other kinds and DELETEs of them get nothing", async (t) => {
  const { validate } = setup();
  const bad = policy("team-a", "bad", { ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.1/8" } }] }] });
  t.same(validate(create(bad)).warnings, undefined);
  t.same(
    validate(
      admissionReview("Service", null, { operation: "DELETE", oldObject: { metadata: { name: "s" }, spec: {} } }),
    ),
    { uid: "705ab4f5-6393-11e8-b7cc-42010a800002", allowed: true },
  );
});

t.test("every impact rule's documented example triggers it", async (t) => {
  for (const rule of RULES.at("impact")) {
    const documents = parseAllDocuments(rule.example.yaml).map((d) => d.toJSON());
    const change = documents.at(-1);
    const deleting = /deleting it/.test(rule.example.yaml);
    const allowed = /allowedIngressNamespaces: \[(\w+)\]/.exec(rule.example.yaml)?.[1];
    let clock = 0;
    const { validate } = setup({
      cluster: impactCluster(deleting ? documents : documents.slice(0, -1)),
      config: { allowedIngressNamespaces: allowed ? [allowed] : [] },
      ...(/runs out of time/.test(rule.example.yaml) ? { now: () => (clock += 1000) } : {}),
    });
    const review = deleting
      ? admissionReview("NetworkPolicy", null, { operation: "DELETE", name: change.metadata.name, oldObject: change })
      : create(change);
    const warnings: string[] = validate(review).warnings ?? [];
    t.ok(
      warnings.some((w) => w.startsWith(`${rule.id} `)),
      `${rule.id}: ${warnings.join(" | ") || "nothing"}`,
    );
  }
});
