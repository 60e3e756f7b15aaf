// Strict CIDR parsing and the ipBlock rules (NP020-NP025).
// Kubernetes accepted sloppy CIDRs until 1.36 (StrictIPCIDRValidation): `010.0.0.0/8` (octal or
// decimal, depending on who reads it: CVE-2021-29923), `10.0.0.1/8`, IPv4-mapped IPv6. Every CNI then
// guesses; netfence refuses to guess.
import ipaddr from "ipaddr.js";
import type { FieldPath } from "../field-path.ts";
import type { IPBlock } from "../kube-objects.ts";
import { examplePolicy, rule, type ExceptEntry, type IPBlockNode, type Problem } from "./rule.ts";

type Address = ipaddr.IPv4 | ipaddr.IPv6;

export interface Cidr {
  family: 4 | 6;
  /** For printing and for callers that want bytes; containment uses `value`. */
  address: Address;
  prefix: number;
  /** The network in canonical form, host bits cleared. */
  network: string;
  /**
   * The address as an integer: an unsigned 32-bit number for IPv4, a 128-bit BigInt for IPv6.
   * Containment and ordering compare these (one XOR and a shift) instead of walking ipaddr.js parts:
   * a 1 MB allowlist has thousands of except entries to place.
   */
  value: number | bigint;
}

export type CidrParse =
  { ok: true; cidr: Cidr; hostBitsSet: boolean; nonCanonical: boolean } | { ok: false; reason: string };

const LOOSE_IPV4 = /^\d+\.\d+\.\d+\.\d+$/;
const PREFIX = /^(0|[1-9]\d{0,2})$/;

function stripLeadingZeros(ipv4: string): string {
  return ipv4
    .split(".")
    .map((octet) => String(Number(octet)))
    .join(".");
}

/**
 * A strict dotted quad (four decimal octets of 0-255, no leading zero) as an unsigned 32-bit number;
 * -1 for anything else. One pass over the characters: a 1 MB allowlist has thousands of CIDRs, and two
 * regular expressions, a split and four conversions each were half of its rules' time. Whatever it
 * refuses goes on to the checks below, which word the problem.
 */
export function strictIPv4Value(text: string): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 46 /* . */) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else if (code >= 48 && code <= 57) {
      if (digits > 0 && octet === 0) return -1; // a leading zero
      octet = octet * 10 + (code - 48);
      if (octet > 255) return -1;
      digits++;
    } else return -1;
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

function parseAddress(text: string): { ok: true; address: Address } | { ok: false; reason: string } {
  const value = strictIPv4Value(text);
  if (value >= 0)
    return {
      ok: true,
      address: new ipaddr.IPv4([value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255]),
    };
  if (LOOSE_IPV4.test(text)) {
    // Four groups of digits that are not a strict dotted quad: a leading zero or an octet above 255.
    const decimal = stripLeadingZeros(text);
    return strictIPv4Value(decimal) >= 0
      ? {
          ok: false,
          reason: `an IPv4 octet has a leading zero, which some parsers read as octal (CVE-2021-29923); write \`${decimal}\``,
        }
      : { ok: false, reason: "an IPv4 octet is above 255" };
  }
  if (text.includes("%")) return { ok: false, reason: "an IP network cannot carry a zone (`%...`)" };
  if (!text.includes(":")) return { ok: false, reason: "not an IP address" };
  let address: ipaddr.IPv6;
  try {
    // One parse: IPv6.isValid is this same parse in a try, and parsing again doubled the cost.
    address = ipaddr.IPv6.parse(text);
  } catch {
    return { ok: false, reason: "not an IP address" };
  }
  if (address.isIPv4MappedAddress()) {
    return {
      ok: false,
      reason: `IPv4-mapped IPv6 addresses are ambiguous; write the IPv4 network (\`${address.toIPv4Address().toString()}\`) instead`,
    };
  }
  return { ok: true, address };
}

