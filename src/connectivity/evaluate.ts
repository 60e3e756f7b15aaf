// The walk over compiled targets. One set of primitives answers both "which ports does this rule
// admit between these two endpoints" (the matrix, the diff) and "which rule admits this flow" (explain),
// so the explanation is the evaluation itself, printed.
import { intervalContains, parseAddress, type Address } from "./addresses.ts";
import type { CompiledRule, PeerMatcher, Target } from "./compile.ts";
import type { NamespaceInfo, Workload } from "./model.ts";
import { ALL_PORTS, intersectPorts, NO_PORTS, portsOf, subtractPorts, unionPorts, type PortSet } from "./ports.ts";

/** A workload with what matching needs, resolved once. */
export interface ResolvedWorkload {
  kind: "workload";
  workload: Workload;
  namespaceLabels: Readonly<Record<string, string>>;
  /** Empty: not known, so ipBlock matches are unknown. */
  addresses: readonly Address[];
}

export interface ExternalEndpoint {
  kind: "external";
  address: Address;
}

export type Endpoint = ResolvedWorkload | ExternalEndpoint;

export function resolveWorkload(workload: Workload, namespace: NamespaceInfo | undefined): ResolvedWorkload {
  const addresses = workload.ips.flatMap((ip) => parseAddress(ip) ?? []);
  return {
    kind: "workload",
    workload,
    namespaceLabels: namespace?.labels ?? { "kubernetes.io/metadata.name": workload.namespace },
    addresses,
  };
}

export type Match = "yes" | "no" | "unknown";

export function peerMatches(peer: PeerMatcher, endpoint: Endpoint): Match {
  switch (peer.kind) {
    case "any":
      return "yes";
    case "pods": {
      if (endpoint.kind === "external") return "no";
      const { namespaces } = peer;
      const inNamespace =
        namespaces.kind === "all" ||
        (namespaces.kind === "policy-namespace"
          ? endpoint.workload.namespace === namespaces.name
          : namespaces.matches(endpoint.namespaceLabels));
      return inNamespace && peer.pods(endpoint.workload.labels) ? "yes" : "no";
    }
    case "ipBlock": {
      // Upstream semantics (and the e2e conformance tests): an ipBlock also matches pods by their IPs.
      const addresses = endpoint.kind === "external" ? [endpoint.address] : endpoint.addresses;
      if (addresses.length === 0) return "unknown";
      return addresses.some((address) => peer.addresses.some((interval) => intervalContains(interval, address)))
        ? "yes"
        : "no";
    }
  }
}

/** The ports a rule admits towards `destination`: named ports resolve against the destination pod's container ports, per protocol. */
export function rulePorts(rule: CompiledRule, destination: Endpoint): PortSet {
  if (rule.namedPorts.length === 0 || destination.kind === "external") return rule.fixedPorts;
  let ports = rule.fixedPorts;
  for (const named of rule.namedPorts) {
    for (const declared of destination.workload.namedPorts) {
      if (declared.name === named.name && declared.protocol === named.protocol)
        ports = unionPorts(ports, portsOf(declared.protocol, declared.port));
    }
  }
  return ports;
}

/** With the peer that decided: the first that matches, else the first whose match is unknown. */
export type RuleOutcome = { match: "no"; peer: undefined } | { match: "yes" | "unknown"; peer: PeerMatcher };

export function ruleMatch(rule: CompiledRule, peer: Endpoint): RuleOutcome {
  let unknown: PeerMatcher | undefined;
  for (const matcher of rule.peers) {
    const match = peerMatches(matcher, peer);
    if (match === "yes") return { match, peer: matcher };
    if (match === "unknown") unknown ??= matcher;
  }
  return unknown === undefined ? { match: "no", peer: undefined } : { match: "unknown", peer: unknown };
}

export function selects(target: Target, workload: Workload): boolean {
  return target.namespace === workload.namespace && target.pods(workload.labels);
}

/** Ports admitted on one side, and ports that depend on addresses not known yet. */
export interface SidePorts {
  allowed: PortSet;
  unknown: PortSet;
}

export const OPEN_SIDE: SidePorts = { allowed: ALL_PORTS, unknown: NO_PORTS };

/**
 * One side of a connection: the targets selecting the subject (egress: the source; ingress: the
 * destination), the endpoint at the other end, and the destination (for named ports).
 * A subject no target selects is not isolated in that direction: everything is allowed.
 * `matchOf` lets the matrix memoize rule matches per class; it must agree with `ruleMatch`.
 */
export function sidePorts(
  targets: readonly Target[],
  peer: Endpoint,
  destination: Endpoint,
  matchOf: (rule: CompiledRule, peer: Endpoint) => Match = (rule, end) => ruleMatch(rule, end).match,
): SidePorts {
  if (targets.length === 0) return OPEN_SIDE;
  let allowed = NO_PORTS;
  let unknown = NO_PORTS;
  for (const target of targets) {
    for (const rule of target.rules) {
      const match = matchOf(rule, peer);
      if (match === "yes") allowed = unionPorts(allowed, rulePorts(rule, destination));
      else if (match === "unknown") unknown = unionPorts(unknown, rulePorts(rule, destination));
    }
  }
  return { allowed, unknown: subtractPorts(unknown, allowed) };
}

/** Both sides together: allowed where both allow; unknown where both at least might. */
export function combineSides(egress: SidePorts, ingress: SidePorts): SidePorts {
  const allowed = intersectPorts(egress.allowed, ingress.allowed);
  const possible = intersectPorts(
    unionPorts(egress.allowed, egress.unknown),
    unionPorts(ingress.allowed, ingress.unknown),
  );
  return { allowed, unknown: subtractPorts(possible, allowed) };
}
