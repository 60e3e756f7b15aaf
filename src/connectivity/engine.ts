// The engine: a Cluster compiled once, then queried. Workloads are grouped into equivalence classes
// (same namespace, pod labels, named ports, and the same answer to every ipBlock of every policy):
// members of a class are indistinguishable to every policy, so the matrix is computed per class pair
// and costs what the number of distinct shapes costs, not the number of pods.
import {
  EVERY_ADDRESS,
  externalRelation,
  parseAddress,
  type ExternalPiece,
  type ExternalRelation,
} from "./addresses.ts";
import { compilePolicies, type CompiledRule, type PeerMatcher, type Target } from "./compile.ts";
import {
  combineSides,
  OPEN_SIDE,
  peerMatches,
  resolveWorkload,
  ruleMatch,
  rulePorts,
  selects,
  sidePorts,
  type Endpoint,
  type Match,
  type ResolvedWorkload,
  type SidePorts,
} from "./evaluate.ts";
import type { Cluster, Direction, Flow, NamespaceInfo, Problem, Verdict, Workload } from "./model.ts";
import { ALL_PORTS, describePorts, hasPort, portSetKey, type PortSet, type Protocol } from "./ports.ts";

export interface RuleMatchExplanation {
  /** `NAMESPACE/NAME` */
  policy: string;
  /** Where in the policy: the peer (`spec.ingress[1].from[0]`), or the rule when it has no peers. */
  path: string;
  /** The peer as written, or null for a rule without peers (every source or destination). */
  peer: unknown;
  /** The ports the rule admits towards this destination. */
  ports: string;
}

export interface SideExplanation {
  direction: Direction;
  /** The workload this side is about: the source for egress, the destination for ingress. */
  workload: string;
  /** True when at least one policy of this direction selects the workload. */
  isolated: boolean;
  /** The policies of this direction that select the workload. */
  policies: string[];
  verdict: Verdict;
  allowedBy: RuleMatchExplanation[];
  /** Rules that would allow the flow if an address not known yet (a template's pod IP) falls in their ipBlock. */
  unknownBy: RuleMatchExplanation[];
}

export interface Explanation {
  from: string;
  to: string;
  protocol: Protocol;
  port: number;
  verdict: Verdict;
  /** null when the source is outside the cluster. */
  egress: SideExplanation | null;
  /** null when the destination is outside the cluster. */
  ingress: SideExplanation | null;
  notes: string[];
}

export interface WorkloadClass {
  index: number;
  namespace: string;
  representative: ResolvedWorkload;
  members: readonly Workload[];
  ingress: readonly Target[];
  egress: readonly Target[];
}

export class EndpointError extends Error {
  override name = "InputError";
}

export const IPBLOCK_POD_NOTE =
  "an ipBlock matched a pod IP: Kubernetes' conformance tests expect this, but some CNIs (Cilium, for one) match ipBlocks only against traffic from outside the cluster";

export interface Matrix {
  classes: readonly WorkloadClass[];
  classOf: ReadonlyMap<string, number>;
  /** Ports from a workload of class `source` to one of class `destination`. */
  cell(source: number, destination: number): SidePorts;
  /** Addresses outside the cluster a class may connect to, and on which ports. */
  egressExternal(source: number): ExternalRelation;
  /** Addresses outside the cluster that may connect to a class, and on which ports. */
  ingressExternal(destination: number): ExternalRelation;
}

export class Engine {
  readonly cluster: Cluster;
  readonly problems: readonly Problem[];
  readonly namespaces: ReadonlyMap<string, NamespaceInfo>;
  readonly workloads: ReadonlyMap<string, ResolvedWorkload>;
  private readonly targets: Record<Direction, readonly Target[]>;
  private readonly byAddress = new Map<string, ResolvedWorkload>();
  private classList: WorkloadClass[] | undefined;
  private matrixCache: Matrix | undefined;

