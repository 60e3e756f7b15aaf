// Strict CIDR parsing and the ipBlock rules (NP020-NP025).
// Kubernetes accepted sloppy CIDRs until 1.36 (StrictIPCIDRValidation): `010.0.0.0/8` (octal or
// decimal, depending on who reads it: CVE-2021-29923), `10.0.0.1/8`, IPv4-mapped IPv6. Every CNI then
// guesses; netfence refuses to guess.
import ipaddr from "ipaddr.js";
import type { FieldPath } from "../field-path.ts";
import type { IPBlock } from "../kube-objects.ts";
import { finding, type Finding } from "./finding.ts";

type Address = ipaddr.IPv4 | ipaddr.IPv6;

export interface Cidr {
  family: 4 | 6;
  address: Address;
  prefix: number;
  /** The network in canonical form, host bits cleared. */
  network: string;
}

export type CidrParse =
  | { ok: true; cidr: Cidr; hostBitsSet: boolean; nonCanonical: boolean }
  | { ok: false; reason: string };

const IPV4_OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const STRICT_IPV4 = new RegExp(`^${IPV4_OCTET}(?:\\.${IPV4_OCTET}){3}$`);
const LOOSE_IPV4 = /^\d+\.\d+\.\d+\.\d+$/;
const PREFIX = /^(0|[1-9]\d{0,2})$/;

function stripLeadingZeros(ipv4: string): string {
  return ipv4
    .split(".")
    .map((octet) => String(Number(octet)))
    .join(".");
}

function parseAddress(text: string): { ok: true; address: Address } | { ok: false; reason: string } {
  if (LOOSE_IPV4.test(text)) {
    if (!STRICT_IPV4.test(text)) {
      const decimal = stripLeadingZeros(text);
      return STRICT_IPV4.test(decimal)
        ? {
            ok: false,
            reason: `an IPv4 octet has a leading zero, which some parsers read as octal (CVE-2021-29923); write \`${decimal}\``,
          }
        : { ok: false, reason: "an IPv4 octet is above 255" };
    }
    // STRICT_IPV4 has checked every octet: build the address from them, not through ipaddr's parser.
    return { ok: true, address: new ipaddr.IPv4(text.split(".").map(Number)) };
  }
  if (text.includes("%")) return { ok: false, reason: "an IP network cannot carry a zone (`%...`)" };
  if (!text.includes(":") || !ipaddr.IPv6.isValid(text)) return { ok: false, reason: "not an IP address" };
  const address = ipaddr.IPv6.parse(text);
  if (address.isIPv4MappedAddress()) {
    return {
      ok: false,
      reason: `IPv4-mapped IPv6 addresses are ambiguous; write the IPv4 network (\`${address.toIPv4Address().toString()}\`) instead`,
    };
  }
  return { ok: true, address };
}

export function parseCidr(text: string): CidrParse {
  if (text === "") return { ok: false, reason: "it is empty; a CIDR such as `10.9.8.0/24` or `2001:db8::/64` is required" };
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
    return /^\d+$/.test(prefixText)
      ? { ok: false, reason: `the prefix length has a leading zero; write \`/${Number(prefixText)}\`` }
      : { ok: false, reason: `the prefix length must be a number from 0 to ${maxPrefix}` };
  }
  const prefix = Number(prefixText);
  if (prefix > maxPrefix) return { ok: false, reason: `the prefix length must be at most ${maxPrefix} for IPv${family}` };
  if (family === 4) {
    // Integer arithmetic on the four octets: the strict text is already canonical.
    const [a, b, c, d] = (address as ipaddr.IPv4).octets as [number, number, number, number];
    const value = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
    const net = prefix === 0 ? 0 : (value & (0xffffffff << (32 - prefix))) >>> 0;
    const network = `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${prefix}`;
    return { ok: true, cidr: { family, address, prefix, network }, hostBitsSet: net !== value, nonCanonical: false };
  }
  const networkAddress = ipaddr.IPv6.networkAddressFromCIDR(`${addressText}/${prefix}`);
  const network = `${canonicalAddress(networkAddress)}/${prefix}`;
  const hostBitsSet = canonicalAddress(networkAddress) !== canonicalAddress(address);
  const nonCanonical = addressText !== canonicalAddress(address);
  return { ok: true, cidr: { family, address, prefix, network }, hostBitsSet, nonCanonical };
}

function canonicalAddress(address: Address): string {
  return address.kind() === "ipv6" ? (address as ipaddr.IPv6).toRFC5952String() : address.toString();
}

/** True when every address of `inner` is inside `outer`. */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || inner.prefix < outer.prefix) return false;
  return (inner.address as ipaddr.IPv4).match(outer.address as ipaddr.IPv4, outer.prefix);
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}