export function parseCidr(text: string): CidrParse {
  if (text === "")
    return { ok: false, reason: "it is empty; a CIDR such as `10.9.8.0/24` or `2001:db8::/64` is required" };
  const slash = text.indexOf("/");
  if (slash < 0) {
    const hostPart = text.replace(/:(\d{1,3})$/, "");
    if (hostPart !== text && LOOSE_IPV4.test(hostPart)) {
      return { ok: false, reason: "the prefix length must follow a `/`, not a `:`" };
    }
    const parsed = parseAddress(text);
    if (!parsed.ok) return parsed;
    const host = parsed.address.kind() === "ipv4" ? "32" : "128";
    return { ok: false, reason: `a CIDR needs a prefix length; for one host write \`${text}/${host}\`` };
  }
  const addressText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const parsed = parseAddress(addressText);
  if (!parsed.ok) return parsed;
  const { address } = parsed;
  const family = address.kind() === "ipv4" ? 4 : 6;
  const maxPrefix = family === 4 ? 32 : 128;
  if (!PREFIX.test(prefixText)) {
    if (/^0\d+$/.test(prefixText) && Number(prefixText) <= maxPrefix) {
      return { ok: false, reason: `the prefix length has a leading zero; write \`/${Number(prefixText)}\`` };
    }
    return /^\d+$/.test(prefixText)
      ? { ok: false, reason: `the prefix length must be at most ${maxPrefix} for IPv${family}` }
      : { ok: false, reason: `the prefix length must be a number from 0 to ${maxPrefix}` };
  }
  const prefix = Number(prefixText);
  if (prefix > maxPrefix)
    return { ok: false, reason: `the prefix length must be at most ${maxPrefix} for IPv${family}` };
  if (address instanceof ipaddr.IPv4) {
    // Integer arithmetic on the four octets: the strict text is already canonical.
    const [a, b, c, d] = address.octets as [number, number, number, number];
    const value = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
    const net = prefix === 0 ? 0 : (value & (0xffffffff << (32 - prefix))) >>> 0;
    const network = `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${prefix}`;
    return {
      ok: true,
      cidr: { family: 4, address, prefix, network, value },
      hostBitsSet: net !== value,
      nonCanonical: false,
    };
  }
  // IPv6: the same on a 128-bit BigInt built from the eight 16-bit parts.
  const ipv6 = address as ipaddr.IPv6;
  const value = ipv6.parts.reduce((acc, part) => (acc << 16n) | BigInt(part), 0n);
  const hostBits = BigInt(128 - prefix);
  const net = (value >> hostBits) << hostBits;
  const canonical = ipv6.toRFC5952String();
  const network = `${net === value ? canonical : ipv6Text(net)}/${prefix}`;
  return {
    ok: true,
    cidr: { family, address, prefix, network, value },
    hostBitsSet: net !== value,
    nonCanonical: addressText !== canonical,
  };
}

function ipv6Text(value: bigint): string {
  const parts: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) parts.push(Number((value >> shift) & 0xffffn));
  return new ipaddr.IPv6(parts).toRFC5952String();
}

/** True when every address of `inner` is inside `outer`. */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  if (inner.family !== outer.family || inner.prefix < outer.prefix) return false;
  if (outer.family === 4) {
    // `>>> 32` would shift by 0 (shift counts are taken mod 32): /0 contains every IPv4 network.
    return outer.prefix === 0 || ((inner.value as number) ^ (outer.value as number)) >>> (32 - outer.prefix) === 0;
  }
  const hostBits = BigInt(128 - outer.prefix);
  return (inner.value as bigint) >> hostBits === (outer.value as bigint) >> hostBits;
}

/** Sorts networks by address (family first), as fixed-width hex: a container sorts before what it contains. */
function networkKey(cidr: Cidr): string {
  return cidr.family === 4
    ? `4${cidr.value.toString(16).padStart(8, "0")}`
    : `6${cidr.value.toString(16).padStart(32, "0")}`;
}

function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

/** Parses an ipBlock's CIDRs once and decides which except entries except anything (NP022). */
export function ipBlockNode(block: IPBlock, direction: "ingress" | "egress"): IPBlockNode {
  const cidr = parseCidr(block.cidr);
  const outer = cidr.ok ? cidr.cidr : undefined;
  const excepts: ExceptEntry[] = (block.except ?? []).map((text, index) => {
    const parsed = parseCidr(text);
    return { text, index, parsed, problem: exceptProblem(text, parsed, outer, block.cidr) };
  });
  const validExcepts = excepts.flatMap((entry) =>
    entry.problem === undefined && entry.parsed.ok
      ? [{ cidr: entry.parsed.cidr, index: entry.index, text: entry.text }]
      : [],
  );
  return { block, direction, cidr, excepts, validExcepts };
}