  constructor(cluster: Cluster) {
    this.cluster = cluster;
    const compiled = compilePolicies(cluster.policies);
    this.problems = compiled.problems;
    this.targets = { ingress: compiled.ingress, egress: compiled.egress };
    this.namespaces = new Map(cluster.namespaces.map((ns) => [ns.name, ns]));
    const workloads = new Map<string, ResolvedWorkload>();
    for (const workload of cluster.workloads) {
      const resolved = resolveWorkload(workload, this.namespaces.get(workload.namespace));
      workloads.set(workload.id, resolved);
      for (const address of resolved.addresses) this.byAddress.set(address.text, resolved);
    }
    this.workloads = workloads;
  }

  /** The compiled targets of one policy (`NAMESPACE/NAME`). */
  targetsOf(policy: string): Target[] {
    return [...this.targets.ingress, ...this.targets.egress].filter((target) => target.policy === policy);
  }

  targetsSelecting(direction: Direction, workload: Workload): Target[] {
    return this.targets[direction].filter((target) => selects(target, workload));
  }

  /** A workload ID, or an IP address (a pod's IP resolves to that pod). */
  endpoint(reference: string): Endpoint {
    const workload = this.workloads.get(reference);
    if (workload !== undefined) return workload;
    const address = parseAddress(reference);
    if (address !== undefined) return this.byAddress.get(address.text) ?? { kind: "external", address };
    if (reference.includes("/"))
      throw new EndpointError(
        `\`${reference}\` is no workload in the input; workloads are NAMESPACE/POD or NAMESPACE/KIND/NAME (e.g. ${[...this.workloads.keys()].slice(0, 3).join(", ") || "none found"})`,
      );
    throw new EndpointError(`\`${reference}\` is neither NAMESPACE/POD, NAMESPACE/KIND/NAME nor an IP address`);
  }

  explain(flow: Flow): Explanation {
    const protocol = flow.protocol ?? "TCP";
    const source = this.endpoint(flow.from);
    const destination = this.endpoint(flow.to);
    const notes = new Set<string>();
    const side = (direction: Direction, subject: ResolvedWorkload, peer: Endpoint): SideExplanation => {
      const targets = this.targetsSelecting(direction, subject.workload);
      const allowedBy: RuleMatchExplanation[] = [];
      const unknownBy: RuleMatchExplanation[] = [];
      for (const target of targets) {
        for (const rule of target.rules) {
          const outcome = ruleMatch(rule, peer);
          if (outcome.match === "no") continue;
          const ports = rulePorts(rule, destination);
          if (!hasPort(ports, protocol, flow.port)) continue;
          (outcome.match === "yes" ? allowedBy : unknownBy).push(ruleExplanation(rule, outcome.peer, ports));
          if (outcome.match === "yes" && outcome.peer.kind === "ipBlock" && peer.kind === "workload")
            notes.add(IPBLOCK_POD_NOTE);
        }
      }
      const isolated = targets.length > 0;
      const verdict: Verdict =
        !isolated || allowedBy.length > 0 ? "allowed" : unknownBy.length > 0 ? "unknown" : "denied";
      return {
        direction,
        workload: subject.workload.id,
        isolated,
        policies: [...new Set(targets.map((t) => t.policy))],
        verdict,
        allowedBy,
        unknownBy,
      };
    };
    const egress = source.kind === "workload" ? side("egress", source, destination) : null;
    const ingress = destination.kind === "workload" ? side("ingress", destination, source) : null;
    const verdicts = [egress?.verdict, ingress?.verdict];
    const verdict: Verdict = verdicts.includes("denied")
      ? "denied"
      : verdicts.includes("unknown")
        ? "unknown"
        : "allowed";
    if (this.problems.length > 0)
      notes.add(
        `${this.problems.length} part(s) of the policies could not be evaluated and were skipped (see problems)`,
      );
    return {
      from: endpointName(source),
      to: endpointName(destination),
      protocol,
      port: flow.port,
      verdict,
      egress,
      ingress,
      notes: [...notes],
    };
  }

