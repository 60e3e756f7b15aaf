// What a NetworkPolicy change (or switching isolation on) does to the traffic between the workloads
// running now: the flows it cuts off and the flows it opens. Pure: it reads the cluster it is given.
//
// The connectivity engine's diff (diffEngines) compares two whole-cluster matrices, which costs the
// square of the number of workload classes: tens of milliseconds at 5,000 pods, too much for an
// admission request. A change in namespace N only changes flows with an end selected by a changed
// policy (the subjects), so this walks only the pairs (any workload, subject) and (subject, any
// workload), with the engine's own evaluation (compilePolicies, sidePorts, combineSides): the same
// semantics, and a differential test holds it equal to diffEngines on random clusters.
import {
  EVERY_ADDRESS,
  externalRelation,
  subtractExternal,
  type ExternalPiece,
  type ExternalRelation,
} from "../connectivity/addresses.ts";
import { compilePolicies, type CompiledPolicies, type PeerMatcher, type Target } from "../connectivity/compile.ts";
import {
  combineSides,
  peerMatches,
  resolveWorkload,
  rulePorts,
  selects,
  sidePorts,
  type ResolvedWorkload,
  type SidePorts,
} from "../connectivity/evaluate.ts";
import type { NamespaceInfo, PolicyInput } from "../connectivity/model.ts";
import {
  ALL_PORTS,
  describePorts,
  hasPort,
  isEmptyPorts,
  portEntries,
  subtractPorts,
  unionPorts,
  type PortSet,
} from "../connectivity/ports.ts";
import { NAMESPACE_NAME_LABEL } from "../names.ts";
import type { Deadline } from "./deadline.ts";
import { ownerName, ownerOf, withoutKind, type ImpactCluster, type PodRecord, type PolicyChange } from "./model.ts";

export interface ExampleFlow {
  from: string;
  to: string;
  /** `TCP/8080`, `UDP/53`, `TCP/80-90`, `all ports` */
  ports: string;
}

export interface FlowSummary {
  /** Flows whose verdict changes, between owners (replicas of one owner count once). */
  flows: number;
  /** The most telling first: from an allowedIngressNamespace, across namespaces, on a port the destination declares. */
  examples: ExampleFlow[];
  /** Of those, flows from an allowedIngressNamespace (monitoring, ingress). */
  fromAllowedNamespaces: number;
  /** Owners in the namespace whose traffic with addresses outside the cluster changes (summarised, not enumerated). */
  external: number;
  externalExample: string | undefined;
}

export interface Impact {
  /** Allowed now, denied after the change. */
  cutOff: FlowSummary;
  /** Denied now, allowed after the change. */
  opened: FlowSummary;
}

export interface ImpactOptions {
  allowedIngressNamespaces: readonly string[];
  /** How many examples each summary keeps (default 1). */
  examples?: number;
  deadline?: Deadline;
}

/** Pods that every policy sees alike, for the flows of this change: one shape, and the same answer to every relevant ipBlock. */
interface Unit {
  namespace: string;
  representative: ResolvedWorkload;
  members: readonly PodRecord[];
  subject: boolean;
  before: Sides;
  after: Sides;
  /** Its own policies and named ports, as keys (prepared shapes carry them). */
  look?: Look | undefined;
  /** A group's units, when it was merged from several: their owners are counted once per unit and kept. */
  parts?: Unit[];
}

interface Sides {
  ingress: readonly Target[];
  egress: readonly Target[];
}

export interface FlowChangeBetween {
  from: Unit;
  to: Unit;
  ports: PortSet;
}

export interface ChangedFlows {
  removed: FlowChangeBetween[];
  added: FlowChangeBetween[];
  /** Subject units whose traffic with outside the cluster changes. */
  externalRemoved: Unit[];
  externalAdded: Unit[];
}

const compiledPolicies = new WeakMap<PolicyInput, CompiledPolicies>();

function compiled(input: PolicyInput): CompiledPolicies {
  let result = compiledPolicies.get(input);
  if (result === undefined) compiledPolicies.set(input, (result = compilePolicies([input])));
  return result;
}

function targetsOf(policies: readonly PolicyInput[]): Sides {
  const ingress: Target[] = [];
  const egress: Target[] = [];
  for (const policy of policies) {
    const { ingress: i, egress: e } = compiled(policy);
    ingress.push(...i);
    egress.push(...e);
  }
  return { ingress, egress };
}

function selecting(sides: Sides, workload: ResolvedWorkload): Sides {
  return {
    ingress: sides.ingress.filter((t) => selects(t, workload.workload)),
    egress: sides.egress.filter((t) => selects(t, workload.workload)),
  };
}

