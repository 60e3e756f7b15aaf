// Isolation that heals itself within seconds and undoes itself completely, on the real API server:
// a deleted or edited managed policy is back within 2 s (timed and reported), a policy written before
// isolation gets the injected rule, isolation off leaves the team's policies exactly as applied, and
// a new allowedIngressNamespaces reaches every team policy after a restart. The resync timer is set
// to 5 minutes here, so every repair below is driven by the NetworkPolicy watch, not by the timer.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { parse, stringify } from "yaml";
import { startCluster } from "./start-cluster.ts";

const cluster = await startCluster({ allowedIngressNamespaces: ["monitoring"], extraConfig: { resyncSeconds: 300 } });

const RESTORE_BUDGET_MS = 2000;
const namespace = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, labels },
});
// Manifests without a namespace (given with -n), so that the last-applied annotation is the same everywhere.
const teamPolicy = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name, labels: { team: "b" }, annotations: { owner: "team-b" } },
  spec,
});
const npPath = (ns: string, name: string) => `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies/${name}`;
const INJECTED = "netfence.io/injected-ingress-namespaces";

/** Polls the API server directly (a few ms per probe) until `accept` holds; returns the time it took. */
async function timeUntil(
  what: string,
  path: string,
  accept: (response: { status: number; json: any }) => boolean,
  timeoutMs = 30_000,
): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (accept(await cluster.apiGet(path))) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** The stored object without what every write changes by itself. */
function asStored(object: any) {
  const metadata = { ...object.metadata };
  delete metadata.managedFields;
  delete metadata.resourceVersion;
  delete metadata.generation;
  return JSON.stringify({ ...object, metadata });
}

const metric = async (name: string, labels = "") => {
  const text = String((await cluster.netfenceRequest("/metrics")).json);
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
};

await cluster.kubectlApply([
  namespace("team-a", { "netfence.io/isolation": "enabled" }),
  namespace("team-b"),
  namespace("control"),
  namespace("monitoring"),
]);
await timeUntil("netfence-isolation in team-a", npPath("team-a", "netfence-isolation"), (r) => r.status === 200);

t.test("a deleted netfence-isolation is back within 2 s", async (t) => {
  const times: number[] = [];
  for (let run = 0; run < 3; run++) {
    const deleted = await cluster.kubectl(["delete", "networkpolicy", "netfence-isolation", "-n", "team-a"]);
    t.equal(deleted.code, 0, deleted.stderr);
    times.push(
      await timeUntil(
        "netfence-isolation restored",
        npPath("team-a", "netfence-isolation"),
        (r) => r.status === 200,
        10_000,
      ),
    );
  }
  t.comment(
    `restored after deletion in ${times.map((ms) => `${Math.round(ms)} ms`).join(", ")} (from kubectl delete returning)`,
  );
  for (const ms of times)
    t.ok(ms < RESTORE_BUDGET_MS, `restored in ${Math.round(ms)} ms, under ${RESTORE_BUDGET_MS} ms`);
  const events = await cluster.getJson(["events", "-n", "team-a"]);
  t.equal(
    events.items.filter((e: { reason: string }) => e.reason === "IsolationPolicyRestored").length,
    3,
    "one IsolationPolicyRestored Event per restore",
  );
  t.equal(await metric("netfence_reconcile_repairs_total", '{reason="isolation-policy-deleted"}'), 3);
});