  verdict(flow: Flow): Verdict {
    return this.explain(flow).verdict;
  }

  classes(): readonly WorkloadClass[] {
    if (this.classList !== undefined) return this.classList;
    const ipBlocks = new Map<string, PeerMatcher>();
    for (const target of [...this.targets.ingress, ...this.targets.egress]) {
      for (const rule of target.rules)
        for (const peer of rule.peers) if (peer.kind === "ipBlock") ipBlocks.set(peer.key, peer);
    }
    const blocks = [...ipBlocks.values()];
    const byKey = new Map<string, WorkloadClass>();
    const list: WorkloadClass[] = [];
    for (const resolved of this.workloads.values()) {
      const { workload } = resolved;
      const key = JSON.stringify([
        workload.namespace,
        Object.keys(workload.labels)
          .sort()
          .map((key) => [key, workload.labels[key]]),
        namedPortsKey(workload),
        blocks.map((peer) => peerMatches(peer, resolved)),
      ]);
      let found = byKey.get(key);
      if (found === undefined) {
        found = {
          index: list.length,
          namespace: workload.namespace,
          representative: resolved,
          members: [],
          ingress: this.targetsSelecting("ingress", workload),
          egress: this.targetsSelecting("egress", workload),
        };
        byKey.set(key, found);
        list.push(found);
      }
      (found.members as Workload[]).push(workload);
    }
    this.classList = list;
    return list;
  }

  matrix(): Matrix {
    this.matrixCache ??= buildMatrix(this.classes());
    return this.matrixCache;
  }
}

function endpointName(endpoint: Endpoint): string {
  return endpoint.kind === "workload" ? endpoint.workload.id : endpoint.address.text;
}

function ruleExplanation(rule: CompiledRule, peer: PeerMatcher, ports: PortSet): RuleMatchExplanation {
  return {
    policy: rule.policy,
    path: peer.path,
    peer: peer.kind === "any" ? null : peer.source,
    ports: describePorts(ports),
  };
}

/** Interns side results by value so that cells are small integers and equal cells compare by id. */
class SideTable {
  readonly values: SidePorts[] = [];
  private readonly ids = new Map<string, number>();
  // Port sets are shared objects more often than not (a rule's ports, ALL_PORTS, NO_PORTS): looking
  // them up by identity first spares building the key for most of the matrix's entries.
  private readonly byIdentity = new Map<PortSet, Map<PortSet, number>>();
  id(side: SidePorts): number {
    let inner = this.byIdentity.get(side.allowed);
    if (inner === undefined) this.byIdentity.set(side.allowed, (inner = new Map()));
    let id = inner.get(side.unknown);
    if (id !== undefined) return id;
    const key = `${portSetKey(side.allowed)}#${portSetKey(side.unknown)}`;
    id = this.ids.get(key);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(side);
      this.ids.set(key, id);
    }
    inner.set(side.unknown, id);
    return id;
  }
}

function namedPortsKey(workload: Workload): string {
  return workload.namedPorts
    .map((p) => `${p.name}/${p.protocol}/${p.port}`)
    .sort()
    .join(",");
}

function profileKey(targets: readonly Target[], ids: Map<Target, number>): string {
  return targets.map((t) => ids.get(t)).join(",");
}

