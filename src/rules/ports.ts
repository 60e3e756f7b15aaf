// NP030-NP034: ports and protocols, as ValidateNetworkPolicyPort checks them, plus the named-port trap.
import type { FieldPath } from "../field-path.ts";
import type { NetworkPolicyPort } from "../kube-objects.ts";
import { examplePolicy, rule, type Problem } from "./rule.ts";

const PROTOCOLS = ["TCP", "UDP", "SCTP"];
const MAX_PORT = 65535;

/** IsValidPortName: an IANA_SVC_NAME (RFC 6335). */
export function portNameProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > 15) return "must be 1 to 15 characters long";
  if (!/^[-a-z0-9]+$/.test(name)) return "must contain only lowercase letters, digits and '-'";
  if (!/[a-z]/.test(name)) return "must contain at least one letter";
  if (name.startsWith("-") || name.endsWith("-")) return "must not begin or end with '-'";
  if (name.includes("--")) return "must not contain consecutive '-'";
  return undefined;
}

const portExample = (port: string) => examplePolicy(`podSelector: {}\ningress:\n- ports:\n  - ${port}`);

export const NP030 = rule({
  id: "NP030",
  kind: "NetworkPolicy",
  at: "port",
  defaultAction: "deny",
  title: "protocol other than TCP, UDP or SCTP",
  why: "Kubernetes only accepts these three, case-sensitive.",
  fix: "use `TCP`, `UDP` or `SCTP`.",
  example: { yaml: portExample("{protocol: ICMP, port: 8}") },
  check: (port, path) => {
    if (port.protocol === undefined || PROTOCOLS.includes(port.protocol)) return [];
    const upper = port.protocol.toUpperCase();
    const hint = PROTOCOLS.includes(upper) ? `; write \`${upper}\` (case-sensitive)` : "";
    return [
      { path: path.child("protocol"), message: `\`${port.protocol}\` is not supported; use TCP, UDP or SCTP${hint}` },
    ];
  },
});

export const NP031 = rule({
  id: "NP031",
  kind: "NetworkPolicy",
  at: "port",
  defaultAction: "warn",
  title: "SCTP port",
  why: "the CNI must support SCTP; many do not and ignore the rule.",
  fix: "check that your CNI enforces SCTP, then set this rule to `off`.",
  example: { yaml: portExample("{protocol: SCTP, port: 9000}") },
  check: (port, path) =>
    port.protocol === "SCTP"
      ? [{ path: path.child("protocol"), message: "SCTP is enforced only by CNIs that support it; check yours" }]
      : [],
});

export const NP032 = rule({
  id: "NP032",
  kind: "NetworkPolicy",
  at: "port",
  defaultAction: "deny",
  title: "port outside 1-65535, or a named port that is not a valid IANA service name",
  why: "Kubernetes rejects both.",
  fix: "use a number from 1 to 65535, or a container port name of at most 15 lowercase letters, digits and dashes.",
  example: { yaml: portExample("{protocol: TCP, port: 70000}") },
  check: (port, path) => {
    if (typeof port.port === "number") {
      return port.port < 1 || port.port > MAX_PORT
        ? [{ path: path.child("port"), message: `${port.port} must be between 1 and ${MAX_PORT}, inclusive` }]
        : [];
    }
    if (typeof port.port !== "string") return [];
    const problem = portNameProblem(port.port);
    return problem === undefined
      ? []
      : [
          {
            path: path.child("port"),
            message: `\`${port.port}\` is not a valid port name: it ${problem} (or use a number)`,
          },
        ];
  },
});

export const NP033 = rule({
  id: "NP033",
  kind: "NetworkPolicy",
  at: "port",
  defaultAction: "deny",
  title: "endPort without a numeric port, endPort below port, or above 65535",
  why: "Kubernetes rejects these ranges.",
  fix: "give a numeric `port` and an `endPort` between it and 65535.",
  example: { yaml: portExample("{protocol: TCP, port: 8080, endPort: 80}") },
  check: (port, path) => {
    if (port.endPort === undefined) return [];
    const endPath = path.child("endPort");
    const problems: Problem[] = [];
    if (port.port === undefined) problems.push({ path: endPath, message: "may not be specified without `port`" });
    else if (typeof port.port === "string")
      problems.push({ path: endPath, message: "may not be specified when `port` is non-numeric" });
    else if (port.endPort < port.port)
      problems.push({
        path: endPath,
        message: `${port.endPort} must be greater than or equal to \`port\` (${port.port})`,
      });
    if (port.endPort < 1 || port.endPort > MAX_PORT)
      problems.push({ path: endPath, message: `${port.endPort} must be between 1 and ${MAX_PORT}, inclusive` });
    return problems;
  },
});

/** NP034: a named port only resolves against pods; an address outside the cluster has no port names. */
export const NP034 = rule({
  id: "NP034",
  kind: "NetworkPolicy",
  at: "egressRule",
  defaultAction: "warn",
  title: "egress to ipBlocks only, with a named port",
  why: "a named port resolves against the destination pod's container ports; an address outside the cluster has none, so nothing matches.",
  fix: "use the numeric port.",
  example: {
    yaml: examplePolicy(
      "podSelector: {}\npolicyTypes: [Egress]\negress:\n- to:\n  - ipBlock: {cidr: 203.0.113.0/24}\n  ports:\n  - {protocol: TCP, port: https}\n- ports:\n  - {protocol: UDP, port: 53}",
    ),
  },
  check: (egressRule, rulePath: FieldPath) => {
    const peers = egressRule.to ?? [];
    if (peers.length === 0 || !peers.every((peer) => peer.ipBlock !== undefined)) return [];
    return (egressRule.ports ?? []).flatMap((port: NetworkPolicyPort, index) =>
      typeof port.port === "string"
        ? [
            {
              path: rulePath.child("ports").index(index).child("port"),
              message: `named port \`${port.port}\` cannot match: every peer of this rule is an ipBlock, and addresses outside the cluster have no port names; use the number`,
            },
          ]
        : [],
    );
  },
});
