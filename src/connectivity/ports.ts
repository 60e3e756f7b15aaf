// Sets of L4 ports per protocol, as sorted, disjoint, non-adjacent inclusive ranges. Immutable: the
// operations return new sets (or one of their arguments when nothing changes), so sets can be shared
// and interned by their key.

export const PROTOCOLS = ["TCP", "UDP", "SCTP"] as const;
export type Protocol = (typeof PROTOCOLS)[number];
export const MIN_PORT = 1;
export const MAX_PORT = 65535;

export type PortRange = readonly [first: number, last: number];
export type PortSet = Readonly<Record<Protocol, readonly PortRange[]>>;

export const NO_PORTS: PortSet = Object.freeze({ TCP: [], UDP: [], SCTP: [] });
const EVERY_PORT: readonly PortRange[] = Object.freeze([[MIN_PORT, MAX_PORT] as const]);
export const ALL_PORTS: PortSet = Object.freeze({ TCP: EVERY_PORT, UDP: EVERY_PORT, SCTP: EVERY_PORT });

export function isProtocol(value: string): value is Protocol {
  return (PROTOCOLS as readonly string[]).includes(value);
}

export function portsOf(protocol: Protocol, first: number, last = first): PortSet {
  return { ...NO_PORTS, [protocol]: [[first, last]] };
}

export function allPortsOf(protocol: Protocol): PortSet {
  return { ...NO_PORTS, [protocol]: EVERY_PORT };
}

function normalize(ranges: PortRange[]): PortRange[] {
  ranges.sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [first, last] of ranges) {
    const previous = out.at(-1);
    if (previous !== undefined && first <= previous[1] + 1) previous[1] = Math.max(previous[1], last);
    else out.push([first, last]);
  }
  return out;
}

function unionRanges(a: readonly PortRange[], b: readonly PortRange[]): readonly PortRange[] {
  if (a.length === 0 || b === EVERY_PORT) return b;
  if (b.length === 0 || a === EVERY_PORT) return a;
  return normalize([...a, ...b]);
}

function intersectRanges(a: readonly PortRange[], b: readonly PortRange[]): readonly PortRange[] {
  if (a === EVERY_PORT || b.length === 0) return b;
  if (b === EVERY_PORT || a.length === 0) return a;
  const out: PortRange[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const [a0, a1] = a[i]!;
    const [b0, b1] = b[j]!;
    const first = Math.max(a0, b0);
    const last = Math.min(a1, b1);
    if (first <= last) out.push([first, last]);
    if (a1 < b1) i++;
    else j++;
  }
  return out;
}

function subtractRanges(a: readonly PortRange[], b: readonly PortRange[]): readonly PortRange[] {
  if (a.length === 0 || b.length === 0) return a;
  const out: PortRange[] = [];
  for (const [first, last] of a) {
    let start = first;
    for (const [b0, b1] of b) {
      if (b1 < start || b0 > last) continue;
      if (b0 > start) out.push([start, b0 - 1]);
      start = b1 + 1;
      if (start > last) break;
    }
    if (start <= last) out.push([start, last]);
  }
  return out;
}

const lift =
  (op: (a: readonly PortRange[], b: readonly PortRange[]) => readonly PortRange[]) =>
  (a: PortSet, b: PortSet): PortSet => {
    const TCP = op(a.TCP, b.TCP);
    const UDP = op(a.UDP, b.UDP);
    const SCTP = op(a.SCTP, b.SCTP);
    if (TCP === a.TCP && UDP === a.UDP && SCTP === a.SCTP) return a;
    if (TCP === b.TCP && UDP === b.UDP && SCTP === b.SCTP) return b;
    return { TCP, UDP, SCTP };
  };

export const unionPorts = lift(unionRanges);
export const intersectPorts = lift(intersectRanges);
export const subtractPorts = lift(subtractRanges);

export function isEmptyPorts(set: PortSet): boolean {
  return set.TCP.length === 0 && set.UDP.length === 0 && set.SCTP.length === 0;
}

export function hasPort(set: PortSet, protocol: Protocol, port: number): boolean {
  return set[protocol].some(([first, last]) => first <= port && port <= last);
}

/** A stable key: equal sets have equal keys. */
export function portSetKey(set: PortSet): string {
  return PROTOCOLS.map((protocol) => set[protocol].map(([first, last]) => `${first}-${last}`).join(",")).join("|");
}

export interface PortEntry {
  protocol: Protocol;
  port: number;
  endPort: number;
}

/** The set as `{protocol, port, endPort}` entries, the shape `diff -o json` prints. */
export function portEntries(set: PortSet): PortEntry[] {
  return PROTOCOLS.flatMap((protocol) => set[protocol].map(([port, endPort]) => ({ protocol, port, endPort })));
}

/** For people: `all ports`, `TCP 80, 8000-8080; UDP 53`, `none`. */
export function describePorts(set: PortSet): string {
  if (PROTOCOLS.every((protocol) => isEvery(set[protocol]))) return "all ports";
  const parts = PROTOCOLS.filter((protocol) => set[protocol].length > 0).map((protocol) =>
    isEvery(set[protocol])
      ? `${protocol} all`
      : `${protocol} ${set[protocol].map(([first, last]) => (first === last ? `${first}` : `${first}-${last}`)).join(", ")}`,
  );
  return parts.length === 0 ? "none" : parts.join("; ");
}

function isEvery(ranges: readonly PortRange[]): boolean {
  return ranges.length === 1 && ranges[0]![0] === MIN_PORT && ranges[0]![1] === MAX_PORT;
}