export interface IPBlockContext {
  direction: "ingress" | "egress";
  podCIDRs: readonly Cidr[];
}

export function ipBlockFindings(block: IPBlock, path: FieldPath, context: IPBlockContext): Finding[] {
  const findings: Finding[] = [];
  const cidrPath = path.child("cidr");
  const parsed = parseCidr(block.cidr);
  if (!parsed.ok) {
    findings.push(finding("NP020", cidrPath, `\`${block.cidr}\` is not a valid CIDR: ${parsed.reason}`));
  } else if (parsed.hostBitsSet) {
    findings.push(
      finding(
        "NP021",
        cidrPath,
        `\`${block.cidr}\` has host bits set; the network is \`${parsed.cidr.network}\` (use \`/${parsed.cidr.family === 4 ? 32 : 128}\` for one host)`,
      ),
    );
  } else if (parsed.nonCanonical) {
    findings.push(finding("NP025", cidrPath, `\`${block.cidr}\` is not in canonical form; write \`${parsed.cidr.network}\``));
  }
  const cidr = parsed.ok ? parsed.cidr : undefined;

  const excepts: { cidr: Cidr; index: number }[] = [];
  (block.except ?? []).forEach((text, index) => {
    const exceptPath = path.child("except").index(index);
    const entry = parseCidr(text);
    if (!entry.ok) {
      findings.push(finding("NP022", exceptPath, `\`${text}\` is not a valid CIDR: ${entry.reason}`));
      return;
    }
    if (entry.hostBitsSet) {
      findings.push(finding("NP022", exceptPath, `\`${text}\` has host bits set; the network is \`${entry.cidr.network}\``));
      return;
    }
    if (cidr !== undefined) {
      if (entry.cidr.family !== cidr.family) {
        findings.push(finding("NP022", exceptPath, `\`${text}\` is IPv${entry.cidr.family} but \`cidr\` is IPv${cidr.family}`));
        return;
      }
      if (!cidrContains(cidr, entry.cidr) || entry.cidr.prefix === cidr.prefix) {
        findings.push(finding("NP022", exceptPath, `\`${text}\` must be a strict subset of \`cidr\` (\`${block.cidr}\`)`));
        return;
      }
    }
    if (entry.nonCanonical) {
      findings.push(finding("NP025", exceptPath, `\`${text}\` is not in canonical form; write \`${entry.cidr.network}\``));
    }
    excepts.push({ cidr: entry.cidr, index });
  });

  for (const entry of excepts) {
    const wider = excepts.find(
      (other) => other !== entry && cidrContains(other.cidr, entry.cidr) && (other.cidr.prefix < entry.cidr.prefix || other.index < entry.index),
    );
    if (wider !== undefined) {
      const what = wider.cidr.prefix === entry.cidr.prefix ? "duplicates" : "lies inside";
      findings.push(
        finding("NP023", path.child("except").index(entry.index), `\`${entry.cidr.network}\` ${what} \`except[${wider.index}]\` (\`${wider.cidr.network}\`); delete it`),
      );
    }
  }

  if (cidr !== undefined && context.direction === "ingress") {
    const podFinding = podNetworkFinding(block.cidr, cidr, excepts.map((entry) => entry.cidr), context.podCIDRs, path);
    if (podFinding !== undefined) findings.push(podFinding);
  }
  return findings;
}

// NP024. Without configured pod CIDRs netfence cannot know where pods live, so only an ipBlock of
// every address (`/0`) with no except at all is flagged: that one covers pods on any cluster.
function podNetworkFinding(
  text: string,
  cidr: Cidr,
  excepts: readonly Cidr[],
  podCIDRs: readonly Cidr[],
  path: FieldPath,
): Finding | undefined {
  if (podCIDRs.length === 0) {
    return cidr.prefix === 0 && excepts.length === 0
      ? finding(
          "NP024",
          path.child("cidr"),
          `\`${text}\` covers every address, pods included; some CNIs then admit pods of every namespace: add the pod CIDRs to \`except\``,
        )
      : undefined;
  }
  const admitted = podCIDRs.filter(
    (pod) => cidrsOverlap(cidr, pod) && !excepts.some((entry) => cidrContains(entry, pod) || cidrContains(entry, cidr)),
  );
  if (admitted.length === 0) return undefined;
  const names = admitted.map((pod) => `\`${pod.network}\``).join(", ");
  return finding(
    "NP024",
    path.child("cidr"),
    `\`${text}\` covers the pod network ${names}; some CNIs then admit pods of every namespace: add it to \`except\``,
  );
}