/** The sides with only the targets `keep` accepts; the same object when it accepts them all. */
function keeping(sides: Sides, keep: (target: Target) => boolean): Sides {
  if (sides.ingress.every(keep) && sides.egress.every(keep)) return sides;
  return { ingress: sides.ingress.filter(keep), egress: sides.egress.filter(keep) };
}

/** The targets of `first`, then those of `then`. */
function joined(first: Sides, then: Sides): Sides {
  if (then.ingress.length === 0 && then.egress.length === 0) return first;
  return { ingress: [...first.ingress, ...then.ingress], egress: [...first.egress, ...then.egress] };
}

const resolvedPods = new WeakMap<PodRecord, { namespace: NamespaceInfo; resolved: ResolvedWorkload }>();

function resolve(pod: PodRecord, namespace: NamespaceInfo): ResolvedWorkload {
  const memo = resolvedPods.get(pod);
  if (memo !== undefined && memo.namespace === namespace) return memo.resolved;
  const resolved = resolveWorkload(
    {
      id: `${pod.namespace}/${pod.name}`,
      namespace: pod.namespace,
      labels: pod.labels,
      ips: pod.ips,
      namedPorts: pod.namedPorts,
    },
    namespace,
  );
  resolvedPods.set(pod, { namespace, resolved });
  return resolved;
}

function ipBlocksOf(targets: Iterable<Target>, into: Map<string, PeerMatcher>) {
  for (const target of targets)
    for (const rule of target.rules)
      for (const peer of rule.peers) if (peer.kind === "ipBlock") into.set(peer.key, peer);
}

/** Members split by their answers to the ipBlocks (pods match ipBlocks by their IPs). */
function splitByAddresses(
  members: readonly PodRecord[],
  blocks: readonly PeerMatcher[],
  namespace: NamespaceInfo,
): { representative: ResolvedWorkload; members: PodRecord[] }[] {
  if (blocks.length === 0) return [{ representative: resolve(members[0]!, namespace), members: [...members] }];
  const groups = new Map<string, { representative: ResolvedWorkload; members: PodRecord[] }>();
  for (const member of members) {
    const resolved = resolve(member, namespace);
    const key = blocks.map((block) => peerMatches(block, resolved)).join("");
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { representative: resolved, members: [member] });
    else group.members.push(member);
  }
  return [...groups.values()];
}

const sameTargets = (a: readonly Target[], b: readonly Target[]) =>
  a.length === b.length && a.every((t, i) => t === b[i]);

interface PortChanges {
  removed: PortSet;
  added: PortSet;
}

/** The ports a side change takes away and gives, as diffEngines counts them ("unknown" is neither). */
function portChanges(before: SidePorts, after: SidePorts): PortChanges {
  return {
    removed: subtractPorts(before.allowed, unionPorts(after.allowed, after.unknown)),
    added: subtractPorts(after.allowed, unionPorts(before.allowed, before.unknown)),
  };
}

/** What addresses outside the cluster a workload may reach (egress) or be reached from (ingress), as the engine's matrix computes it. */
function externalOf(
  targets: readonly Target[],
  direction: "ingress" | "egress",
  subject: ResolvedWorkload,
): ExternalRelation {
  if (targets.length === 0) return externalRelation([{ addresses: EVERY_ADDRESS, ports: ALL_PORTS }]);
  const pieces: ExternalPiece[] = [];
  for (const target of targets) {
    for (const rule of target.rules) {
      // Towards an address outside the cluster a named port resolves to nothing.
      const ports = direction === "ingress" ? rulePorts(rule, subject) : rule.fixedPorts;
      for (const peer of rule.peers) {
        if (peer.kind === "any") pieces.push({ addresses: EVERY_ADDRESS, ports });
        else if (peer.kind === "ipBlock") pieces.push({ addresses: peer.addresses, ports });
      }
    }
  }
  return externalRelation(pieces);
}

const CHECK_EVERY = 128;

const targetNumbers = new WeakMap<Target, number>();
let nextTargetNumber = 0;

/** The identity of a list of targets, as a short key. */
function targetIds(targets: readonly Target[]): string {
  let key = "";
  for (const target of targets) {
    let id = targetNumbers.get(target);
    if (id === undefined) targetNumbers.set(target, (id = nextTargetNumber++));
    key += `${id},`;
  }
  return key;
}

const sameAnswerKeys = new WeakMap<PeerMatcher, string>();

/**
 * The peers of these targets, one of each content: policies written from one template (thousands
 * of them in a namespace, each allowing the same clients) ask every workload the same question,
 * and a workload's answers are asked once per unit of a request.
 */
function peersOf(targets: readonly Target[]): PeerMatcher[] {
  const peers = new Map<string, PeerMatcher>();
  for (const target of targets)
    for (const rule of target.rules)
      for (const peer of rule.peers) {
        let key = sameAnswerKeys.get(peer);
        if (key === undefined) {
          // A peer of the policy's own namespace answers for that namespace only.
          const own = peer.kind === "pods" && peer.namespaces.kind === "policy-namespace" ? peer.namespaces.name : "";
          sameAnswerKeys.set(peer, (key = `${own}|${peerKey(peer)}`));
        }
        if (!peers.has(key)) peers.set(key, peer);
      }
  return [...peers.values()];
}

