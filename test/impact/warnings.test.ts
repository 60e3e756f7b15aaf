// The impact warnings as kubectl prints them: rule ID first, the count (replicas of one owner count
// once), the most telling example, never more than 120 characters.
import t from "tap";
import { buildAdmissionResponse } from "../../src/admission/response.ts";
import { impactOf, type Impact } from "../../src/impact/impact.ts";
import { NP050, NP051, NP053 } from "../../src/impact/rules.ts";
import { FieldPath } from "../../src/field-path.ts";
import { DEFAULT_RULE_CONTEXT } from "../../src/rules/context.ts";
import { findingsAt } from "../../src/rules/index.ts";
import { RULES } from "../../src/rules/registry.ts";
import { namespace, pod, policy } from "../connectivity/objects.ts";
import { impactCluster, policyInput, replica } from "./objects.ts";

const http = [{ name: "http", containerPort: 8080 }];
const cluster = [
  namespace("team-a"),
  namespace("team-b"),
  namespace("monitoring"),
  ...[0, 1, 2].map((i) =>
    replica("team-a", "api", i, { labels: { app: "api" }, ip: `10.244.1.${i + 1}`, ports: http }),
  ),
  ...[0, 1].map((i) =>
    replica("monitoring", "prometheus", i, { labels: { app: "prometheus" }, ip: `10.244.2.${i + 1}` }),
  ),
  pod("team-b", "web", { labels: { app: "web" }, ip: "10.244.3.1" }),
];
const defaultDeny = policy("team-a", "default-deny", { policyTypes: ["Ingress"] });
const options = { allowedIngressNamespaces: ["monitoring"] };

/** The warnings the webhook would send for an impact. */
const warnings = (impact: Impact) =>
  buildAdmissionResponse("u", {
    findings: findingsAt(RULES, "impact", { impact }, FieldPath.root(), DEFAULT_RULE_CONTEXT),
  }).response.warnings ?? [];

t.test(
  "a default-deny: 3 flows cut off (prometheus, web and api's own replicas into api), external traffic too",
  async (t) => {
    const impact = impactOf(
      impactCluster(cluster),
      { namespace: "team-a", before: [], after: [policyInput(defaultDeny)] },
      options,
    );
    t.equal(impact.cutOff.flows, 3, "6 pods of prometheus and api, 1 of web: replicas of one owner count once");
    t.equal(impact.cutOff.external, 1);
    t.same(impact.opened, {
      flows: 0,
      examples: [],
      fromAllowedNamespaces: 0,
      external: 0,
      externalExample: undefined,
    });
    t.same(warnings(impact), [
      "NP050 cuts off 3 flows now allowed and external traffic, e.g. monitoring/prometheus -> team-a/api TCP/8080",
      "NP053 cuts off 1 flow from allowedIngressNamespaces, e.g. monitoring/prometheus -> team-a/api TCP/8080",
    ]);
  },
);

t.test("deleting it opens the same flows: NP051", async (t) => {
  const impact = impactOf(
    impactCluster([...cluster, defaultDeny]),
    { namespace: "team-a", before: [policyInput(defaultDeny)], after: [] },
    options,
  );
  t.same(warnings(impact), [
    "NP051 opens 3 flows now denied and external traffic, e.g. monitoring/prometheus -> team-a/api TCP/8080",
  ]);
});

t.test("one pod per owner or three: the count is the same", async (t) => {
  const single = cluster.filter((o: any) => !/-[12]$/.test(o.metadata.name));
  const impact = impactOf(
    impactCluster(single),
    { namespace: "team-a", before: [], after: [policyInput(defaultDeny)] },
    options,
  );
  t.equal(impact.cutOff.flows, 2, "api alone has no flow to itself");
  t.equal(
    impactOf(impactCluster(cluster), { namespace: "team-a", before: [], after: [policyInput(defaultDeny)] }, options)
      .cutOff.flows,
    3,
  );
});

