// Each NetworkPolicy is compiled once into one Target per direction it governs: which pods it selects
// (the subject), and per rule the peers and ports it admits. The API server's defaults are applied
// here and nowhere else: policyTypes (Ingress, plus Egress when egress rules exist) and protocol TCP.
// What cannot be evaluated (invalid selectors, CIDRs, ports: the lint rules report them) is skipped
// and recorded as a Problem; a skipped peer narrows its rule, it never widens it to "everything".
import { FieldPath } from "../field-path.ts";
import type { NetworkPolicyPeer, NetworkPolicyPort } from "../kube-objects.ts";
import { parseCidr } from "../rules/cidr.ts";
import { effectivePolicyTypes } from "../rules/networkpolicy.ts";
import { portNameProblem } from "../rules/ports.ts";
import { blockIntervals, cidrInterval, type AddressInterval } from "./addresses.ts";
import type { Direction, PolicyInput, Problem } from "./model.ts";
import {
  ALL_PORTS,
  allPortsOf,
  isProtocol,
  MAX_PORT,
  MIN_PORT,
  NO_PORTS,
  portsOf,
  unionPorts,
  type PortSet,
  type Protocol,
} from "./ports.ts";
import { compileSelector, type LabelMatcher } from "./selectors.ts";

export type NamespaceMatcher =
  { kind: "policy-namespace"; name: string } | { kind: "all" } | { kind: "selector"; matches: LabelMatcher };

export type PeerMatcher =
  /** A rule without `from`/`to`: every source or destination, in the cluster or not. */
  | { kind: "any"; path: string }
  | { kind: "pods"; path: string; source: NetworkPolicyPeer; namespaces: NamespaceMatcher; pods: LabelMatcher }
  | { kind: "ipBlock"; path: string; source: NetworkPolicyPeer; key: string; addresses: readonly AddressInterval[] };

export type PortMatcher = { kind: "ports"; ports: PortSet } | { kind: "named"; protocol: Protocol; name: string };

export interface CompiledRule {
  /** `NAMESPACE/NAME` of the policy. */
  policy: string;
  /** `spec.ingress[1]` */
  path: string;
  peers: readonly PeerMatcher[];
  /** Numeric ports, merged; named ports are resolved per destination. */
  fixedPorts: PortSet;
  namedPorts: readonly { protocol: Protocol; name: string }[];
}

export interface Target {
  policy: string;
  direction: Direction;
  namespace: string;
  pods: LabelMatcher;
  rules: readonly CompiledRule[];
}

export interface CompiledPolicies {
  ingress: Target[];
  egress: Target[];
  problems: Problem[];
}

const RULES_FIELD: Record<Direction, "ingress" | "egress"> = { ingress: "ingress", egress: "egress" };
const PEERS_FIELD: Record<Direction, "from" | "to"> = { ingress: "from", egress: "to" };
const POLICY_TYPE: Record<Direction, string> = { ingress: "Ingress", egress: "Egress" };

export function compilePolicies(policies: readonly PolicyInput[]): CompiledPolicies {
  const out: CompiledPolicies = { ingress: [], egress: [], problems: [] };
  // In name order, so that explanations list policies the same way whatever order the input had.
  const sorted = [...policies].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  for (const input of sorted) {
    const policy = `${input.namespace}/${input.name}`;
    const problem = (path: FieldPath | string, message: string) =>
      out.problems.push({ policy, path: String(path), message });
    const spec = input.policy.spec;
    const subject = compileSelector(spec.podSelector, FieldPath.root("spec", "podSelector"));
    if ("problem" in subject) {
      problem(subject.problem.path, `${subject.problem.message}; the whole policy is not evaluated`);
      continue;
    }
    const types = effectivePolicyTypes(spec);
    for (const type of types) {
      if (type !== "Ingress" && type !== "Egress")
        problem(
          FieldPath.root("spec", "policyTypes"),
          `\`${type}\` is not a policy type (Ingress or Egress) and is ignored`,
        );
    }
    for (const direction of ["ingress", "egress"] as const) {
      const rules = spec[RULES_FIELD[direction]] ?? [];
      if (!types.has(POLICY_TYPE[direction])) {
        if (rules.length > 0)
          problem(
            FieldPath.root("spec", direction),
            `ignored, as Kubernetes does: \`policyTypes\` does not include ${POLICY_TYPE[direction]}`,
          );
        continue;
      }
      const compiled = rules.map((rule, index) => {
        const path = FieldPath.root("spec", direction).index(index);
        const peers =
          (direction === "ingress"
            ? (rule as { from?: NetworkPolicyPeer[] }).from
            : (rule as { to?: NetworkPolicyPeer[] }).to) ?? [];
        return compileRule(policy, input.namespace, path, direction, peers, rule.ports ?? [], problem);
      });
      out[direction].push({ policy, direction, namespace: input.namespace, pods: subject.matcher, rules: compiled });
    }
  }
  return out;
}

