// Address sets for traffic to and from outside the cluster: ipBlocks become integer intervals per
// family, and an "external relation" (which addresses on which ports) is kept canonical, so that two
// relations are equal exactly when they allow the same traffic and print the same CIDRs.
import ipaddr from "ipaddr.js";
import type { Cidr } from "../rules/cidr.ts";
import { isEmptyPorts, NO_PORTS, portSetKey, subtractPorts, unionPorts, type PortSet } from "./ports.ts";

export type Family = 4 | 6;
const BITS: Record<Family, number> = { 4: 32, 6: 128 };

export interface AddressInterval {
  family: Family;
  first: bigint;
  last: bigint;
}

function toBigInt(bytes: number[]): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

/** The addresses of a CIDR (host bits ignored, as dataplanes mask them). */
export function cidrInterval(cidr: Cidr): AddressInterval {
  const bits = BigInt(BITS[cidr.family]);
  const hostBits = bits - BigInt(cidr.prefix);
  const value = toBigInt(cidr.address.toByteArray());
  const first = (value >> hostBits) << hostBits;
  return { family: cidr.family, first, last: first + (1n << hostBits) - 1n };
}

export interface Address {
  family: Family;
  value: bigint;
  text: string;
}

/** An IP address as users and pod status write it, or undefined when it is none. */
export function parseAddress(text: string): Address | undefined {
  if (!ipaddr.isValid(text)) return undefined;
  const parsed = ipaddr.parse(text);
  if (parsed.kind() === "ipv4" && !ipaddr.IPv4.isValidFourPartDecimal(text)) return undefined;
  return {
    family: parsed.kind() === "ipv4" ? 4 : 6,
    value: toBigInt(parsed.toByteArray()),
    // ipaddr.js 2 prints IPv6 in RFC 5952 form (`2001:db8::1`), the form Kubernetes stores.
    text: parsed.toString(),
  };
}

export function intervalContains(interval: AddressInterval, address: Address): boolean {
  return interval.family === address.family && interval.first <= address.value && address.value <= interval.last;
}

/** cidr minus its except entries: a list of intervals. */
export function blockIntervals(cidr: AddressInterval, except: readonly AddressInterval[]): AddressInterval[] {
  let pieces = [cidr];
  for (const hole of except) {
    pieces = pieces.flatMap((piece) => {
      if (hole.family !== piece.family || hole.last < piece.first || hole.first > piece.last) return [piece];
      const out: AddressInterval[] = [];
      if (hole.first > piece.first) out.push({ family: piece.family, first: piece.first, last: hole.first - 1n });
      if (hole.last < piece.last) out.push({ family: piece.family, first: hole.last + 1n, last: piece.last });
      return out;
    });
  }
  return pieces;
}

export const EVERY_ADDRESS: readonly AddressInterval[] = [
  { family: 4, first: 0n, last: (1n << 32n) - 1n },
  { family: 6, first: 0n, last: (1n << 128n) - 1n },
];

/** A piece of an external relation: these addresses, on these ports. */
export interface ExternalPiece {
  addresses: readonly AddressInterval[];
  ports: PortSet;
}

/** Canonical: disjoint, sorted intervals, each with a non-empty port set, neighbours with different sets merged. */
export type ExternalRelation = readonly { interval: AddressInterval; ports: PortSet }[];

function atomize(
  pieces: readonly { interval: AddressInterval; ports: PortSet }[],
  combine: (atom: AddressInterval, covering: PortSet[]) => PortSet,
): ExternalRelation {
  const out: { interval: AddressInterval; ports: PortSet }[] = [];
  for (const family of [4, 6] as const) {
    const ofFamily = pieces.filter((p) => p.interval.family === family);
    // Number() keeps the sign of a bigint difference, all that sort needs.
    const bounds = [...new Set(ofFamily.flatMap((p) => [p.interval.first, p.interval.last + 1n]))].sort((a, b) =>
      Number(a - b),
    );
    for (let i = 0; i + 1 < bounds.length; i++) {
      const atom: AddressInterval = { family, first: bounds[i]!, last: bounds[i + 1]! - 1n };
      const covering = ofFamily
        .filter((p) => p.interval.first <= atom.first && atom.last <= p.interval.last)
        .map((p) => p.ports);
      const ports = combine(atom, covering);
      if (isEmptyPorts(ports)) continue;
      const previous = out.at(-1);
      if (
        previous !== undefined &&
        previous.interval.family === family &&
        previous.interval.last + 1n === atom.first &&
        portSetKey(previous.ports) === portSetKey(ports)
      ) {
        out[out.length - 1] = { interval: { family, first: previous.interval.first, last: atom.last }, ports };
      } else {
        out.push({ interval: atom, ports });
      }
    }
  }
  return out;
}

export function externalRelation(pieces: readonly ExternalPiece[]): ExternalRelation {
  const flat = pieces.flatMap((piece) => piece.addresses.map((interval) => ({ interval, ports: piece.ports })));
  return atomize(flat, (_, covering) => covering.reduce(unionPorts, NO_PORTS));
}

function combineRelations(
  a: ExternalRelation,
  b: ExternalRelation,
  op: (x: PortSet, y: PortSet) => PortSet,
): ExternalRelation {
  const tagged = [...a.map((p) => ({ ...p, side: 0 })), ...b.map((p) => ({ ...p, side: 1 }))];
  return atomize(tagged, (atom) => {
    const inside = (p: { interval: AddressInterval }) =>
      p.interval.family === atom.family && p.interval.first <= atom.first && atom.last <= p.interval.last;
    const x = a.find(inside)?.ports ?? NO_PORTS;
    const y = b.find(inside)?.ports ?? NO_PORTS;
    return op(x, y);
  });
}

export const subtractExternal = (a: ExternalRelation, b: ExternalRelation) => combineRelations(a, b, subtractPorts);

/** The fewest CIDRs that cover an interval exactly. */
export function intervalCidrs(interval: AddressInterval): string[] {
  const bits = BigInt(BITS[interval.family]);
  const out: string[] = [];
  let start = interval.first;
  while (start <= interval.last) {
    let size = 0n;
    // The interval lies in its family's space, so the block never grows past /0.
    while ((start & ((1n << (size + 1n)) - 1n)) === 0n && start + (1n << (size + 1n)) - 1n <= interval.last) size++;
    out.push(`${formatAddress(interval.family, start)}/${bits - size}`);
    start += 1n << size;
  }
  return out;
}

function formatAddress(family: Family, value: bigint): string {
  const bytes: number[] = [];
  for (let i = BITS[family] / 8 - 1; i >= 0; i--) bytes.push(Number((value >> BigInt(i * 8)) & 255n));
  return ipaddr.fromByteArray(bytes).toString();
}

/** Grouped by port set, for printing: `{cidrs: [...], ports}` in address order. */
export function externalGroups(relation: ExternalRelation): { cidrs: string[]; ports: PortSet }[] {
  const groups = new Map<string, { cidrs: string[]; ports: PortSet }>();
  for (const piece of relation) {
    const key = portSetKey(piece.ports);
    const group = groups.get(key) ?? { cidrs: [], ports: piece.ports };
    group.cidrs.push(...intervalCidrs(piece.interval));
    groups.set(key, group);
  }
  return [...groups.values()];
}
