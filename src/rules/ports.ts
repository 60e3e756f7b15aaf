// NP030-NP034: ports and protocols, as ValidateNetworkPolicyPort checks them, plus the named-port trap.
import type { FieldPath } from "../field-path.ts";
import type { NetworkPolicyPeer, NetworkPolicyPort } from "../kube-objects.ts";
import { finding, type Finding } from "./finding.ts";

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

export function portFindings(port: NetworkPolicyPort, path: FieldPath): Finding[] {
  const findings: Finding[] = [];
  if (port.protocol !== undefined) {
    if (!PROTOCOLS.includes(port.protocol)) {
      const upper = port.protocol.toUpperCase();
      const hint = PROTOCOLS.includes(upper) ? `; write \`${upper}\` (case-sensitive)` : "";
      findings.push(finding("NP030", path.child("protocol"), `\`${port.protocol}\` is not supported; use TCP, UDP or SCTP${hint}`));
    } else if (port.protocol === "SCTP") {
      findings.push(finding("NP031", path.child("protocol"), "SCTP is enforced only by CNIs that support it; check yours"));
    }
  }
  if (typeof port.port === "number") {
    if (port.port < 1 || port.port > MAX_PORT) {
      findings.push(finding("NP032", path.child("port"), `${port.port} must be between 1 and ${MAX_PORT}, inclusive`));
    }
  } else if (typeof port.port === "string") {
    const problem = portNameProblem(port.port);
    if (problem !== undefined) {
      findings.push(finding("NP032", path.child("port"), `\`${port.port}\` is not a valid port name: it ${problem} (or use a number)`));
    }
  }
  if (port.endPort !== undefined) {
    const endPath = path.child("endPort");
    if (port.port === undefined) {
      findings.push(finding("NP033", endPath, "may not be specified without `port`"));
    } else if (typeof port.port === "string") {
      findings.push(finding("NP033", endPath, "may not be specified when `port` is non-numeric"));
    } else if (port.endPort < port.port) {
      findings.push(finding("NP033", endPath, `${port.endPort} must be greater than or equal to \`port\` (${port.port})`));
    }
    if (port.endPort < 1 || port.endPort > MAX_PORT) {
      findings.push(finding("NP033", endPath, `${port.endPort} must be between 1 and ${MAX_PORT}, inclusive`));
    }
  }
  return findings;
}

/** NP034: a named port only resolves against pods; an address outside the cluster has no port names. */
export function namedPortToAddressesFindings(
  ports: readonly NetworkPolicyPort[],
  peers: readonly NetworkPolicyPeer[],
  rulePath: FieldPath,
): Finding[] {
  if (peers.length === 0 || !peers.every((peer) => peer.ipBlock !== undefined)) return [];
  return ports.flatMap((port, index) =>
    typeof port.port === "string"
      ? [
          finding(
            "NP034",
            rulePath.child("ports").index(index).child("port"),
            `named port \`${port.port}\` cannot match: every peer of this rule is an ipBlock, and addresses outside the cluster have no port names; use the number`,
          ),
        ]
      : [],
  );
}