function exceptProblem(text: string, entry: CidrParse, cidr: Cidr | undefined, cidrText: string): string | undefined {
  if (!entry.ok) return `\`${text}\` is not a valid CIDR: ${entry.reason}`;
  if (entry.hostBitsSet) return `\`${text}\` has host bits set; the network is \`${entry.cidr.network}\``;
  if (cidr === undefined) return undefined;
  if (entry.cidr.family !== cidr.family)
    return `\`${text}\` is IPv${entry.cidr.family} but \`cidr\` is IPv${cidr.family}`;
  if (!cidrContains(cidr, entry.cidr) || entry.cidr.prefix === cidr.prefix)
    return `\`${text}\` must be a strict subset of \`cidr\` (\`${cidrText}\`)`;
  return undefined;
}

const ipBlockExample = (block: string) => examplePolicy(`podSelector: {}\ningress:\n- from:\n  - ipBlock: ${block}`);

export const NP020 = rule({
  id: "NP020",
  kind: "NetworkPolicy",
  at: "ipBlock",
  defaultAction: "deny",
  title: "cidr is not a valid CIDR under strict parsing",
  why: "leading zeros are ambiguous octal (CVE-2021-29923), a missing prefix, a zone, an IPv4-mapped IPv6 or `:` for `/` are stored by Kubernetes before 1.36 and then mean something else to each CNI.",
  fix: "write the network as `a.b.c.d/n` or a canonical IPv6 `x::/n`, without leading zeros.",
  example: { yaml: ipBlockExample("{cidr: 010.0.0.0/8}") },
  check: ({ block, cidr }, path) =>
    cidr.ok ? [] : [{ path: path.child("cidr"), message: `\`${block.cidr}\` is not a valid CIDR: ${cidr.reason}` }],
});

export const NP021 = rule({
  id: "NP021",
  kind: "NetworkPolicy",
  at: "ipBlock",
  defaultAction: "deny",
  title: "cidr has host bits set",
  why: "`10.0.0.1/8` means `10.0.0.0/8` to most CNIs but reads like a single host: the policy admits far more than intended, or less.",
  fix: "use the network address the message suggests, or `/32` (`/128`) for a single host.",
  example: { yaml: ipBlockExample("{cidr: 10.0.0.1/8}") },
  check: ({ block, cidr }, path) =>
    cidr.ok && cidr.hostBitsSet
      ? [
          {
            path: path.child("cidr"),
            message: `\`${block.cidr}\` has host bits set; the network is \`${cidr.cidr.network}\` (use \`/${cidr.cidr.family === 4 ? 32 : 128}\` for one host)`,
          },
        ]
      : [],
});

export const NP022 = rule({
  id: "NP022",
  kind: "NetworkPolicy",
  at: "ipBlock",
  defaultAction: "deny",
  title: "an except entry is invalid, of the other family, or not strictly inside cidr",
  why: "Kubernetes rejects except entries outside cidr; an invalid one is stored by older clusters and excepts nothing.",
  fix: "list only networks strictly inside `cidr`, of the same address family.",
  example: { yaml: ipBlockExample("{cidr: 10.0.0.0/16, except: [10.1.0.0/24]}") },
  check: ({ excepts }, path) =>
    excepts.flatMap((entry) =>
      entry.problem === undefined ? [] : [{ path: path.child("except").index(entry.index), message: entry.problem }],
    ),
});

