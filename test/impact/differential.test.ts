// The impact check walks only the pairs a change can touch; the connectivity engine's diff compares
// the whole cluster before and after. On random clusters and random changes, both name the same
// flows (pod pairs; each changed pair with its ports) as removed and added.
import assert from "node:assert/strict";
import fc from "fast-check";
import t from "tap";
import { clusterFromObjects, diff, type FlowChange } from "../../src/connectivity/index.ts";
import { changedFlows } from "../../src/impact/impact.ts";
import { namespaces, pods, policies } from "../connectivity/arbitraries.ts";
import { namespace, pod, policy } from "../connectivity/objects.ts";
import { impactCluster, policyInput } from "./objects.ts";

const podPairs = (
  entries: readonly {
    from: { members: readonly { namespace: string; name: string }[] };
    to: { members: readonly { namespace: string; name: string }[] };
    ports: unknown;
  }[],
) =>
  entries
    .flatMap(({ from, to, ports }) =>
      from.members.flatMap((f) =>
        to.members.flatMap((d) =>
          f === d ? [] : [`${f.namespace}/${f.name} -> ${d.namespace}/${d.name} ${JSON.stringify(ports)}`],
        ),
      ),
    )
    .sort();

const engineNormalised = (ports: FlowChange["ports"]) => {
  const set = { TCP: [] as [number, number][], UDP: [] as [number, number][], SCTP: [] as [number, number][] };
  for (const entry of ports) set[entry.protocol].push([entry.port, entry.endPort]);
  return set;
};
const enginePairs = (changes: readonly FlowChange[]) =>
  changes
    .filter((c) => typeof c.from === "string" && typeof c.to === "string")
    .map((c) => `${c.from} -> ${c.to} ${JSON.stringify(engineNormalised(c.ports))}`)
    .sort();
const engineExternal = (changes: readonly FlowChange[]) =>
  [
    ...new Set(
      changes.flatMap((c) =>
        typeof c.from === "string" && typeof c.to === "string"
          ? []
          : [typeof c.from === "string" ? c.from : (c.to as string)],
      ),
    ),
  ].sort();

/** The impact check's flows for one change, against the engine's diff of the whole cluster before and after; true when the change changes something. */
function assertSameFlows(
  fixed: readonly any[],
  stateBefore: readonly any[],
  stateAfter: readonly any[],
  change: { namespace: string; before: readonly any[]; after: readonly any[] },
): boolean {
  const engine = diff(clusterFromObjects([...fixed, ...stateBefore]), clusterFromObjects([...fixed, ...stateAfter]));
  const mine = changedFlows(impactCluster([...fixed, ...stateBefore]), {
    namespace: change.namespace,
    before: change.before.map(policyInput),
    after: change.after.map(policyInput),
  });
  // Thrown, not t.same: fast-check then shrinks a failure to its smallest cluster and prints the seed.
  assert.deepStrictEqual(podPairs(mine.removed), enginePairs(engine.removed), "removed");
  assert.deepStrictEqual(podPairs(mine.added), enginePairs(engine.added), "added");
  const external = (units: typeof mine.externalRemoved) =>
    [...new Set(units.flatMap((u) => u.members.map((m) => `${m.namespace}/${m.name}`)))].sort();
  assert.deepStrictEqual(external(mine.externalRemoved), engineExternal(engine.removed), "external removed");
  assert.deepStrictEqual(external(mine.externalAdded), engineExternal(engine.added), "external added");
  return engine.removed.length + engine.added.length > 0;
}

t.test(
  "namespaces whose policies differ only in their namespaceSelectors are told apart (a change elsewhere groups them by what their policies say)",
  async (t) => {
    const fixed = [
      namespace("team-a", { team: "a" }),
      namespace("team-b", { team: "b" }),
      namespace("team-c", { team: "c" }),
      pod("team-a", "api", { labels: { app: "api" }, ip: "10.244.1.1" }),
      pod("team-b", "api", { labels: { app: "api" }, ip: "10.244.2.1" }),
      pod("team-c", "client", { labels: { app: "client" }, ip: "10.244.3.1" }),
      policy("team-a", "from-c", { ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "c" } } }] }] }),
      policy("team-b", "from-x", { ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "x" } } }] }] }),
    ];
    const egressDeny = policy("team-c", "egress-deny", { policyTypes: ["Egress"] });
    t.ok(assertSameFlows(fixed, [], [egressDeny], { namespace: "team-c", before: [], after: [egressDeny] }));
    const flows = changedFlows(impactCluster(fixed), {
      namespace: "team-c",
      before: [],
      after: [policyInput(egressDeny)],
    });
    t.same(podPairs(flows.removed), [
      'team-c/client -> team-a/api {"TCP":[[1,65535]],"UDP":[[1,65535]],"SCTP":[[1,65535]]}',
    ]);
  },
);

t.test(
  "a namespace the changed policy's namespaceSelector reaches is not grouped with one it does not reach",
  async (t) => {
    const fixed = [
      namespace("team-a", { team: "a" }),
      namespace("team-b", { team: "b" }),
      namespace("team-c", { team: "c" }),
      pod("team-a", "web", { labels: { app: "web" }, ip: "10.244.1.1" }),
      pod("team-b", "web", { labels: { app: "web" }, ip: "10.244.2.1" }),
      pod("team-c", "api", { labels: { app: "api" }, ip: "10.244.3.1" }),
    ];
    const fromA = policy("team-c", "from-a", {
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "a" } } }] }],
    });
    t.ok(assertSameFlows(fixed, [], [fromA], { namespace: "team-c", before: [], after: [fromA] }));
    const flows = changedFlows(impactCluster(fixed), { namespace: "team-c", before: [], after: [policyInput(fromA)] });
    t.same(podPairs(flows.removed), [
      'team-b/web -> team-c/api {"TCP":[[1,65535]],"UDP":[[1,65535]],"SCTP":[[1,65535]]}',
    ]);
  },
);

t.test("creating, changing or deleting one policy: the same flows as the engine's whole-cluster diff", async (t) => {
  let nonEmpty = 0;
  fc.assert(
    fc.property(namespaces, pods, policies, policies, fc.nat(), (nss, podList, current, candidates, pick) => {
      if (candidates.length === 0) return;
      const changed = candidates[pick % candidates.length]!;
      const target = {
        ...changed,
        metadata: {
          ...changed.metadata,
          name: current.find((p) => p.metadata.namespace === changed.metadata.namespace)?.metadata.name ?? "new",
        },
      };
      const existing = current.find(
        (p) => p.metadata.namespace === target.metadata.namespace && p.metadata.name === target.metadata.name,
      );
      const others = current.filter((p) => p !== existing);
      const variants = [
        // create or update to `target`
        { before: existing ? [existing] : [], after: [target], stateBefore: current, stateAfter: [...others, target] },
        // delete `existing`
        ...(existing ? [{ before: [existing], after: [], stateBefore: current, stateAfter: others }] : []),
      ];
      for (const variant of variants) {
        const changed = assertSameFlows([...nss, ...podList], variant.stateBefore, variant.stateAfter, {
          namespace: target.metadata.namespace,
          before: variant.before,
          after: variant.after,
        });
        if (changed) nonEmpty++;
      }
    }),
    { numRuns: Number(process.env.NETFENCE_PROPERTY_RUNS ?? 300) },
  );
  t.ok(nonEmpty > 50, `changes that change something: ${nonEmpty}`);
});