/** How a workload looks to these peers: everything a side's verdict reads of the other end. */
function answers(peers: readonly PeerMatcher[], workload: ResolvedWorkload): string {
  let key = "";
  for (const peer of peers) key += peerMatches(peer, workload)[0];
  return key;
}

function namedPortsKey(workload: ResolvedWorkload): string {
  return workload.workload.namedPorts.map((p) => `${p.name}/${p.protocol}/${p.port}`).join(",");
}

/** A shape outside the changed namespace, as every change sees it; kept until its pods, namespace or policies change. */
interface PreparedShape {
  namespace: NamespaceInfo;
  policies: readonly PolicyInput[];
  representative: ResolvedWorkload;
  sides: Sides;
  ipBlocks: [string, PeerMatcher][];
  look: Look;
  /** The shape as one unit, for the changes whose rules hold no ipBlock (no address tells its pods apart). */
  unit: Unit;
}

/** What the other end's own side reads of it: its egress policies (for flows into the subjects), its ingress policies and named ports (for flows out of them). */
interface Look {
  egress: string;
  ingress: string;
}

const preparedShapes = new WeakMap<readonly PodRecord[], PreparedShape>();

function lookOf(sides: Sides, workload: ResolvedWorkload): Look {
  return { egress: targetIds(sides.egress), ingress: `${targetIds(sides.ingress)}|${namedPortsKey(workload)}` };
}

function peerKey(peer: PeerMatcher): string {
  switch (peer.kind) {
    case "any":
      return "*";
    case "ipBlock":
      return `b${peer.key}`;
    case "pods":
      return `p${JSON.stringify(peer.source)}`;
  }
}

const farKeys = new WeakMap<Target, string>();

/**
 * A target as the workloads of other namespaces meet it, by content rather than identity: peers of
 * its own namespace (a podSelector without namespaceSelector) never match them and are left out,
 * the rest are named by what they say. Namespaces with policies written from one template (a
 * default-deny, an allow from the team's namespaces) then look alike to a change elsewhere, so the
 * pair walk visits a handful of looks instead of one per namespace.
 */
function farKey(target: Target): string {
  let key = farKeys.get(target);
  if (key === undefined) {
    const rules = target.rules.flatMap((rule) => {
      const peers = rule.peers.flatMap((peer) =>
        peer.kind === "pods" && peer.namespaces.kind === "policy-namespace" ? [] : [peerKey(peer)],
      );
      return peers.length === 0
        ? []
        : [`${peers.join(";")}@${JSON.stringify(rule.fixedPorts)}${JSON.stringify(rule.namedPorts)}`];
    });
    farKeys.set(target, (key = `[${rules.join("|")}]`));
  }
  return key;
}

/** The look of a shape to changes in any other namespace (whose subjects its own-namespace peers never select). */
function farLookOf(sides: Sides, workload: ResolvedWorkload): Look {
  return {
    egress: `far${sides.egress.map(farKey).join("")}`,
    ingress: `far${sides.ingress.map(farKey).join("")}|${namedPortsKey(workload)}`,
  };
}

/** A namespace's policies for one preparation of the cluster, and what changed since the previous one. */
interface NamespacePolicies {
  list: readonly PolicyInput[];
  /** Their targets, gathered once for all the namespace's shapes that need preparing again. */
  targets(): Sides;
  /** The list the previous preparation had. */
  previous: readonly PolicyInput[] | undefined;
  /** From the previous list's targets to this one's, when the policies it keeps come first, in their order. */
  delta(): PolicyDelta | undefined;
}

interface PolicyDelta {
  removed: ReadonlySet<Target>;
  added: Sides;
}

/**
 * What turns the targets of `before` into those of `after` (in the order targetsOf gives them): the
 * targets of the policies that are gone, and those of the policies added at the end. Undefined when
 * a policy was added elsewhere (the cache keeps an edited policy in its place), or the order changed.
 */
function policyDelta(before: readonly PolicyInput[], after: readonly PolicyInput[]): PolicyDelta | undefined {
  const kept = new Set(after);
  const removed = new Set<Target>();
  let next = 0;
  for (const policy of before) {
    if (!kept.has(policy)) {
      const { ingress, egress } = compiled(policy);
      for (const target of [...ingress, ...egress]) removed.add(target);
    } else if (after[next++] !== policy) return undefined;
  }
  return { removed, added: targetsOf(after.slice(next)) };
}