function buildMatrix(classes: readonly WorkloadClass[]): Matrix {
  const n = classes.length;
  const table = new SideTable();
  const openId = table.id(OPEN_SIDE);
  const targetIds = new Map<Target, number>();
  for (const c of classes)
    for (const t of [...c.ingress, ...c.egress]) if (!targetIds.has(t)) targetIds.set(t, targetIds.size);

  // A rule's peers are matched against each class once, however many subjects share the rule.
  const MATCHES: readonly Match[] = ["no", "yes", "unknown"];
  const classIndex = new Map<Endpoint, number>(classes.map((c) => [c.representative, c.index]));
  const matchRows = new Map<CompiledRule, Int8Array>();
  const matchOf = (rule: CompiledRule, peer: Endpoint): Match => {
    const index = classIndex.get(peer)!;
    let row = matchRows.get(rule);
    if (row === undefined) matchRows.set(rule, (row = new Int8Array(n).fill(-1)));
    if (row[index] === -1) row[index] = MATCHES.indexOf(ruleMatch(rule, peer).match);
    return MATCHES[row[index]!]!;
  };

  // A side's result depends on the subject only through the targets that select it (its profile),
  // plus, for ingress, its own named ports: subjects with the same profile share one row. Rows fill
  // lazily, so a question about a few subjects (a diff after one policy changed) costs a few rows.
  const rowsFor = (direction: Direction) => {
    const byProfile = new Map<string, Int32Array>();
    const byClass: (Int32Array | undefined)[] = new Array(n);
    return (subject: WorkloadClass): Int32Array => {
      let row = byClass[subject.index];
      if (row !== undefined) return row;
      const profile = profileKey(subject[direction], targetIds);
      const key = direction === "ingress" ? `${profile}|${namedPortsKey(subject.representative.workload)}` : profile;
      row = byProfile.get(key);
      if (row === undefined)
        byProfile.set(key, (row = new Int32Array(n).fill(subject[direction].length === 0 ? openId : -1)));
      byClass[subject.index] = row;
      return row;
    };
  };
  const egressRow = rowsFor("egress");
  const ingressRow = rowsFor("ingress");
  const egressSide = (s: WorkloadClass, d: WorkloadClass): number => {
    const row = egressRow(s);
    if (row[d.index] === -1) row[d.index] = table.id(sidePorts(s.egress, d.representative, d.representative, matchOf));
    return row[d.index]!;
  };
  const ingressSide = (s: WorkloadClass, d: WorkloadClass): number => {
    const row = ingressRow(d);
    if (row[s.index] === -1) row[s.index] = table.id(sidePorts(d.ingress, s.representative, d.representative, matchOf));
    return row[s.index]!;
  };
  const combined = new Map<number, number>();
  const cell = (s: number, d: number): SidePorts => {
    const e = egressSide(classes[s]!, classes[d]!);
    const i = ingressSide(classes[s]!, classes[d]!);
    if (e === openId) return table.values[i]!;
    if (i === openId) return table.values[e]!;
    const key = e * 2 ** 26 + i;
    let id = combined.get(key);
    if (id === undefined) combined.set(key, (id = table.id(combineSides(table.values[e]!, table.values[i]!))));
    return table.values[id]!;
  };

  const external = (direction: Direction) => {
    const cache: (ExternalRelation | undefined)[] = new Array(n);
    return (index: number): ExternalRelation => (cache[index] ??= externalOf(classes[index]!, direction));
  };
  const classOf = new Map<string, number>();
  for (const c of classes) for (const m of c.members) classOf.set(m.id, c.index);
  return { classes, classOf, cell, egressExternal: external("egress"), ingressExternal: external("ingress") };
}

function externalOf(subject: WorkloadClass, direction: Direction): ExternalRelation {
  const targets = subject[direction];
  if (targets.length === 0) return externalRelation([{ addresses: EVERY_ADDRESS, ports: ALL_PORTS }]);
  const pieces: ExternalPiece[] = [];
  for (const target of targets) {
    for (const rule of target.rules) {
      // Towards an address outside the cluster a named port resolves to nothing.
      const ports = direction === "ingress" ? rulePorts(rule, subject.representative) : rule.fixedPorts;
      for (const peer of rule.peers) {
        if (peer.kind === "any") pieces.push({ addresses: EVERY_ADDRESS, ports });
        else if (peer.kind === "ipBlock") pieces.push({ addresses: peer.addresses, ports });
      }
    }
  }
  return externalRelation(pieces);
}
