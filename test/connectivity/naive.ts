// An independent, deliberately naive reading of the NetworkPolicy spec, pod by pod, straight from the
// objects: the oracle for the class-based engine. It shares no code with src/connectivity.
import ipaddr from "ipaddr.js";

type Labels = Record<string, string>;
interface Selector {
  matchLabels?: Labels;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}
interface Peer {
  podSelector?: Selector;
  namespaceSelector?: Selector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface Port {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: Port[];
}
export interface NaivePolicy {
  metadata: { name: string; namespace: string };
  spec: { podSelector: Selector; policyTypes?: string[]; ingress?: Rule[]; egress?: Rule[] };
}
export interface NaivePod {
  metadata: { name: string; namespace: string; labels: Labels };
  spec: { containers: { ports: { name: string; containerPort: number; protocol?: string }[] }[] };
  status: { podIP: string };
}
export interface NaiveNamespace {
  metadata: { name: string; labels: Labels };
}

function selectorMatches(selector: Selector, labels: Labels): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = k(labels, e.key);
    const inValues = has && (e.values ?? []).includes(labels[e.key]!);
    if (e.operator === "In" && !inValues) return false;
    if (e.operator === "NotIn" && inValues) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}
const k = (labels: Labels, key: string) => Object.prototype.hasOwnProperty.call(labels, key);

function inBlock(ip: string, block: { cidr: string; except?: string[] }): boolean {
  const address = ipaddr.parse(ip);
  const within = (cidr: string) => {
    const range = ipaddr.parseCIDR(cidr);
    return address.kind() === range[0].kind() && address.match(range);
  };
  return within(block.cidr) && !(block.except ?? []).some(within);
}

type End = { pod: NaivePod } | { ip: string };

export function naiveAllowed(
  namespaces: NaiveNamespace[],
  policies: NaivePolicy[],
  from: End,
  to: End,
  protocol: string,
  port: number,
): boolean {
  const nsLabels = (name: string) => ({
    ...(namespaces.find((n) => n.metadata.name === name)?.metadata.labels ?? {}),
    "kubernetes.io/metadata.name": name,
  });
  const types = (p: NaivePolicy) =>
    p.spec.policyTypes ?? (p.spec.egress && p.spec.egress.length > 0 ? ["Ingress", "Egress"] : ["Ingress"]);
  const peerMatches = (peer: Peer, policyNamespace: string, end: End) => {
    if (peer.ipBlock) return inBlock("pod" in end ? end.pod.status.podIP : end.ip, peer.ipBlock);
    if (!("pod" in end)) return false;
    const ns = end.pod.metadata.namespace;
    const nsOk = peer.namespaceSelector
      ? selectorMatches(peer.namespaceSelector, nsLabels(ns))
      : ns === policyNamespace;
    return nsOk && (peer.podSelector ? selectorMatches(peer.podSelector, end.pod.metadata.labels) : true);
  };
  const portMatches = (ports: Port[] | undefined) => {
    if (!ports || ports.length === 0) return true;
    return ports.some((p) => {
      if ((p.protocol ?? "TCP") !== protocol) return false;
      if (p.port === undefined) return true;
      if (typeof p.port === "number") return p.port <= port && port <= (p.endPort ?? p.port);
      if (!("pod" in to)) return false;
      return to.pod.spec.containers.some((c) =>
        c.ports.some((cp) => cp.name === p.port && (cp.protocol ?? "TCP") === protocol && cp.containerPort === port),
      );
    });
  };
  const sideAllows = (direction: "Ingress" | "Egress", subject: NaivePod, other: End) => {
    const selecting = policies.filter(
      (p) =>
        p.metadata.namespace === subject.metadata.namespace &&
        selectorMatches(p.spec.podSelector, subject.metadata.labels) &&
        types(p).includes(direction),
    );
    if (selecting.length === 0) return true;
    return selecting.some((p) =>
      (direction === "Ingress" ? (p.spec.ingress ?? []) : (p.spec.egress ?? [])).some((rule) => {
        const peers = direction === "Ingress" ? rule.from : rule.to;
        return (
          (!peers || peers.length === 0 || peers.some((peer) => peerMatches(peer, p.metadata.namespace, other))) &&
          portMatches(rule.ports)
        );
      }),
    );
  };
  const egressOk = "pod" in from ? sideAllows("Egress", from.pod, to) : true;
  const ingressOk = "pod" in to ? sideAllows("Ingress", to.pod, from) : true;
  return egressOk && ingressOk;
}