function prepare(members: readonly PodRecord[], namespace: NamespaceInfo, own: NamespacePolicies): PreparedShape {
  const policies = own.list;
  const memo = preparedShapes.get(members);
  if (
    memo !== undefined &&
    memo.namespace === namespace &&
    memo.policies.length === policies.length &&
    memo.policies.every((p, i) => p === policies[i])
  )
    return memo;
  const representative = resolve(members[0]!, namespace);
  // A shape prepared from the previous list changes by the policies added and removed since: a
  // CREATE among thousands of policies asks the new one about the shape, not all of them.
  const delta =
    memo !== undefined && memo.namespace === namespace && memo.policies === own.previous ? own.delta() : undefined;
  const sides =
    memo !== undefined && delta !== undefined
      ? joined(
          delta.removed.size === 0 ? memo.sides : keeping(memo.sides, (t) => !delta.removed.has(t)),
          selecting(delta.added, representative),
        )
      : selecting(own.targets(), representative);
  const blocks = new Map<string, PeerMatcher>();
  ipBlocksOf([...sides.ingress, ...sides.egress], blocks);
  const look = farLookOf(sides, representative);
  const prepared = {
    namespace,
    policies,
    representative,
    sides,
    ipBlocks: [...blocks],
    look,
    unit: {
      namespace: namespace.name,
      representative,
      members,
      subject: false,
      before: sides,
      after: sides,
      look,
    },
  };
  preparedShapes.set(members, prepared);
  return prepared;
}

/** Every namespace's shapes prepared, for one generation of the cluster: what no change needs to redo. */
interface PreparedCluster {
  generation: number;
  /** How many distinct looks (plus one) the shapes have: numbers below it name a look. */
  looks: number;
  /** The same, as a list (walked on every request: no iterator entries to allocate). */
  list: PreparedNamespace[];
  /** The namespaces whose own policies have ipBlocks (few: most policies select pods). */
  withIpBlocks: PreparedNamespace[];
  namespaces: Map<string, PreparedNamespace>;
}

interface PreparedNamespace {
  name: string;
  info: NamespaceInfo;
  /** Its policies, as this preparation read them. */
  policies: readonly PolicyInput[];
  shapes: PreparedShape[];
  /** The ipBlocks of the namespace's own policies that select its pods. */
  ipBlocks: Map<string, PeerMatcher>;
  /** Each shape's look as a number, the same for every shape of the cluster with the same look. */
  lookIds: { egress: number; ingress: number }[];
  /** Its owners' `namespace/name` that owners of two kinds hold, once a warning names one of its owners. */
  sharedOwnerNames?: ReadonlySet<string>;
}

/** The names a Deployment and a StatefulSet (or a bare pod) of the namespace share: warnings name those owners with their kind. */
function sharedOwnerNames(namespace: PreparedNamespace): ReadonlySet<string> {
  if (namespace.sharedOwnerNames === undefined) {
    const ownerByName = new Map<string, string>();
    const shared = new Set<string>();
    for (const shape of namespace.shapes) {
      for (const owner of ownersIn(shape.unit).keys()) {
        const name = withoutKind(owner);
        const seen = ownerByName.get(name);
        if (seen === undefined) ownerByName.set(name, owner);
        else if (seen !== owner) shared.add(name);
      }
    }
    namespace.sharedOwnerNames = shared;
  }
  return namespace.sharedOwnerNames;
}

const preparedClusters = new WeakMap<ImpactCluster, PreparedCluster>();

function preparedCluster(cluster: ImpactCluster, deadline: Deadline | undefined): PreparedCluster {
  const memo = preparedClusters.get(cluster);
  if (memo !== undefined && memo.generation === cluster.generation) return memo;
  const generation = cluster.generation;
  const namespaces = new Map<string, PreparedNamespace>();
  const policies = new Map<string, NamespacePolicies>();
  const lookIds = new Map<string, number>();
  const idOf = (look: string) => {
    let id = lookIds.get(look);
    if (id === undefined) lookIds.set(look, (id = lookIds.size));
    return id;
  };
  let count = 0;
  for (const members of cluster.shapes()) {
    if (++count % CHECK_EVERY === 0) deadline?.check();
    const name = members[0]!.namespace;
    let namespace = namespaces.get(name);
    if (namespace === undefined) {
      const info = cluster.namespaces.get(name) ?? { name, labels: { [NAMESPACE_NAME_LABEL]: name } };
      const list = cluster.policiesIn(name);
      namespaces.set(name, (namespace = { name, info, policies: list, shapes: [], ipBlocks: new Map(), lookIds: [] }));
      const previous = memo?.namespaces.get(name)?.policies;
      let targets: Sides | undefined;
      let delta: PolicyDelta | undefined | null = null;
      policies.set(name, {
        list,
        previous,
        targets: () => (targets ??= targetsOf(list)),
        delta: () => (delta === null ? (delta = previous && policyDelta(previous, list)) : delta),
      });
    }
    const prepared = prepare(members, namespace.info, policies.get(name)!);
    namespace.shapes.push(prepared);
    namespace.lookIds.push({ egress: idOf(prepared.look.egress), ingress: idOf(prepared.look.ingress) });
    for (const [key, block] of prepared.ipBlocks) namespace.ipBlocks.set(key, block);
  }
  const list = [...namespaces.values()];
  const withIpBlocks = list.filter((namespace) => namespace.ipBlocks.size > 0);
  const result = { generation, namespaces, looks: lookIds.size + 1, list, withIpBlocks };
  preparedClusters.set(cluster, result);
  return result;
}

