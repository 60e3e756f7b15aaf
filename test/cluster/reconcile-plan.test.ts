// What the reconciler changes in one namespace, as a table over cached records; and two properties:
// isolation off never deletes a policy netfence does not manage, and injecting then reverting gives
// back the team's policy exactly.
import fc from "fast-check";
import t from "tap";
import { planNamespace, planPolicy, type Repair } from "../../src/cluster/reconcile-plan.ts";
import { policyRecord, type PolicyRecord } from "../../src/cluster/policy-cache.ts";
import { injectAllowedIngress } from "../../src/mutate/inject-allowed-ingress.ts";
import { networkPolicyShape } from "../helpers/arbitraries.ts";
import { mergePatch } from "../helpers/fake-kube-client.ts";

const monitoringRule = (...values: string[]) => ({
  from: [{ namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values }] } }],
});
const sameNamespace = { from: [{ podSelector: {} }] };
const webRule = { from: [{ podSelector: { matchLabels: { app: "api" } } }] };

function record(
  name: string,
  spec: object,
  options: { managed?: boolean; injected?: string; labels?: Record<string, string> } = {},
): PolicyRecord {
  return policyRecord({
    metadata: {
      name,
      namespace: "team-a",
      resourceVersion: "7",
      labels: { ...options.labels, ...(options.managed ? { "app.kubernetes.io/managed-by": "netfence" } : {}) },
      ...(options.injected === undefined
        ? {}
        : { annotations: { "netfence.io/injected-ingress-namespaces": options.injected } }),
    },
    spec: spec as any,
  })!;
}

const isolationSpec = (...allowed: string[]) => ({
  podSelector: {},
  policyTypes: ["Ingress"],
  ingress: [sameNamespace, ...(allowed.length ? [monitoringRule(...allowed)] : [])],
});
const managedIsolation = (...allowed: string[]) =>
  record("netfence-isolation", isolationSpec(...allowed), {
    managed: true,
    ...(allowed.length ? { injected: allowed.join(",") } : {}),
  });
const summary = (repairs: Repair[]) => repairs.map((r) => `${r.action} ${r.name} (${r.reason})`);

