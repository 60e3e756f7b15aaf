// NetworkPolicy rules: structure (NP001), policyTypes (NP002-NP004), peers (NP010) and the rules
// about intent that Kubernetes accepts but that rarely mean what their author thought (NP040-NP042);
// and the walk over a policy that hands each node to the rules of its site (CIDRs, selectors and
// ports have their own families).
import { FieldPath } from "../field-path.ts";
import {
  parseNetworkPolicy,
  type NetworkPolicy,
  type NetworkPolicyEgressRule,
  type NetworkPolicyPeer,
} from "../kube-objects.ts";
import { ipBlockNode } from "./cidr.ts";
import { examplePolicy, rule, type Problem, type Visit } from "./rule.ts";
import { schemaProblems } from "./schema-problems.ts";
import { isEmptySelector } from "./selector.ts";

/** policyTypes as Kubernetes defaults them: Ingress always, Egress when egress rules exist. */
export function effectivePolicyTypes(spec: NetworkPolicy["spec"]): Set<string> {
  if (spec.policyTypes !== undefined && spec.policyTypes.length > 0) return new Set(spec.policyTypes);
  const types = new Set<string>(["Ingress"]);
  if ((spec.egress ?? []).length > 0) types.add("Egress");
  return types;
}

/** Visits every node of a NetworkPolicy in document order. */
export function walkNetworkPolicy(object: unknown, visit: Visit): void {
  const parsed = parseNetworkPolicy(object);
  if (!parsed.success) {
    visit("malformedNetworkPolicy", parsed.error, FieldPath.root());
    return;
  }
  const policy = parsed.data;
  const spec = FieldPath.root("spec");
  visit("policy", policy, spec);
  visit("labelSelector", policy.spec.podSelector, spec.child("podSelector"));
  (policy.spec.ingress ?? []).forEach((rule, i) => {
    const rulePath = spec.child("ingress").index(i);
    walkPorts(rule.ports ?? [], rulePath, visit);
    walkPeers(rule.from ?? [], rulePath.child("from"), "ingress", visit);
    visit("ingressRule", rule, rulePath);
  });
  (policy.spec.egress ?? []).forEach((rule, i) => {
    const rulePath = spec.child("egress").index(i);
    walkPorts(rule.ports ?? [], rulePath, visit);
    walkPeers(rule.to ?? [], rulePath.child("to"), "egress", visit);
    visit("egressRule", rule, rulePath);
  });
  visit("policyAfterRules", policy, spec);
}

function walkPorts(ports: NonNullable<NetworkPolicyEgressRule["ports"]>, rulePath: FieldPath, visit: Visit) {
  ports.forEach((port, i) => visit("port", port, rulePath.child("ports").index(i)));
}

function walkPeers(
  peers: readonly NetworkPolicyPeer[],
  path: FieldPath,
  direction: "ingress" | "egress",
  visit: Visit,
) {
  peers.forEach((peer, i) => {
    const peerPath = path.index(i);
    visit("peer", peer, peerPath);
    if (peer.podSelector !== undefined) visit("labelSelector", peer.podSelector, peerPath.child("podSelector"));
    if (peer.namespaceSelector !== undefined)
      visit("labelSelector", peer.namespaceSelector, peerPath.child("namespaceSelector"));
    if (peer.ipBlock !== undefined) visit("ipBlock", ipBlockNode(peer.ipBlock, direction), peerPath.child("ipBlock"));
    const previous = peers[i - 1];
    if (previous !== undefined) visit("adjacentPeers", { previous, peer, previousPath: path.index(i - 1) }, peerPath);
  });
}

export const NP001 = rule({
  id: "NP001",
  kind: "NetworkPolicy",
  at: "malformedNetworkPolicy",
  defaultAction: "deny",
  title: "malformed NetworkPolicy: spec or spec.podSelector missing, or a field of the wrong type",
  why: "Kubernetes refuses to store such an object; offline, nothing else would tell you before apply.",
  fix: "add `spec.podSelector` (`{}` selects every pod of the namespace) and give each field its documented type.",
  example: { yaml: examplePolicy("policyTypes: [Ingress]\ningress: []") },
  check: (error) => schemaProblems(error),
});

const VALID_TYPES = ["Ingress", "Egress"];