/** Prepared units of other namespaces that look alike to a change: the walk and the summary read their owners from the parts, so the pods are listed only when asked. */
class FarGroup implements Unit {
  readonly namespace: string;
  readonly representative: ResolvedWorkload;
  readonly subject = false;
  readonly before: Sides;
  readonly after: Sides;
  readonly look: Look | undefined;
  readonly parts: Unit[];

  constructor(first: Unit) {
    this.namespace = first.namespace;
    this.representative = first.representative;
    this.before = first.before;
    this.after = first.after;
    this.look = first.look;
    this.parts = [first];
  }

  get members(): readonly PodRecord[] {
    return this.parts.flatMap((part) => part.members);
  }
}

/** The flows whose verdict the change turns, between units of pods. */
export function changedFlows(
  cluster: ImpactCluster,
  change: PolicyChange,
  options: { deadline?: Deadline | undefined; allowedIngressNamespaces?: readonly string[] } = {},
): ChangedFlows {
  const { deadline } = options;
  const out: ChangedFlows = { removed: [], added: [], externalRemoved: [], externalAdded: [] };
  const changedTargets = targetsOf([...change.before, ...change.after]);
  if (changedTargets.ingress.length === 0 && changedTargets.egress.length === 0) return out;
  const replaced = new Set([...change.before, ...change.after].map((p) => p.name));
  const unchanged = cluster.policiesIn(change.namespace).filter((p) => !replaced.has(p.name));
  // Every target of the namespace, before or after the change, each once.
  const unchangedTargets = targetsOf(unchanged);
  const namespaceTargets = [
    ...unchangedTargets.ingress,
    ...unchangedTargets.egress,
    ...changedTargets.ingress,
    ...changedTargets.egress,
  ];
  const prepared = preparedCluster(cluster, deadline);

  // The changed namespace's shapes, then split by the ipBlocks that can tell their members apart:
  // the subjects' rules look at every other pod's IPs; every other pod's rules look at the subjects' IPs.
  const seenBySubjects = new Map<string, PeerMatcher>();
  const seenByOthers = new Map<string, PeerMatcher>();
  ipBlocksOf(namespaceTargets, seenBySubjects);
  for (const namespace of prepared.withIpBlocks)
    if (namespace.name !== change.namespace)
      for (const [key, block] of namespace.ipBlocks) seenByOthers.set(key, block);
  const othersBlocks = [...seenBySubjects.values()];
  const subjectBlocks = [...new Map([...seenBySubjects, ...seenByOthers]).values()];
  const allowed = new Set(options.allowedIngressNamespaces ?? []);
  const namespacePeers = peersOf(namespaceTargets);
  const subjects: Unit[] = [];
  const grouped: Unit[] = [];
  let count = 0;
  const own = prepared.namespaces.get(change.namespace);
  const ownUnits: Unit[] = [];
  // A shape's sides before and after are what it was prepared with, less the replaced policies,
  // plus the changed ones that select it (in the order of targetsOf): the work is the change's, not
  // the namespace's thousands of policies' (every request in a namespace would otherwise ask each of
  // its policies about each of its shapes).
  const replacedPolicies = new Set([...replaced].map((name) => `${change.namespace}/${name}`));
  const changedBefore = targetsOf(change.before);
  const changedAfter = targetsOf(change.after);
  for (const {
    unit: { members },
    namespace,
    sides,
  } of own?.shapes ?? []) {
    const representative = resolve(members[0]!, namespace);
    const subject =
      changedTargets.ingress.some((t) => selects(t, representative.workload)) ||
      changedTargets.egress.some((t) => selects(t, representative.workload));
    const kept = keeping(sides, (t) => !replacedPolicies.has(t.policy));
    const before = joined(kept, selecting(changedBefore, representative));
    const after = joined(kept, selecting(changedAfter, representative));
    for (const group of splitByAddresses(members, subject ? subjectBlocks : othersBlocks, namespace)) {
      const unit = { namespace: namespace.name, ...group, subject, before, after };
      (subject ? subjects : ownUnits).push(unit);
    }
  }

  // Units that are not subjects and look alike to every rule of the namespace (and to their own
  // policies, and to the examples' ranking) are one group: the pair walk is subjects x groups, and a
  // cluster of 5,000 pods in 500 namespaces has a few dozen groups for any one change.
  const inboundMatters = subjects.some((unit) => !sameTargets(unit.before.ingress, unit.after.ingress));
  const outboundMatters = subjects.some((unit) => !sameTargets(unit.before.egress, unit.after.egress));
  const groups = new Map<string, Unit>();
  const join = (key: string, unit: Unit) => {
    const group = groups.get(key);
    if (group === undefined) {
      const first = { ...unit, members: [...unit.members] };
      groups.set(key, first);
      grouped.push(first);
    } else {
      (group.members as PodRecord[]).push(...unit.members);
    }
  };
  const farGroups = new Map<number, FarGroup>();
  const joinFar = (key: number, unit: Unit) => {
    const group = farGroups.get(key);
    if (group === undefined) {
      const first = new FarGroup(unit);
      farGroups.set(key, first);
      grouped.push(first);
    } else {
      group.parts.push(unit);
    }
  };
  const joinAsSeen = (unit: Unit) => {
    if (++count % CHECK_EVERY === 0) deadline?.check();
    const o = unit.representative;
    const where = allowed.has(unit.namespace) ? "allowed" : unit.namespace === change.namespace ? "same" : "other";
    const look = unit.look ?? lookOf(unit.before, o);
    // Only the side a flow crosses tells units apart: with no subject's ingress changing, nobody's
    // egress policies matter, and the other way round (in a cluster where every namespace has its own
    // policies, this is what lets units of different namespaces share a group).
    join(
      `${where}|${inboundMatters ? look.egress : ""}|${outboundMatters ? look.ingress : ""}|${answers(namespacePeers, o)}`,
      unit,
    );
  };
  for (const unit of ownUnits) joinAsSeen(unit);

  // A namespace none of the changed namespace's peers can reach (no namespaceSelector of theirs
  // matches it, and it is not an allowedIngressNamespace) sees them all alike: no pod of it is
  // selected, so its shapes are grouped by their look alone, without asking the peers about each.
  // With ipBlocks among the peers, addresses tell pods apart and every unit is asked.
  const selectorPeers = namespacePeers.flatMap((peer) =>
    peer.kind === "pods" && peer.namespaces.kind !== "policy-namespace" ? [peer.namespaces] : [],
  );
  const reachesAll = othersBlocks.length > 0 || selectorPeers.some((namespaces) => namespaces.kind === "all");
  const reaches = (namespace: NamespaceInfo) => {
    if (reachesAll || allowed.has(namespace.name)) return true;
    for (const namespaces of selectorPeers)
      if (namespaces.kind === "selector" && namespaces.matches(namespace.labels)) return true;
    return false;
  };
  for (const namespace of prepared.list) {
    if (namespace.name === change.namespace) continue;
    if (reaches(namespace.info)) {
      for (const shape of namespace.shapes) {
        if (othersBlocks.length === 0) joinAsSeen(shape.unit);
        else
          for (const group of splitByAddresses(shape.unit.members, othersBlocks, namespace.info))
            joinAsSeen({ ...shape.unit, ...group });
      }
    } else {
      for (let i = 0; i < namespace.shapes.length; i++) {
        if (++count % CHECK_EVERY === 0) deadline?.check();
        const ids = namespace.lookIds[i]!;
        joinFar(
          (inboundMatters ? ids.egress + 1 : 0) * prepared.looks + (outboundMatters ? ids.ingress + 1 : 0),
          namespace.shapes[i]!.unit,
        );
      }
    }
  }
  const others = [...subjects, ...grouped];

  // Everything of an other end that its own side reads: its policies (before and after) and named ports.
  const looks = new Map<Unit, Look>(
    others.map((unit) => [
      unit,
      unit.subject
        ? {
            egress: `${targetIds(unit.before.egress)}>${targetIds(unit.after.egress)}`,
            ingress: `${lookOf(unit.before, unit.representative).ingress}>${targetIds(unit.after.ingress)}`,
          }
        : (unit.look ?? lookOf(unit.before, unit.representative)),
    ]),
  );
  const record = (from: Unit, to: Unit, changes: PortChanges) => {
    if (!isEmptyPorts(changes.removed)) out.removed.push({ from, to, ports: changes.removed });
    if (!isEmptyPorts(changes.added)) out.added.push({ from, to, ports: changes.added });
  };
  for (const subject of others) {
    if (!subject.subject) continue;
    const ingressChanges = !sameTargets(subject.before.ingress, subject.after.ingress);
    const egressChanges = !sameTargets(subject.before.egress, subject.after.egress);
    const s = subject.representative;
    // Most other units look alike to the subject's rules: the answer is computed once per look.
    const inbound = new Map<string, PortChanges>();
    const outbound = new Map<string, PortChanges>();
    const inboundPeers = peersOf([...subject.before.ingress, ...subject.after.ingress]);
    const outboundPeers = peersOf([...subject.before.egress, ...subject.after.egress]);
    for (const other of others) {
      if (++count % CHECK_EVERY === 0) deadline?.check();
      const o = other.representative;
      // other -> subject (a subject pair is visited from both ends: this direction covers both)
      if (
        (ingressChanges || !sameTargets(other.before.egress, other.after.egress)) &&
        (other !== subject || subject.members.length > 1)
      ) {
        const key = `${looks.get(other)!.egress}|${answers(inboundPeers, o)}`;
        let changes = inbound.get(key);
        if (changes === undefined) {
          const before = combineSides(sidePorts(other.before.egress, s, s), sidePorts(subject.before.ingress, o, s));
          const after = combineSides(sidePorts(other.after.egress, s, s), sidePorts(subject.after.ingress, o, s));
          inbound.set(key, (changes = portChanges(before, after)));
        }
        record(other, subject, changes);
      }
      // subject -> other, for others whose own sides do not change
      if (egressChanges && !other.subject) {
        const key = `${looks.get(other)!.ingress}|${answers(outboundPeers, o)}`;
        let changes = outbound.get(key);
        if (changes === undefined) {
          const ingress = sidePorts(other.before.ingress, s, o);
          const before = combineSides(sidePorts(subject.before.egress, o, o), ingress);
          const after = combineSides(sidePorts(subject.after.egress, o, o), ingress);
          outbound.set(key, (changes = portChanges(before, after)));
        }
        record(subject, other, changes);
      }
    }
    let removed = false;
    let added = false;
    for (const direction of ["ingress", "egress"] as const) {
      if (sameTargets(subject.before[direction], subject.after[direction])) continue;
      const before = externalOf(subject.before[direction], direction, s);
      const after = externalOf(subject.after[direction], direction, s);
      removed ||= subtractExternal(before, after).length > 0;
      added ||= subtractExternal(after, before).length > 0;
    }
    if (removed) out.externalRemoved.push(subject);
    if (added) out.externalAdded.push(subject);
  }
  return out;
}