t.test(
  "an edited netfence-isolation is restored: the allowed namespaces by the webhook at once, anything else by the reconciler within 2 s",
  async (t) => {
    // Read straight from the API server, like the probes below (kubectl sorts keys when it prints).
    const before = (await cluster.apiGet(npPath("team-a", "netfence-isolation"))).json;
    // Removing the allowed namespaces' rule: the mutating webhook puts it back in the same write.
    const removed = await cluster.kubectl([
      "patch",
      "networkpolicy",
      "netfence-isolation",
      "-n",
      "team-a",
      "--type=json",
      "-p",
      '[{"op":"remove","path":"/spec/ingress/1"}]',
    ]);
    t.equal(removed.code, 0, removed.stderr);
    t.equal(
      JSON.stringify((await cluster.apiGet(npPath("team-a", "netfence-isolation"))).json.spec),
      JSON.stringify(before.spec),
      "stored with the rule: the webhook injected it again",
    );
    // Narrowing the podSelector (every other pod of the namespace open): only the reconciler can undo it.
    // Timed from before kubectl starts: the repair can be done before kubectl has even exited.
    const started = performance.now();
    const narrowed = await cluster.kubectl([
      "patch",
      "networkpolicy",
      "netfence-isolation",
      "-n",
      "team-a",
      "--type=merge",
      "-p",
      '{"spec":{"podSelector":{"matchLabels":{"app":"only-this"}}}}',
    ]);
    t.equal(narrowed.code, 0, narrowed.stderr);
    await timeUntil(
      "netfence-isolation restored",
      npPath("team-a", "netfence-isolation"),
      (r) => r.status === 200 && JSON.stringify(r.json.spec) === JSON.stringify(before.spec),
      10_000,
    );
    const ms = performance.now() - started;
    t.comment(
      `restored after an edit within ${Math.round(ms)} ms of starting kubectl patch (kubectl's own run included)`,
    );
    t.ok(ms < RESTORE_BUDGET_MS, `restored in ${Math.round(ms)} ms, under ${RESTORE_BUDGET_MS} ms`);
    t.equal(
      await metric("netfence_reconcile_repairs_total", '{reason="isolation-policy-edited"}'),
      1,
      "the reconciler repaired it",
    );
    const events = await cluster.getJson(["events", "-n", "team-a"]);
    t.ok(
      events.items.some(
        (e: { reason: string; message: string }) =>
          e.reason === "IsolationPolicyRestored" && /had been changed/.test(e.message),
      ),
      "an Event says it was changed and restored",
    );
  },
);

t.test("isolation on and off: team policies get the rule, then are exactly as the team applied them", async (t) => {
  const before = teamPolicy("written-before", {
    podSelector: { matchLabels: { app: "web" } },
    ingress: [{ from: [{ podSelector: { matchLabels: { app: "api" } } }], ports: [{ port: 8080 }] }],
  });
  const during = teamPolicy("written-during", {
    podSelector: {},
    policyTypes: ["Ingress", "Egress"],
    egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/8" } }] }],
  });
  t.equal((await cluster.kubectlApply([before], ["-n", "team-b"])).code, 0);
  const applied = await cluster.getJson(["networkpolicy", "written-before", "-n", "team-b"]);

  t.equal((await cluster.kubectl(["label", "namespace", "team-b", "netfence.io/isolation=enabled"])).code, 0);
  const injectMs = await timeUntil(
    "the rule injected into the policy written before isolation",
    npPath("team-b", "written-before"),
    (r) => r.json.metadata?.annotations?.[INJECTED] === "monitoring",
  );
  t.comment(`a policy written before isolation got the injected rule ${Math.round(injectMs)} ms after the label`);
  const injected = await cluster.getJson(["networkpolicy", "written-before", "-n", "team-b"]);
  t.same(injected.spec.ingress.at(-1), {
    from: [
      {
        namespaceSelector: {
          matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["monitoring"] }],
        },
      },
    ],
  });

  const result = await cluster.kubectlApply([during], ["-n", "team-b"]);
  t.equal(result.code, 0, result.stderr);
  t.equal(
    (await cluster.getJson(["networkpolicy", "written-during", "-n", "team-b"])).metadata.annotations[INJECTED],
    "monitoring",
    "the webhook injected on write",
  );
  // The same manifest in a namespace that was never isolated: what the team's policy looks like untouched.
  t.equal((await cluster.kubectlApply([during], ["-n", "control"])).code, 0);
  const untouched = await cluster.getJson(["networkpolicy", "written-during", "-n", "control"]);

  t.equal((await cluster.kubectl(["label", "namespace", "team-b", "netfence.io/isolation-"])).code, 0);
  await timeUntil("the managed policy deleted", npPath("team-b", "netfence-isolation"), (r) => r.status === 404);
  await timeUntil(
    "written-before reverted",
    npPath("team-b", "written-before"),
    (r) => r.json.metadata?.annotations?.[INJECTED] === undefined,
  );
  await timeUntil(
    "written-during reverted",
    npPath("team-b", "written-during"),
    (r) => r.json.metadata?.annotations?.[INJECTED] === undefined,
  );

  const reverted = await cluster.getJson(["networkpolicy", "written-before", "-n", "team-b"]);
  t.equal(
    asStored(reverted),
    asStored(applied),
    "written-before: byte-for-byte the object as applied (managedFields, resourceVersion and generation aside)",
  );
  const revertedDuring = await cluster.getJson(["networkpolicy", "written-during", "-n", "team-b"]);
  t.equal(
    JSON.stringify(revertedDuring.spec),
    JSON.stringify(untouched.spec),
    "written-during: the spec byte-for-byte as applied where no isolation ever was",
  );
  // kubectl writes the namespace into its last-applied annotation: the one difference the two copies may have.
  const inTeamB = JSON.stringify(untouched.metadata.annotations).replace(
    '\\"namespace\\":\\"control\\"',
    '\\"namespace\\":\\"team-b\\"',
  );
  t.equal(
    JSON.stringify(revertedDuring.metadata.annotations),
    inTeamB,
    "and the annotations (the last-applied manifest included)",
  );
  t.equal(JSON.stringify(revertedDuring.metadata.labels), JSON.stringify(untouched.metadata.labels));
  const reasons = (await cluster.getJson(["events", "-n", "team-b"])).items.map(
    (e: { reason: string; involvedObject: { name: string } }) => `${e.reason} ${e.involvedObject.name}`,
  );
  for (const expected of [
    "InjectedRuleAdded written-before",
    "InjectedRuleRemoved written-before",
    "InjectedRuleRemoved written-during",
    "IsolationPolicyDeleted netfence-isolation",
  ])
    t.ok(reasons.includes(expected), `Event ${expected}`);
});