t.test(
  "the example: from an allowedIngressNamespace first, then across namespaces, then a declared port, then by name",
  async (t) => {
    const change = { namespace: "team-a", before: [], after: [policyInput(defaultDeny)] };
    const examples = impactOf(impactCluster(cluster), change, { ...options, examples: 3 }).cutOff.examples;
    t.same(examples, [
      { from: "monitoring/prometheus", to: "team-a/api", ports: "TCP/8080" },
      { from: "team-b/web", to: "team-a/api", ports: "TCP/8080" },
      { from: "team-a/api", to: "team-a/api", ports: "TCP/8080" },
    ]);
    const noAllowed = impactOf(impactCluster(cluster), change, { allowedIngressNamespaces: [], examples: 1 }).cutOff
      .examples;
    t.same(
      noAllowed,
      [{ from: "monitoring/prometheus", to: "team-a/api", ports: "TCP/8080" }],
      "across namespaces, then by name",
    );
    const undeclared = [
      namespace("team-a"),
      pod("team-a", "db", { labels: { app: "db" }, ip: "10.244.1.9" }),
      pod("team-a", "api", { labels: { app: "api" }, ip: "10.244.1.8", ports: http }),
    ];
    const onlyApi = impactOf(impactCluster(undeclared), change, { allowedIngressNamespaces: [], examples: 2 }).cutOff
      .examples;
    t.same(
      onlyApi,
      [
        { from: "team-a/db", to: "team-a/api", ports: "TCP/8080" },
        { from: "team-a/api", to: "team-a/db", ports: "all ports" },
      ],
      "a port the destination declares beats `all ports`",
    );
  },
);

t.test("ports that are not a declared port: the first range, and whether there are more", async (t) => {
  const only443 = policy("team-b", "only-443", { policyTypes: ["Ingress"], ingress: [{ ports: [{ port: 443 }] }] });
  const impact = impactOf(
    impactCluster(cluster),
    { namespace: "team-b", before: [], after: [policyInput(only443)] },
    options,
  );
  t.same(impact.cutOff.examples, [{ from: "monitoring/prometheus", to: "team-b/web", ports: "TCP/1-442 and more" }]);
});

t.test("long names: at most 120 characters, the rule ID and the count intact, the names shortened", async (t) => {
  const long = "a".repeat(63);
  const objects = [
    namespace(long),
    namespace(`b${long.slice(1)}`),
    ...[0, 1].map((i) => replica(long, `${"d".repeat(50)}`, i, { labels: { app: "x" }, ip: `10.0.0.${i + 1}` })),
    pod(`b${long.slice(1)}`, "p".repeat(63), { labels: { app: "y" }, ip: "10.0.1.1" }),
  ];
  const impact = impactOf(
    impactCluster(objects),
    { namespace: long, before: [], after: [policyInput(policy(long, "deny", { policyTypes: ["Ingress"] }))] },
    options,
  );
  const [warning] = warnings(impact);
  t.ok(warning!.length <= 120, `${warning!.length}: ${warning}`);
  t.match(warning, /^NP050 cuts off 2 flows now allowed and external traffic, e\.g\. ba+\.\.\. -> a+\.\.\. all ports$/);
});

t.test("only external traffic changes: the workloads are counted, no CIDR is listed", async (t) => {
  const objects = [namespace("team-a"), pod("team-a", "api", { labels: { app: "api" }, ip: "10.244.1.1" })];
  const impact = impactOf(
    impactCluster(objects),
    { namespace: "team-a", before: [], after: [policyInput(defaultDeny)] },
    options,
  );
  t.same(warnings(impact), ["NP050 cuts off external traffic of 1 workload, e.g. team-a/api"]);
});

t.test("a policy that selects no running pod changes nothing, and says nothing", async (t) => {
  const none = policy("team-a", "none", { podSelector: { matchLabels: { app: "nothing" } }, policyTypes: ["Ingress"] });
  t.same(
    warnings(
      impactOf(impactCluster(cluster), { namespace: "team-a", before: [], after: [policyInput(none)] }, options),
    ),
    [],
  );
});

t.test("the rules are registered as impact rules, default warn", async (t) => {
  t.same(
    RULES.at("impact").map((rule) => [rule.id, rule.defaultAction]),
    [
      ["NP050", "warn"],
      ["NP051", "warn"],
      ["NP052", "warn"],
      ["NP053", "warn"],
    ],
  );
  t.same([NP050.at, NP051.at, NP053.at], ["impact", "impact", "impact"]);
});