/** `TCP/8080` for a port the destination declares, else the first range, for people. */
function portsText(ports: PortSet, destination: ResolvedWorkload): string {
  for (const declared of destination.workload.namedPorts)
    if (hasPort(ports, declared.protocol, declared.port)) return `${declared.protocol}/${declared.port}`;
  const entries = portEntries(ports);
  if (describePorts(ports) === "all ports") return "all ports";
  const [first] = entries;
  const text =
    first!.port === first!.endPort
      ? `${first!.protocol}/${first!.port}`
      : `${first!.protocol}/${first!.port}-${first!.endPort}`;
  return entries.length === 1 ? text : `${text} and more`;
}

const ownerCounts = new WeakMap<Unit, Map<string, number>>();

/** A unit's owners and how many of its pods each runs; a prepared shape's are counted once and kept. */
function ownersIn(unit: Unit): Map<string, number> {
  let counts = ownerCounts.get(unit);
  if (counts === undefined) {
    counts = new Map();
    if (unit.parts !== undefined) {
      for (const part of unit.parts)
        for (const [owner, pods] of ownersIn(part)) counts.set(owner, (counts.get(owner) ?? 0) + pods);
    } else {
      for (const member of unit.members) {
        const owner = ownerOf(member);
        counts.set(owner, (counts.get(owner) ?? 0) + 1);
      }
    }
    ownerCounts.set(unit, counts);
  }
  return counts;
}

