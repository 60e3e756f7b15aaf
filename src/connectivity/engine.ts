// The engine: a Cluster compiled once, then queried. Workloads are grouped into equivalence classes
// (same namespace, pod labels, named ports, and the same answer to every ipBlock of every policy):
// members of a class are indistinguishable to every policy, so the matrix is computed per class pair
// and costs what the number of distinct shapes costs, not the number of pods.
import { EVERY_ADDRESS, externalRelation, parseAddress, type ExternalPiece, type ExternalRelation } from "./addresses.ts";
import { compilePolicies, type CompiledRule, type PeerMatcher, type Target } from "./compile.ts";
import { combineSides, OPEN_SIDE, peerMatches, resolveWorkload, ruleMatch, rulePorts, selects, sidePorts, type Endpoint, type ResolvedWorkload, type SidePorts } from "./evaluate.ts";
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

export const IPBLOCK_POD_NOTE = "an ipBlock matched a pod IP: Kubernetes' conformance tests expect this, but some CNIs (Cilium, for one) match ipBlocks only against traffic from outside the cluster";

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
  readonly problems: readonly Problem[];
  readonly namespaces: ReadonlyMap<string, NamespaceInfo>;
  readonly workloads: ReadonlyMap<string, ResolvedWorkload>;
  private readonly targets: Record<Direction, readonly Target[]>;
  private readonly byAddress = new Map<string, ResolvedWorkload>();
  private classList: WorkloadClass[] | undefined;
  private matrixCache: Matrix | undefined;

  constructor(cluster: Cluster) {
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

  targetsSelecting(direction: Direction, workload: Workload): Target[] {
    return this.targets[direction].filter((target) => selects(target, workload));
  }

  /** A workload ID, or an IP address (a pod's IP resolves to that pod). */
  endpoint(reference: string): Endpoint {
    const workload = this.workloads.get(reference);
    if (workload !== undefined) return workload;
    const address = parseAddress(reference);
    if (address !== undefined) return this.byAddress.get(address.text) ?? { kind: "external", address };
    if (reference.includes("/")) throw new EndpointError(`\`${reference}\` is no workload in the input; workloads are NAMESPACE/POD or NAMESPACE/KIND/NAME (e.g. ${[...this.workloads.keys()].slice(0, 3).join(", ") || "none found"})`);
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
          if (outcome.match === "no" || outcome.peer === undefined) continue;
          const ports = rulePorts(rule, destination);
          if (!hasPort(ports, protocol, flow.port)) continue;
          (outcome.match === "yes" ? allowedBy : unknownBy).push(ruleExplanation(rule, outcome.peer, ports));
          if (outcome.match === "yes" && outcome.peer.kind === "ipBlock" && peer.kind === "workload") notes.add(IPBLOCK_POD_NOTE);
        }
      }
      const isolated = targets.length > 0;
      const verdict: Verdict = !isolated || allowedBy.length > 0 ? "allowed" : unknownBy.length > 0 ? "unknown" : "denied";
      return { direction, workload: subject.workload.id, isolated, policies: [...new Set(targets.map((t) => t.policy))], verdict, allowedBy, unknownBy };
    };
    const egress = source.kind === "workload" ? side("egress", source, destination) : null;
    const ingress = destination.kind === "workload" ? side("ingress", destination, source) : null;
    const verdicts = [egress?.verdict, ingress?.verdict];
    const verdict: Verdict = verdicts.includes("denied") ? "denied" : verdicts.includes("unknown") ? "unknown" : "allowed";
    if (this.problems.length > 0) notes.add(`${this.problems.length} part(s) of the policies could not be evaluated and were skipped (see problems)`);
    return { from: endpointName(source), to: endpointName(destination), protocol, port: flow.port, verdict, egress, ingress, notes: [...notes] };
  }

  verdict(flow: Flow): Verdict {
    return this.explain(flow).verdict;
  }

  classes(): readonly WorkloadClass[] {
    if (this.classList !== undefined) return this.classList;
    const ipBlocks = new Map<string, PeerMatcher>();
    for (const target of [...this.targets.ingress, ...this.targets.egress]) {
      for (const rule of target.rules) for (const peer of rule.peers) if (peer.kind === "ipBlock") ipBlocks.set(peer.key, peer);
    }
    const blocks = [...ipBlocks.values()];
    const byKey = new Map<string, WorkloadClass>();
    const list: WorkloadClass[] = [];
    for (const resolved of this.workloads.values()) {
      const { workload } = resolved;
      const key = JSON.stringify([
        workload.namespace,
        Object.entries(workload.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        namedPortsKey(workload),
        blocks.map((peer) => peerMatches(peer, resolved)).join(""),
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
  return { policy: rule.policy, path: peer.path, peer: peer.kind === "any" ? null : peer.source, ports: describePorts(ports) };
}

/** Interns side results by value so that cells are small integers and equal cells compare by id. */
class SideTable {
  readonly values: SidePorts[] = [];
  private readonly ids = new Map<string, number>();
  id(side: SidePorts): number {
    const key = `${portSetKey(side.allowed)}#${portSetKey(side.unknown)}`;
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(side);
      this.ids.set(key, id);
    }
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
  for (const c of classes) for (const t of [...c.ingress, ...c.egress]) if (!targetIds.has(t)) targetIds.set(t, targetIds.size);

  // A side's result depends on the subject only through the targets that select it (its profile):
  // classes with the same profile share one row of side results.
  const sideRows = (direction: "ingress" | "egress") => {
    const rowOfProfile = new Map<string, Uint32Array>();
    const rows: Uint32Array[] = [];
    for (const subject of classes) {
      const targets = subject[direction];
      // Named ports make an ingress result depend on the destination's own ports too.
      const key = direction === "ingress" ? `${profileKey(targets, targetIds)}|${namedPortsKey(subject.representative.workload)}` : profileKey(targets, targetIds);
      let row = rowOfProfile.get(key);
      if (row === undefined) {
        row = new Uint32Array(n);
        if (targets.length === 0) row.fill(openId);
        else {
          for (const other of classes) {
            // egress: the other end is the destination; ingress: the subject is.
            const destination = direction === "egress" ? other.representative : subject.representative;
            row[other.index] = table.id(sidePorts(targets, other.representative, destination));
          }
        }
        rowOfProfile.set(key, row);
      }
      rows.push(row);
    }
    return rows;
  };
  const egressRows = sideRows("egress");
  const ingressRows = sideRows("ingress");

  const combined = new Map<number, number>();
  const cells = new Uint32Array(n * n);
  for (let s = 0; s < n; s++) {
    const egress = egressRows[s]!;
    for (let d = 0; d < n; d++) {
      const e = egress[d]!;
      const i = ingressRows[d]![s]!;
      if (e === openId) {
        cells[s * n + d] = i;
        continue;
      }
      if (i === openId) {
        cells[s * n + d] = e;
        continue;
      }
      const key = e * 2 ** 26 + i;
      let id = combined.get(key);
      if (id === undefined) {
        id = table.id(combineSides(table.values[e]!, table.values[i]!));
        combined.set(key, id);
      }
      cells[s * n + d] = id;
    }
  }

  const external = (direction: "ingress" | "egress") =>
    classes.map((subject): ExternalRelation => {
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
    });
  const egressExternal = external("egress");
  const ingressExternal = external("ingress");

  const classOf = new Map<string, number>();
  for (const c of classes) for (const m of c.members) classOf.set(m.id, c.index);
  return {
    classes,
    classOf,
    cell: (s, d) => table.values[cells[s * n + d]!]!,
    egressExternal: (s) => egressExternal[s]!,
    ingressExternal: (d) => ingressExternal[d]!,
  };
}