const cases: { name: string; isolated: boolean; policies: PolicyRecord[]; expected: string[] }[] = [
  {
    name: "isolated, no policy yet: create the managed policy",
    isolated: true,
    policies: [],
    expected: ["apply netfence-isolation (isolation-policy-missing)"],
  },
  {
    name: "isolated, managed policy as written: nothing",
    isolated: true,
    policies: [managedIsolation("monitoring")],
    expected: [],
  },
  {
    name: "isolated, managed policy lost its allowed-namespaces rule: restore",
    isolated: true,
    policies: [record("netfence-isolation", isolationSpec(), { managed: true, injected: "monitoring" })],
    expected: ["replace netfence-isolation (isolation-policy-edited)"],
  },
  {
    name: "isolated, managed policy lost its label: restore",
    isolated: true,
    policies: [record("netfence-isolation", isolationSpec("monitoring"), { injected: "monitoring" })],
    expected: ["replace netfence-isolation (isolation-policy-edited)"],
  },
  {
    name: "isolated, managed policy for an older list: restore",
    isolated: true,
    policies: [managedIsolation("old")],
    expected: ["replace netfence-isolation (isolation-policy-edited)"],
  },
  {
    name: "isolated, team policy written before isolation: inject",
    isolated: true,
    policies: [managedIsolation("monitoring"), record("web", { podSelector: {}, ingress: [webRule] })],
    expected: ["patch web (injection-missing)"],
  },
  {
    name: "isolated, team policy injected for an older list: re-inject",
    isolated: true,
    policies: [
      managedIsolation("monitoring"),
      record("web", { podSelector: {}, ingress: [webRule, monitoringRule("old")] }, { injected: "old" }),
    ],
    expected: ["patch web (injection-stale)"],
  },
  {
    name: "isolated, team policy already injected: nothing",
    isolated: true,
    policies: [
      managedIsolation("monitoring"),
      record("web", { podSelector: {}, ingress: [webRule, monitoringRule("monitoring")] }, { injected: "monitoring" }),
    ],
    expected: [],
  },
  {
    name: "isolated, an allowlist policy of `netfence allow` written before isolation: inject",
    isolated: true,
    policies: [
      managedIsolation("monitoring"),
      record("allow-ingress-from-x", { podSelector: {}, ingress: [webRule] }, { managed: true }),
    ],
    expected: ["patch allow-ingress-from-x (injection-missing)"],
  },
  {
    name: "isolated, egress-only team policy: nothing to inject",
    isolated: true,
    policies: [
      managedIsolation("monitoring"),
      record("dns", { podSelector: {}, policyTypes: ["Egress"], egress: [{}] }),
    ],
    expected: [],
  },
  {
    name: "not isolated, managed policies: delete every one",
    isolated: false,
    policies: [managedIsolation("monitoring"), record("extra", { podSelector: {} }, { managed: true })],
    expected: ["delete netfence-isolation (isolation-off)", "delete extra (isolation-off)"],
  },
  {
    name: "not isolated, an unmanaged policy named netfence-isolation: untouched",
    isolated: false,
    policies: [record("netfence-isolation", isolationSpec())],
    expected: [],
  },
  {
    name: "not isolated, team policy with the injected rule: revert",
    isolated: false,
    policies: [
      record("web", { podSelector: {}, ingress: [webRule, monitoringRule("monitoring")] }, { injected: "monitoring" }),
    ],
    expected: ["patch web (injection-reverted)"],
  },
  {
    name: "not isolated, team policy whose team removed the rule but kept the annotation: revert",
    isolated: false,
    policies: [record("web", { podSelector: {}, ingress: [webRule] }, { injected: "monitoring" })],
    expected: ["patch web (injection-reverted)"],
  },
  {
    name: "not isolated, team policy with the same rule written by the team, no annotation: untouched",
    isolated: false,
    policies: [record("web", { podSelector: {}, ingress: [monitoringRule("monitoring")] })],
    expected: [],
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    t.same(
      summary(
        planNamespace({
          namespace: "team-a",
          isolated: c.isolated,
          policies: c.policies,
          allowedIngressNamespaces: ["monitoring"],
        }),
      ),
      c.expected,
    );
  });
}

// The reconciler re-plans only the policy a watch event is about: each policy's repair must be the
// one the whole namespace's plan has for it.
for (const c of cases) {
  t.test(`one policy at a time: ${c.name}`, async (t) => {
    const names = new Set([...(c.isolated ? ["netfence-isolation"] : []), ...c.policies.map((p) => p.name)]);
    const repairs = [...names].flatMap((name) => {
      const repair = planPolicy({
        namespace: "team-a",
        name,
        policy: c.policies.find((p) => p.name === name),
        isolated: c.isolated,
        allowedIngressNamespaces: ["monitoring"],
      });
      return repair === undefined ? [] : [repair];
    });
    t.same(summary(repairs), c.expected);
  });
}

t.test(
  "one policy at a time: a policy that is gone needs nothing, unless it is the isolated namespace's own",
  async (t) => {
    const gone = (name: string, isolated: boolean) =>
      planPolicy({ namespace: "team-a", name, policy: undefined, isolated, allowedIngressNamespaces: ["monitoring"] });
    t.equal(gone("web", true), undefined);
    t.equal(gone("netfence-isolation", false), undefined);
    t.same(summary([gone("netfence-isolation", true)!]), ["apply netfence-isolation (isolation-policy-missing)"]);
  },
);

t.test(
  "one policy at a time: the same record planned for another list of namespaces gets that list's repair",
  async (t) => {
    const web = record(
      "web",
      { podSelector: {}, ingress: [webRule, monitoringRule("monitoring")] },
      { injected: "monitoring" },
    );
    const plan = (allowedIngressNamespaces: string[]) =>
      summary(
        [
          planPolicy({ namespace: "team-a", name: "web", policy: web, isolated: true, allowedIngressNamespaces }),
        ].flatMap((repair) => (repair === undefined ? [] : [repair])),
      );
    const monitoring = ["monitoring"];
    t.same(plan(monitoring), []);
    t.same(plan(monitoring), [], "asked again");
    t.same(plan(["ingress"]), ["patch web (injection-stale)"]);
    t.same(plan(monitoring), []);
  },
);