t.test(
  "allowedIngressNamespaces changed and netfence restarted: every team policy of every isolated namespace carries the new list",
  async (t) => {
    await cluster.kubectlApply([namespace("team-c", { "netfence.io/isolation": "enabled" })]);
    const names = ["p1", "p2", "p3", "p4", "p5"];
    for (const name of names)
      t.equal(
        (
          await cluster.kubectlApply(
            [
              teamPolicy(name, {
                podSelector: { matchLabels: { app: name } },
                ingress: [{ from: [{ podSelector: {} }] }],
              }),
            ],
            ["-n", "team-c"],
          )
        ).code,
        0,
      );
    await cluster.kubectlApply([teamPolicy("web", { podSelector: {}, ingress: [] })], ["-n", "team-a"]);
    await cluster.stopNetfence();
    const configFile = join(cluster.dir, "netfence.yaml");
    const config = parse(readFileSync(configFile, "utf8"));
    writeFileSync(configFile, stringify({ ...config, allowedIngressNamespaces: ["monitoring", "ingress-nginx"] }));
    await cluster.startNetfence();
    const ready = performance.now();
    const expected = "ingress-nginx,monitoring";
    const isolated = [
      ...names.map((name) => ["team-c", name]),
      ["team-a", "web"],
      ["team-a", "netfence-isolation"],
      ["team-c", "netfence-isolation"],
    ];
    for (const [ns, name] of isolated)
      await timeUntil(
        `${ns}/${name} re-injected`,
        npPath(ns!, name!),
        (r) => r.json.metadata?.annotations?.[INJECTED] === expected,
        20_000,
      );
    const ms = performance.now() - ready;
    t.comment(`${isolated.length} policies carry the new list ${Math.round(ms)} ms after netfence was ready`);
    for (const [ns, name] of isolated) {
      const stored = await cluster.getJson(["networkpolicy", name!, "-n", ns!]);
      const rules = stored.spec.ingress.filter(
        (rule: any) => rule.from?.[0]?.namespaceSelector?.matchExpressions?.[0]?.key === "kubernetes.io/metadata.name",
      );
      t.same(
        rules,
        [
          {
            from: [
              {
                namespaceSelector: {
                  matchExpressions: [
                    { key: "kubernetes.io/metadata.name", operator: "In", values: ["ingress-nginx", "monitoring"] },
                  ],
                },
              },
            ],
          },
        ],
        `${ns}/${name}: one injected rule, with the new list`,
      );
    }
    const team = (await cluster.getJson(["networkpolicy", "-n", "team-b"])).items.map(
      (p: any) => p.metadata.annotations?.[INJECTED],
    );
    t.same(team, [undefined, undefined], "policies of the namespace that is no longer isolated are left alone");
    await cluster.eventually(
      "nothing pending",
      () => metric("netfence_reconcile_pending"),
      (v) => v === 0,
    );
    t.equal(
      await metric("netfence_reconcile_repairs_total", '{reason="injection-stale"}'),
      names.length + 1,
      "one repair per team policy",
    );
    const updated = (await cluster.getJson(["events", "-n", "team-c"])).items.filter(
      (e: { reason: string }) => e.reason === "InjectedRuleUpdated",
    );
    t.equal(updated.length, names.length, "an InjectedRuleUpdated Event per policy of team-c");
  },
);
