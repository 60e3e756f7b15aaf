// What changes between two clusters (usually: the same workloads, other policies). Computed on class
// pairs of both matrices and expanded to workload pairs only where something changes, so the cost
// follows the number of shapes and the size of the answer, not the square of the pod count.
import { externalGroups, subtractExternal, type ExternalRelation } from "./addresses.ts";
import type { Engine } from "./engine.ts";
import { selects, type SidePorts } from "./evaluate.ts";
import {
  intersectPorts,
  isEmptyPorts,
  NO_PORTS,
  portEntries,
  portSetKey,
  subtractPorts,
  unionPorts,
  type PortEntry,
  type PortSet,
} from "./ports.ts";

export type FlowEnd = string | { cidr: string };

export interface FlowChange {
  from: FlowEnd;
  to: FlowEnd;
  ports: PortEntry[];
}

export interface ConnectivityDiff {
  /** Allowed before, denied after. */
  removed: FlowChange[];
  /** Denied before, allowed after. */
  added: FlowChange[];
  /** Changes to or from "unknown" (ipBlocks against workloads whose IPs are not known yet). */
  unknown: FlowChange[];
}

const CLOSED: SidePorts = { allowed: NO_PORTS, unknown: NO_PORTS };

interface Changes {
  removed: PortSet;
  added: PortSet;
  unknown: PortSet;
}

function changesBetween(before: SidePorts, after: SidePorts): Changes | undefined {
  if (
    portSetKey(before.allowed) === portSetKey(after.allowed) &&
    portSetKey(before.unknown) === portSetKey(after.unknown)
  )
    return undefined;
  const possibleBefore = unionPorts(before.allowed, before.unknown);
  const possibleAfter = unionPorts(after.allowed, after.unknown);
  return {
    removed: subtractPorts(before.allowed, possibleAfter),
    added: subtractPorts(after.allowed, possibleBefore),
    unknown: [
      intersectPorts(before.allowed, after.unknown),
      intersectPorts(before.unknown, after.allowed),
      subtractPorts(before.unknown, possibleAfter),
      subtractPorts(after.unknown, possibleBefore),
    ].reduce(unionPorts),
  };
}

interface Group {
  before: number | undefined;
  after: number | undefined;
  members: string[];
}

/**
 * When only policies differ (same namespaces, same workloads), a flow can change only where a changed
 * policy selects its source (egress) or its destination (ingress): the workloads returned. Undefined
 * when namespaces or workloads differ too, and everything must be compared.
 */
function affectedWorkloads(before: Engine, after: Engine): Record<"ingress" | "egress", Set<string>> | undefined {
  const same = <T>(a: readonly T[], b: readonly T[]) => a === b || JSON.stringify(a) === JSON.stringify(b);
  if (
    !same(before.cluster.namespaces, after.cluster.namespaces) ||
    !same(before.cluster.workloads, after.cluster.workloads)
  )
    return undefined;
  const byName = (engine: Engine) => new Map(engine.cluster.policies.map((p) => [`${p.namespace}/${p.name}`, p]));
  const b = byName(before);
  const a = byName(after);
  const changed = [...new Set([...b.keys(), ...a.keys()])].filter((key) => {
    const x = b.get(key);
    const y = a.get(key);
    return x === undefined || y === undefined || (x !== y && JSON.stringify(x.policy) !== JSON.stringify(y.policy));
  });
  const out = { ingress: new Set<string>(), egress: new Set<string>() };
  for (const engine of [before, after]) {
    for (const key of changed) {
      for (const target of engine.targetsOf(key))
        for (const workload of engine.cluster.workloads)
          if (selects(target, workload)) out[target.direction].add(workload.id);
    }
  }
  return out;
}

export function diffEngines(before: Engine, after: Engine): ConnectivityDiff {
  const focus = affectedWorkloads(before, after);
  const mb = before.matrix();
  const ma = after.matrix();
  const groups = new Map<string, Group>();
  for (const id of new Set([...mb.classOf.keys(), ...ma.classOf.keys()])) {
    const b = mb.classOf.get(id);
    const a = ma.classOf.get(id);
    const key = `${b}:${a}`;
    const group = groups.get(key) ?? { before: b, after: a, members: [] };
    group.members.push(id);
    groups.set(key, group);
  }
  const out: ConnectivityDiff = { removed: [], added: [], unknown: [] };
  const emit = (changes: Changes, from: (string | { cidr: string })[], to: (string | { cidr: string })[]) => {
    for (const kind of ["removed", "added", "unknown"] as const) {
      if (isEmptyPorts(changes[kind])) continue;
      const ports = portEntries(changes[kind]);
      for (const f of from) for (const t of to) if (f !== t) out[kind].push({ from: f, to: t, ports });
    }
  };

  const memo = new Map<SidePorts, Map<SidePorts, Changes | undefined>>();
  const list = [...groups.values()];
  for (const source of list) {
    const sourceChanged = focus === undefined || focus.egress.has(source.members[0]!);
    for (const destination of list) {
      if (!sourceChanged && !focus!.ingress.has(destination.members[0]!)) continue;
      const b =
        source.before !== undefined && destination.before !== undefined
          ? mb.cell(source.before, destination.before)
          : CLOSED;
      const a =
        source.after !== undefined && destination.after !== undefined
          ? ma.cell(source.after, destination.after)
          : CLOSED;
      let inner = memo.get(b);
      if (inner === undefined) memo.set(b, (inner = new Map()));
      if (!inner.has(a)) inner.set(a, changesBetween(b, a));
      const changes = inner.get(a);
      if (changes !== undefined) emit(changes, source.members, destination.members);
    }
  }

  const none: ExternalRelation = [];
  for (const group of list) {
    for (const direction of ["egress", "ingress"] as const) {
      if (focus !== undefined && !focus[direction].has(group.members[0]!)) continue;
      const relationOf = (matrix: typeof mb, index: number | undefined) =>
        index === undefined
          ? none
          : direction === "egress"
            ? matrix.egressExternal(index)
            : matrix.ingressExternal(index);
      const b = relationOf(mb, group.before);
      const a = relationOf(ma, group.after);
      for (const [kind, relation] of [
        ["removed", subtractExternal(b, a)],
        ["added", subtractExternal(a, b)],
      ] as const) {
        for (const { cidrs, ports } of externalGroups(relation)) {
          const entries = portEntries(ports);
          for (const member of group.members) {
            for (const cidr of cidrs)
              out[kind].push(
                direction === "egress"
                  ? { from: member, to: { cidr }, ports: entries }
                  : { from: { cidr }, to: member, ports: entries },
              );
          }
        }
      }
    }
  }
  const name = (end: FlowEnd) => (typeof end === "string" ? end : end.cidr);
  const order = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  for (const kind of ["removed", "added", "unknown"] as const)
    out[kind].sort((x, y) => order(name(x.from), name(y.from)) || order(name(x.to), name(y.to)));
  return out;
}

export function isEmptyDiff(diff: ConnectivityDiff): boolean {
  return diff.removed.length === 0 && diff.added.length === 0 && diff.unknown.length === 0;
}