type Report = (path: FieldPath | string, message: string) => void;

function compileRule(
  policy: string,
  namespace: string,
  path: FieldPath,
  direction: Direction,
  peers: readonly NetworkPolicyPeer[],
  ports: readonly NetworkPolicyPort[],
  problem: Report,
): CompiledRule {
  const peersPath = path.child(PEERS_FIELD[direction]);
  const compiledPeers: PeerMatcher[] =
    peers.length === 0
      ? [{ kind: "any", path: String(path) }]
      : peers.flatMap((peer, index) => compilePeer(peer, namespace, peersPath.index(index), problem));
  let fixedPorts = ports.length === 0 ? ALL_PORTS : NO_PORTS;
  const namedPorts: { protocol: Protocol; name: string }[] = [];
  ports.forEach((port, index) => {
    const matcher = compilePort(port, path.child("ports").index(index), problem);
    if (matcher?.kind === "ports") fixedPorts = unionPorts(fixedPorts, matcher.ports);
    else if (matcher?.kind === "named") namedPorts.push({ protocol: matcher.protocol, name: matcher.name });
  });
  return { policy, path: String(path), peers: compiledPeers, fixedPorts, namedPorts };
}

function compilePeer(peer: NetworkPolicyPeer, namespace: string, path: FieldPath, problem: Report): PeerMatcher[] {
  const skip = (where: FieldPath | string, message: string) => {
    problem(where, `${message}; this peer is not evaluated`);
    return [];
  };
  if (peer.ipBlock !== undefined) {
    if (peer.podSelector !== undefined || peer.namespaceSelector !== undefined)
      return skip(path, "`ipBlock` may not be combined with a selector");
    const cidr = parseCidr(peer.ipBlock.cidr);
    if (!cidr.ok) return skip(path.child("ipBlock", "cidr"), `\`${peer.ipBlock.cidr}\`: ${cidr.reason}`);
    const except: AddressInterval[] = [];
    for (const [index, text] of (peer.ipBlock.except ?? []).entries()) {
      const entry = parseCidr(text);
      if (!entry.ok) return skip(path.child("ipBlock", "except").index(index), `\`${text}\`: ${entry.reason}`);
      except.push(cidrInterval(entry.cidr));
    }
    const key = `${cidr.cidr.network} except ${except.map((e) => `${e.family}:${e.first}-${e.last}`).join(",")}`;
    return [
      {
        kind: "ipBlock",
        path: String(path),
        source: peer,
        key,
        addresses: blockIntervals(cidrInterval(cidr.cidr), except),
      },
    ];
  }
  if (peer.podSelector === undefined && peer.namespaceSelector === undefined)
    return skip(path, "a peer needs `podSelector`, `namespaceSelector` or `ipBlock`");
  let namespaces: NamespaceMatcher = { kind: "policy-namespace", name: namespace };
  if (peer.namespaceSelector !== undefined) {
    const selector = compileSelector(peer.namespaceSelector, path.child("namespaceSelector"));
    if ("problem" in selector) return skip(selector.problem.path, selector.problem.message);
    namespaces = selector.empty ? { kind: "all" } : { kind: "selector", matches: selector.matcher };
  }
  let pods: LabelMatcher = () => true;
  if (peer.podSelector !== undefined) {
    const selector = compileSelector(peer.podSelector, path.child("podSelector"));
    if ("problem" in selector) return skip(selector.problem.path, selector.problem.message);
    pods = selector.matcher;
  }
  return [{ kind: "pods", path: String(path), source: peer, namespaces, pods }];
}

function compilePort(port: NetworkPolicyPort, path: FieldPath, problem: Report): PortMatcher | undefined {
  const protocol = port.protocol ?? "TCP";
  const skip = (where: FieldPath, message: string) => {
    problem(where, `${message}; this port is not evaluated`);
    return undefined;
  };
  if (!isProtocol(protocol)) return skip(path.child("protocol"), `\`${protocol}\` is not TCP, UDP or SCTP`);
  if (port.port === undefined) return { kind: "ports", ports: allPortsOf(protocol) };
  if (typeof port.port === "string") {
    const invalid = portNameProblem(port.port);
    if (invalid !== undefined) return skip(path.child("port"), `\`${port.port}\` is not a port name: it ${invalid}`);
    return { kind: "named", protocol, name: port.port };
  }
  const last = port.endPort ?? port.port;
  if (port.port < MIN_PORT || port.port > MAX_PORT)
    return skip(path.child("port"), `${port.port} is not between ${MIN_PORT} and ${MAX_PORT}`);
  if (last < port.port || last > MAX_PORT)
    return skip(path.child("endPort"), `${last} is not between \`port\` (${port.port}) and ${MAX_PORT}`);
  return { kind: "ports", ports: portsOf(protocol, port.port, last) };
}