t.test("the patches: whole ingress list, annotation set or removed, conditional on the cached version", async (t) => {
  const [inject] = planNamespace({
    namespace: "team-a",
    isolated: true,
    policies: [managedIsolation("monitoring"), record("web", { podSelector: {}, ingress: [webRule] })],
    allowedIngressNamespaces: ["monitoring"],
  });
  t.same(inject, {
    action: "patch",
    namespace: "team-a",
    name: "web",
    reason: "injection-missing",
    patch: {
      metadata: { resourceVersion: "7", annotations: { "netfence.io/injected-ingress-namespaces": "monitoring" } },
      spec: { ingress: [webRule, monitoringRule("monitoring")] },
    },
  });
  const [revert] = planNamespace({
    namespace: "team-a",
    isolated: false,
    policies: [
      record(
        "deny",
        { podSelector: {}, policyTypes: ["Ingress"], ingress: [monitoringRule("monitoring")] },
        { injected: "monitoring" },
      ),
    ],
    allowedIngressNamespaces: ["monitoring"],
  });
  t.same(revert, {
    action: "patch",
    namespace: "team-a",
    name: "deny",
    reason: "injection-reverted",
    patch: {
      metadata: { resourceVersion: "7", annotations: { "netfence.io/injected-ingress-namespaces": null } },
      spec: { ingress: null },
    },
  });
});

t.test("property: turning isolation off deletes only policies labelled managed-by: netfence", async () => {
  const labels = fc.dictionary(
    fc.constantFrom("app.kubernetes.io/managed-by", "app", "owner"),
    fc.constantFrom("netfence", "helm", "Netfence", "netfence ", ""),
    { maxKeys: 3 },
  );
  const policies = fc.array(fc.tuple(fc.constantFrom("netfence-isolation", "web", "db", "deny-all"), labels), {
    maxLength: 6,
  });
  fc.assert(
    fc.property(policies, (list) => {
      const records = list.map(([name, l], i) => ({ ...record(`${name}-${i}`, { podSelector: {} }, { labels: l }) }));
      const deleted = planNamespace({
        namespace: "team-a",
        isolated: false,
        policies: records,
        allowedIngressNamespaces: ["monitoring"],
      }).filter((r) => r.action === "delete");
      const managed = list.flatMap(([name, l], i) =>
        l["app.kubernetes.io/managed-by"] === "netfence" ? [`${name}-${i}`] : [],
      );
      return JSON.stringify(deleted.map((r) => r.name)) === JSON.stringify(managed);
    }),
  );
});

t.test(
  "property: a team policy injected while isolated is, after isolation off, exactly what the team wrote",
  async () => {
    fc.assert(
      fc.property(
        networkPolicyShape,
        fc.subarray(["monitoring", "ingress-nginx", "kube-system"], { minLength: 1 }),
        (written, allowed) => {
          const annotations = { ...written.metadata.annotations };
          delete annotations["netfence.io/injected-ingress-namespaces"];
          const team = { ...written, metadata: { ...written.metadata, annotations } } as any;
          const stored = injectAllowedIngress(team, allowed);
          const [repair] = planNamespace({
            namespace: "team-a",
            isolated: false,
            policies: [
              policyRecord({
                ...stored,
                metadata: { ...stored.metadata, namespace: "team-a", resourceVersion: "1" },
              } as any)!,
            ],
            allowedIngressNamespaces: allowed,
          });
          const reverted =
            repair === undefined ? stored : mergePatch(stored, repair.action === "patch" ? repair.patch : {});
          const withoutVersion = { ...reverted, metadata: { ...reverted.metadata } };
          delete withoutVersion.metadata.resourceVersion;
          // The API server omits empty maps and lists (omitempty), as the merge patch's nulls do.
          const orUndefined = (value: any) =>
            value !== undefined && Object.keys(value).length > 0 ? value : undefined;
          const normal = (p: any) =>
            JSON.stringify({
              ...p,
              metadata: { ...p.metadata, annotations: orUndefined(p.metadata.annotations) },
              spec: { ...p.spec, ingress: orUndefined(p.spec.ingress) },
            });
          return normal(withoutVersion) === normal(team);
        },
      ),
    );
  },
);