/** The first `count` owners of a unit in name order, with their pod counts: examples name workloads, always the same ones. */
function firstOwners(unit: Unit, count: number): [string, number][] {
  // Picked, not sorted: a group of look-alike units can hold a thousand owners.
  const first: [string, number][] = [];
  for (const entry of ownersIn(unit)) {
    if (first.length === count && entry[0] >= first[count - 1]![0]) continue;
    const at = first.findIndex(([name]) => entry[0] < name);
    first.splice(at < 0 ? first.length : at, 0, entry);
    if (first.length > count) first.pop();
  }
  return first;
}

function summarise(
  changes: readonly FlowChangeBetween[],
  external: readonly Unit[],
  options: ImpactOptions,
  nameOf: (owner: string) => string,
): FlowSummary {
  const allowed = new Set(options.allowedIngressNamespaces);
  const ownerIds = new Map<string, number>();
  const idOf = (owner: string) => {
    let id = ownerIds.get(owner);
    if (id === undefined) ownerIds.set(owner, (id = ownerIds.size));
    return id;
  };
  const owners = new Map<Unit, Map<number, number>>();
  const ownersOf = (unit: Unit) => {
    let counts = owners.get(unit);
    if (counts === undefined) {
      counts = new Map();
      for (const [owner, pods] of ownersIn(unit)) counts.set(idOf(owner), pods);
      owners.set(unit, counts);
    }
    return counts;
  };
  const pairs = new Set<number>();
  const fromAllowed = new Set<number>();
  for (const { from, to } of changes) {
    for (const [source, sourcePods] of ownersOf(from)) {
      for (const [destination] of ownersOf(to)) {
        // A flow needs two pods: one owner with a single pod in this unit has no flow to itself.
        if (from === to && source === destination && sourcePods < 2) continue;
        const key = source * 2 ** 24 + destination;
        pairs.add(key);
        if (allowed.has(from.namespace)) fromAllowed.add(key);
      }
    }
  }

  // The most telling examples: from an allowedIngressNamespace, then across namespaces, then on a
  // port the destination declares (a port it really serves), then by name.
  const rank = (change: FlowChangeBetween): [number, number, number] => [
    allowed.has(change.from.namespace) ? 0 : 1,
    change.from.namespace !== change.to.namespace ? 0 : 1,
    change.to.representative.workload.namedPorts.some((p) => hasPort(change.ports, p.protocol, p.port)) ? 0 : 1,
  ];
  const wanted = options.examples ?? 1;
  const shownOwners = new Map<Unit, [string, number][]>();
  // The first `wanted` flows of a change in name order are among its first `wanted + 1` owners at
  // each end: in a unit's flows with itself an owner of one pod has no pair with itself, and with
  // `wanted` owners alone a unit of single pods could offer no flow at all.
  const ownersShown = (unit: Unit) => {
    let names = shownOwners.get(unit);
    if (names === undefined) shownOwners.set(unit, (names = firstOwners(unit, wanted + 1)));
    return names;
  };
  interface Candidate {
    rank: [number, number, number];
    from: string;
    to: string;
    change: FlowChangeBetween;
  }
  const better = (a: Candidate, b: Candidate) => {
    for (let i = 0; i < a.rank.length; i++) if (a.rank[i] !== b.rank[i]) return a.rank[i]! < b.rank[i]!;
    if (a.from !== b.from) return a.from < b.from;
    if (a.to !== b.to) return a.to < b.to;
    // One owner pair in two units ranked alike (a rollout): the ports decide, not which unit came first.
    return (
      portsText(a.change.ports, a.change.to.representative) < portsText(b.change.ports, b.change.to.representative)
    );
  };
  const best: Candidate[] = [];
  // A group of look-alike units holds several owners: each pair of the first few in name order is a candidate.
  for (const change of changes) {
    const changeRank = rank(change);
    for (const [from, fromPods] of ownersShown(change.from)) {
      for (const [to] of ownersShown(change.to)) {
        if (change.from === change.to && from === to && fromPods < 2) continue;
        const candidate = { rank: changeRank, from, to, change };
        if (best.length === wanted && !better(candidate, best.at(-1)!)) continue;
        // One owner pair met in several units (a rollout's two ReplicaSets) is listed once, as its best.
        const listed = best.findIndex((b) => b.from === candidate.from && b.to === candidate.to);
        if (listed >= 0) {
          if (!better(candidate, best[listed]!)) continue;
          best.splice(listed, 1);
        }
        const at = best.findIndex((b) => better(candidate, b));
        best.splice(at < 0 ? best.length : at, 0, candidate);
        if (best.length > wanted) best.pop();
      }
    }
  }
  const examples = best.map((b) => ({
    from: nameOf(b.from),
    to: nameOf(b.to),
    ports: portsText(b.change.ports, b.change.to.representative),
  }));
  const externalOwners = [...new Set(external.flatMap((unit) => unit.members.map(ownerOf)))].sort();
  return {
    flows: pairs.size,
    examples,
    fromAllowedNamespaces: fromAllowed.size,
    external: externalOwners.length,
    externalExample: externalOwners[0] === undefined ? undefined : nameOf(externalOwners[0]),
  };
}

export function impactOf(cluster: ImpactCluster, change: PolicyChange, options: ImpactOptions): Impact {
  const flows = changedFlows(cluster, change, options);
  options.deadline?.check();
  // Asked only for the few owners a warning names (a change that selects no pod has prepared
  // nothing); every owner is one of a prepared namespace's pods.
  const nameOf = (owner: string) => {
    const namespace = preparedCluster(cluster, options.deadline).namespaces.get(owner.slice(0, owner.indexOf("/")));
    return ownerName(owner, sharedOwnerNames(namespace!));
  };
  return {
    cutOff: summarise(flows.removed, flows.externalRemoved, options, nameOf),
    opened: summarise(flows.added, flows.externalAdded, options, nameOf),
  };
}