export const NP023 = rule({
  id: "NP023",
  kind: "NetworkPolicy",
  at: "ipBlock",
  defaultAction: "warn",
  title: "duplicate or overlapping except entries",
  why: "one entry already excepts the other's addresses; the list says less than it seems.",
  fix: "keep the wider entry and delete the one inside it.",
  example: { yaml: ipBlockExample("{cidr: 10.0.0.0/8, except: [10.1.0.0/16, 10.1.2.0/24]}") },
  check: ({ validExcepts }, path) => {
    // Sorted by network, wider first, then by position: every entry's containers come before it,
    // as a chain on `enclosing`, so one pass finds them (comparing each pair was quadratic: 50,000
    // entries held the webhook for a minute).
    const sorted = validExcepts
      .map((entry) => ({ ...entry, key: networkKey(entry.cidr) }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.cidr.prefix - b.cidr.prefix || a.index - b.index));
    // Each frame: an entry, and the first-listed entry of the chain up to it (what the message names).
    const enclosing: { entry: (typeof sorted)[number]; first: (typeof sorted)[number] }[] = [];
    const problems: { index: number; problem: Problem }[] = [];
    for (const entry of sorted) {
      while (enclosing.length > 0 && !cidrContains(enclosing.at(-1)!.entry.cidr, entry.cidr)) enclosing.pop();
      const wider = enclosing.at(-1)?.first;
      if (wider !== undefined) {
        const what = wider.cidr.prefix === entry.cidr.prefix ? "duplicates" : "lies inside";
        problems.push({
          index: entry.index,
          problem: {
            path: path.child("except").index(entry.index),
            message: `\`${entry.cidr.network}\` ${what} \`except[${wider.index}]\` (\`${wider.cidr.network}\`); delete it`,
          },
        });
      }
      enclosing.push({ entry, first: wider !== undefined && wider.index < entry.index ? wider : entry });
    }
    return problems.sort((a, b) => a.index - b.index).map(({ problem }) => problem);
  },
});

// Without configured pod CIDRs netfence cannot know where pods live, so only an ipBlock of every
// address (`/0`) with no except at all is flagged: that one covers pods on any cluster.
export const NP024 = rule({
  id: "NP024",
  kind: "NetworkPolicy",
  at: "ipBlock",
  defaultAction: "warn",
  title: "an ingress ipBlock covers the pod network without excepting it",
  why: "some CNIs (Calico) then admit pods of every namespace through the ipBlock, defeating namespace isolation.",
  fix: "add the pod CIDRs to `except`, or use namespaceSelector/podSelector peers for in-cluster sources.",
  example: { yaml: ipBlockExample("{cidr: 0.0.0.0/0}") },
  check: ({ block, direction, cidr, validExcepts }, path, context) => {
    if (!cidr.ok || direction !== "ingress") return [];
    const excepts = validExcepts.map((entry) => entry.cidr);
    if (context.podCIDRs.length === 0) {
      return cidr.cidr.prefix === 0 && excepts.length === 0
        ? [
            {
              path: path.child("cidr"),
              message: `\`${block.cidr}\` covers every address, pods included; some CNIs then admit pods of every namespace: add the pod CIDRs to \`except\``,
            },
          ]
        : [];
    }
    const admitted = context.podCIDRs.filter(
      (pod) =>
        cidrsOverlap(cidr.cidr, pod) &&
        !excepts.some((entry) => cidrContains(entry, pod) || cidrContains(entry, cidr.cidr)),
    );
    if (admitted.length === 0) return [];
    const names = admitted.map((pod) => `\`${pod.network}\``).join(", ");
    return [
      {
        path: path.child("cidr"),
        message: `\`${block.cidr}\` covers the pod network ${names}; some CNIs then admit pods of every namespace: add it to \`except\``,
      },
    ];
  },
});

export const NP025 = rule({
  id: "NP025",
  kind: "NetworkPolicy",
  at: "ipBlock",
  defaultAction: "warn",
  title: "IPv6 address not in RFC 5952 canonical form",
  why: "non-canonical spellings make reviews and diffs miss equal networks.",
  fix: "write the canonical form the message suggests.",
  example: { yaml: ipBlockExample("{cidr: '2001:DB8::/32'}") },
  check: ({ block, cidr, excepts }, path) => {
    const problems: Problem[] = [];
    if (cidr.ok && !cidr.hostBitsSet && cidr.nonCanonical) {
      problems.push({
        path: path.child("cidr"),
        message: `\`${block.cidr}\` is not in canonical form; write \`${cidr.cidr.network}\``,
      });
    }
    for (const entry of excepts) {
      if (entry.problem === undefined && entry.parsed.ok && entry.parsed.nonCanonical) {
        problems.push({
          path: path.child("except").index(entry.index),
          message: `\`${entry.text}\` is not in canonical form; write \`${entry.parsed.cidr.network}\``,
        });
      }
    }
    return problems;
  },
});