export const NP002 = rule({
  id: "NP002",
  kind: "NetworkPolicy",
  at: "policy",
  defaultAction: "deny",
  title: "policyTypes holds a value other than Ingress or Egress, or more than two entries",
  why: "policyTypes is case-sensitive; `ingress` or `Both` is rejected by the API server or, worse, misread by tools.",
  fix: "use exactly `Ingress`, `Egress`, or both.",
  example: { yaml: examplePolicy("podSelector: {}\npolicyTypes: [ingress]") },
  check: (policy, spec) => {
    const { policyTypes } = policy.spec;
    if (policyTypes === undefined) return [];
    const path = spec.child("policyTypes");
    const problems: Problem[] = [];
    if (policyTypes.length > 2)
      problems.push({ path, message: `may not specify more than two policyTypes (found ${policyTypes.length})` });
    policyTypes.forEach((type, i) => {
      if (VALID_TYPES.includes(type)) return;
      const hint = ["ingress", "egress"].includes(type.toLowerCase())
        ? `; write \`${type[0]!.toUpperCase()}${type.slice(1).toLowerCase()}\` (case-sensitive)`
        : "";
      problems.push({
        path: path.index(i),
        message: `\`${type}\` is not a policy type; use \`Ingress\` or \`Egress\`${hint}`,
      });
    });
    return problems;
  },
});

export const NP003 = rule({
  id: "NP003",
  kind: "NetworkPolicy",
  at: "policy",
  defaultAction: "deny",
  title: "ingress or egress rules present while policyTypes omits Ingress or Egress",
  why: "Kubernetes silently ignores rules whose direction is not listed in policyTypes: the policy does not do what it says.",
  fix: "add the direction to `spec.policyTypes`, or delete the rules of that direction.",
  example: {
    yaml: examplePolicy("podSelector: {}\npolicyTypes: [Ingress]\negress:\n- to:\n  - ipBlock: {cidr: 10.0.0.0/8}"),
  },
  check: (policy, spec) => {
    const { policyTypes } = policy.spec;
    if (policyTypes === undefined || policyTypes.length === 0) return [];
    // With a misspelt type (`ingress`) NP002 already denies the policy and says how to spell it.
    if (policyTypes.some((type) => !VALID_TYPES.includes(type))) return [];
    const problems: Problem[] = [];
    for (const [direction, field] of [
      ["Ingress", "ingress"],
      ["Egress", "egress"],
    ] as const) {
      if ((policy.spec[field] ?? []).length > 0 && !policyTypes.includes(direction)) {
        problems.push({
          path: spec.child(field),
          message: `Kubernetes ignores these ${field} rules because \`spec.policyTypes\` omits \`${direction}\`: add \`${direction}\` to \`spec.policyTypes\` or delete the ${field} rules`,
        });
      }
    }
    return problems;
  },
});

export const NP004 = rule({
  id: "NP004",
  kind: "NetworkPolicy",
  at: "policy",
  defaultAction: "warn",
  title: "a policyTypes entry is duplicated",
  why: "harmless to Kubernetes, but a sign of a copy-paste mistake.",
  fix: "list each direction once.",
  example: { yaml: examplePolicy("podSelector: {}\npolicyTypes: [Ingress, Ingress]") },
  check: (policy, spec) => {
    const seen = new Set<string>();
    const problems: Problem[] = [];
    (policy.spec.policyTypes ?? []).forEach((type, i) => {
      if (VALID_TYPES.includes(type) && seen.has(type))
        problems.push({ path: spec.child("policyTypes").index(i), message: `\`${type}\` is listed twice` });
      seen.add(type);
    });
    return problems;
  },
});

export const NP010 = rule({
  id: "NP010",
  kind: "NetworkPolicy",
  at: "peer",
  defaultAction: "deny",
  title: "a peer with ipBlock and a selector together, or with nothing at all",
  why: "Kubernetes rejects both; ipBlock cannot be combined with podSelector or namespaceSelector.",
  fix: "split the peer into two peers, or give the empty peer a selector or an ipBlock.",
  example: {
    yaml: examplePolicy(
      "podSelector: {}\ningress:\n- from:\n  - ipBlock: {cidr: 10.0.0.0/8}\n    podSelector: {matchLabels: {app: api}}",
    ),
  },
  check: (peer, path) => {
    const selectors = [peer.podSelector, peer.namespaceSelector].filter((s) => s !== undefined).length;
    if (peer.ipBlock !== undefined && selectors > 0) {
      return [
        {
          path,
          message:
            "may not specify both `ipBlock` and another peer: split it into two peers (`ipBlock` alone is for addresses outside the cluster)",
        },
      ];
    }
    if (peer.ipBlock === undefined && selectors === 0)
      return [{ path, message: "must specify a peer: `podSelector`, `namespaceSelector` or `ipBlock`" }];
    return [];
  },
});

