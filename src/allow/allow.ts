// `netfence allow`: the NetworkPolicy for one allowlist entry, the flows of KubeSphere's project
// network isolation (project ingress, Service egress, CIDR ingress/egress with port and protocol).
// Pure: the Service, when needed, is read by the caller.
import { createHash } from "node:crypto";
import type { NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyPeer, NetworkPolicyPort } from "../kube-objects.ts";
import { MANAGED_BY, MANAGED_BY_LABEL, NAMESPACE_NAME_LABEL } from "../names.ts";
import { parseCidr } from "../rules/cidr.ts";
import {
  isDNS1123Subdomain,
  isNamespaceName,
  labelValueProblems,
  qualifiedNameProblems,
} from "../rules/label-syntax.ts";
import { portNameProblem } from "../rules/ports.ts";
import { EMPTY_SELECTOR_MESSAGE } from "../rules/service.ts";
import { UserError } from "../user-error.ts";

export class AllowError extends UserError {
  override name = "AllowError";
}

export interface PortSpec {
  /** Absent: every port of the protocol (`--protocol UDP` without `--port`). */
  port?: number | string;
  protocol: "TCP" | "UDP" | "SCTP";
}

export interface ServiceTarget {
  namespace: string;
  name: string;
  selector: Record<string, string>;
  /** What the pods listen on: the Service's targetPorts (a named targetPort stays named). */
  ports: PortSpec[];
}

export type AllowRequest = {
  namespace: string;
  podSelector?: Record<string, string>;
  name?: string;
} & (
  | { direction: "ingress"; fromNamespace: string }
  | { direction: "egress"; toService: ServiceTarget; dns: boolean }
  | { direction: "ingress" | "egress"; cidr: string; ports: PortSpec[]; dns?: boolean }
);

export const DNS_EGRESS_RULE: NetworkPolicyEgressRule = {
  to: [
    {
      namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: "kube-system" } },
      podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
    },
  ],
  ports: [
    { protocol: "UDP", port: 53 },
    { protocol: "TCP", port: 53 },
  ],
};

export function parseSelector(text: string): Record<string, string> {
  const selector: Record<string, string> = {};
  for (const pair of text
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new AllowError(`selector \`${pair}\`: write key=value`);
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const problems = [
      ...qualifiedNameProblems(key).map((p) => `key ${p}`),
      ...labelValueProblems(value).map((p) => `value ${p}`),
    ];
    if (problems.length > 0) throw new AllowError(`selector \`${pair}\`: ${problems.join("; ")}`);
    // matchLabels holds one value per key: a second one would silently replace the first.
    if (Object.hasOwn(selector, key))
      throw new AllowError(`selector \`${text}\`: key \`${key}\` is given twice; a pod has one value per label`);
    selector[key] = value;
  }
  return selector;
}

export function parseProtocol(text: string): PortSpec["protocol"] {
  if (text !== "TCP" && text !== "UDP" && text !== "SCTP")
    throw new AllowError(`protocol \`${text}\`: use TCP, UDP or SCTP`);
  return text;
}

export function parsePort(text: string, protocolText = "TCP"): PortSpec {
  const protocol = parseProtocol(protocolText);
  if (/^\d+$/.test(text)) {
    const port = Number(text);
    if (port < 1 || port > 65535) throw new AllowError(`port ${text}: must be between 1 and 65535`);
    return { port, protocol };
  }
  const problem = portNameProblem(text);
  if (problem !== undefined) throw new AllowError(`port \`${text}\`: a port name ${problem}`);
  return { port: text, protocol };
}

function requireNamespace(value: string, what: string) {
  if (!isNamespaceName(value)) throw new AllowError(`${what} \`${value}\` is not a valid namespace name`);
}

function objectName(parts: string[]): string {
  const name = parts
    .join("-")
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "");
  if (name.length <= 63) return name;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 8);
  return `${name.slice(0, 54).replace(/-$/, "")}-${hash}`;
}

const toPorts = (ports: readonly PortSpec[]): NetworkPolicyPort[] =>
  ports.map(({ port, protocol }) => (port === undefined ? { protocol } : { protocol, port }));

export function allowPolicy(request: AllowRequest): NetworkPolicy {
  requireNamespace(request.namespace, "namespace");
  if (request.name !== undefined && !isDNS1123Subdomain(request.name)) {
    throw new AllowError(
      `--name \`${request.name}\` is not a valid object name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, at most 253 characters`,
    );
  }
  let nameParts: string[];
  let peer: NetworkPolicyPeer;
  let ports: NetworkPolicyPort[] = [];
  let dns = false;
  if ("fromNamespace" in request) {
    requireNamespace(request.fromNamespace, "--from-namespace");
    peer = { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: request.fromNamespace } } };
    nameParts = ["allow-ingress-from", request.fromNamespace];
  } else if ("toService" in request) {
    const service = request.toService;
    requireNamespace(service.namespace, "--to-service namespace");
    if (!isNamespaceName(service.name))
      throw new AllowError(`--to-service name \`${service.name}\` is not a valid Service name`);
    if (Object.keys(service.selector).length === 0)
      throw new AllowError(`Service ${service.namespace}/${service.name}: ${EMPTY_SELECTOR_MESSAGE}`);
    peer = {
      namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: service.namespace } },
      podSelector: { matchLabels: service.selector },
    };
    ports = toPorts(service.ports);
    dns = request.dns;
    nameParts = ["allow-egress-to", service.namespace, service.name];
  } else {
    const parsed = parseCidr(request.cidr);
    if (!parsed.ok) throw new AllowError(`--cidr \`${request.cidr}\` is not a valid CIDR: ${parsed.reason}`);
    if (parsed.hostBitsSet)
      throw new AllowError(`--cidr \`${request.cidr}\` has host bits set; the network is \`${parsed.cidr.network}\``);
    peer = { ipBlock: { cidr: parsed.cidr.network } };
    ports = toPorts(request.ports);
    dns = request.direction === "egress" && request.dns !== false;
    nameParts = [
      `allow-${request.direction}-cidr`,
      parsed.cidr.network.replace(/[.:/]/g, "-"),
      ...request.ports.map((p) => (p.port === undefined ? p.protocol : `${p.protocol}-${p.port}`)),
    ];
  }
  const direction = request.direction;
  const rule = { [direction === "ingress" ? "from" : "to"]: [peer], ...(ports.length > 0 ? { ports } : {}) };
  const podSelector =
    request.podSelector && Object.keys(request.podSelector).length > 0 ? { matchLabels: request.podSelector } : {};
  const name = request.name ?? objectName(nameParts);
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name, namespace: request.namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } },
    spec:
      direction === "ingress"
        ? { podSelector, policyTypes: ["Ingress"], ingress: [rule] }
        : { podSelector, policyTypes: ["Egress"], egress: dns ? [rule, DNS_EGRESS_RULE] : [rule] },
  };
}

/** What a Service's pods listen on: its targetPorts, defaulting to the port, keeping names. */
export function serviceTargetPorts(
  ports: readonly { port?: number; targetPort?: number | string; protocol?: string }[],
): PortSpec[] {
  return ports.map((p) => {
    const target = p.targetPort ?? p.port;
    if (target === undefined) throw new AllowError("a Service port has neither `port` nor `targetPort`");
    return parsePort(String(target), p.protocol ?? "TCP");
  });
}