export const NP040 = rule({
  id: "NP040",
  kind: "NetworkPolicy",
  at: "ingressRule",
  defaultAction: "warn",
  title: "an ingress rule that allows everything, in an isolated namespace",
  why: "an empty rule `{}` or a peer `namespaceSelector: {}` admits every namespace and defeats isolation.",
  fix: "name the namespaces with a namespaceSelector on `kubernetes.io/metadata.name`.",
  example: { yaml: examplePolicy("podSelector: {}\ningress:\n- from:\n  - namespaceSelector: {}"), isolated: true },
  check: (ingressRule, rulePath, context) => {
    if (!context.namespaceIsolated) return [];
    const from = ingressRule.from ?? [];
    if (from.length === 0) {
      return [
        {
          path: rulePath,
          message:
            "this rule has no `from`, so it admits every source, which defeats the namespace's isolation; list the allowed peers",
        },
      ];
    }
    return from.flatMap((peer, i) =>
      peer.namespaceSelector !== undefined && isEmptySelector(peer.namespaceSelector)
        ? [
            {
              path: rulePath.child("from").index(i).child("namespaceSelector"),
              message:
                "`namespaceSelector: {}` admits every namespace, which defeats the namespace's isolation; select namespaces by `kubernetes.io/metadata.name`",
            },
          ]
        : [],
    );
  },
});

const isNamespaceOnly = (peer: NetworkPolicyPeer) =>
  peer.namespaceSelector !== undefined && peer.podSelector === undefined && peer.ipBlock === undefined;
const isPodOnly = (peer: NetworkPolicyPeer) =>
  peer.podSelector !== undefined && peer.namespaceSelector === undefined && peer.ipBlock === undefined;

export const NP041 = rule({
  id: "NP041",
  kind: "NetworkPolicy",
  at: "adjacentPeers",
  defaultAction: "warn",
  title: "a namespaceSelector-only peer followed by a podSelector-only peer",
  why: "two peers are OR: this admits every pod of the selected namespaces plus the selected pods of this namespace. Most authors meant AND.",
  fix: "put both selectors in one peer.",
  example: {
    yaml: examplePolicy(
      "podSelector: {matchLabels: {app: db}}\ningress:\n- from:\n  - namespaceSelector: {matchLabels: {team: a}}\n  - podSelector: {matchLabels: {app: api}}",
    ),
  },
  check: ({ previous, peer, previousPath }, path) =>
    isNamespaceOnly(previous) && isPodOnly(peer)
      ? [
          {
            path,
            message: `this podSelector peer is separate from the namespaceSelector peer \`${previousPath}\` (OR: all pods of those namespaces, or these pods of this one); to require both, put both selectors in one peer`,
          },
        ]
      : [],
});

function allowsDns(rule: NetworkPolicyEgressRule): boolean {
  const ports = rule.ports ?? [];
  if (ports.length === 0) return true;
  return ports.some((port) => {
    if ((port.protocol ?? "TCP") !== "UDP") return false;
    if (port.port === undefined) return true;
    if (typeof port.port === "string") return port.port === "dns";
    return port.port === 53 || (port.endPort !== undefined && port.port <= 53 && 53 <= port.endPort);
  });
}

export const NP042 = rule({
  id: "NP042",
  kind: "NetworkPolicy",
  at: "policyAfterRules",
  defaultAction: "warn",
  title: "egress is restricted but DNS (UDP port 53) is not allowed",
  why: "the selected pods lose name resolution.",
  fix: "add an egress rule to UDP and TCP port 53 of kube-system pods `k8s-app: kube-dns`.",
  example: {
    yaml: examplePolicy(
      "podSelector: {}\npolicyTypes: [Egress]\negress:\n- to:\n  - podSelector: {matchLabels: {app: db}}\n  ports:\n  - {protocol: TCP, port: 5432}",
    ),
  },
  check: (policy, spec) => {
    if (!effectivePolicyTypes(policy.spec).has("Egress")) return [];
    const egress = policy.spec.egress ?? [];
    if (egress.some(allowsDns)) return [];
    return [
      {
        path: egress.length > 0 ? spec.child("egress") : spec.child("policyTypes"),
        message:
          "egress is restricted but no rule allows UDP port 53, so the selected pods lose DNS; allow UDP and TCP 53 to kube-system pods `k8s-app: kube-dns`",
      },
    ];
  },
});
