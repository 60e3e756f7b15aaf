// NetworkPolicy rules: structure (NP001), policyTypes (NP002-NP004), peers (NP010) and the rules
// about intent that Kubernetes accepts but that rarely mean what their author thought (NP040-NP042).
// CIDRs, selectors and ports have their own families; this file walks the policy and calls them.
import { FieldPath } from "../field-path.ts";
import {
  NetworkPolicySchema,
  type NetworkPolicy,
  type NetworkPolicyEgressRule,
  type NetworkPolicyPeer,
  type NetworkPolicyPort,
} from "../kube-objects.ts";
import { ipBlockFindings } from "./cidr.ts";
import type { RuleContext } from "./context.ts";
import { finding, type Finding } from "./finding.ts";
import { namedPortToAddressesFindings, portFindings } from "./ports.ts";
import { schemaFindings } from "./schema-findings.ts";
import { isEmptySelector, labelSelectorFindings } from "./selector.ts";

type Direction = "Ingress" | "Egress";

/** policyTypes as Kubernetes defaults them: Ingress always, Egress when egress rules exist. */
export function effectivePolicyTypes(spec: NetworkPolicy["spec"]): Set<string> {
  if (spec.policyTypes !== undefined && spec.policyTypes.length > 0) return new Set(spec.policyTypes);
  const types = new Set<string>(["Ingress"]);
  if ((spec.egress ?? []).length > 0) types.add("Egress");
  return types;
}

export function networkPolicyFindings(object: unknown, context: RuleContext): Finding[] {
  const parsed = NetworkPolicySchema.safeParse(object);
  if (!parsed.success) return schemaFindings("NP001", parsed.error);
  return policyFindings(parsed.data, context);
}

function policyFindings(policy: NetworkPolicy, context: RuleContext): Finding[] {
  const spec = FieldPath.root("spec");
  const findings: Finding[] = [
    ...policyTypesFindings(policy.spec.policyTypes, spec.child("policyTypes")),
    ...ignoredDirectionFindings(policy),
    ...labelSelectorFindings(policy.spec.podSelector, spec.child("podSelector")),
  ];
  (policy.spec.ingress ?? []).forEach((rule, i) => {
    const rulePath = spec.child("ingress").index(i);
    findings.push(...rulePortsFindings(rule.ports ?? [], rulePath));
    findings.push(...peersFindings(rule.from ?? [], rulePath.child("from"), "ingress", context));
    if (context.namespaceIsolated) findings.push(...allowsEverythingFindings(rule.from ?? [], rulePath));
  });
  (policy.spec.egress ?? []).forEach((rule, i) => {
    const rulePath = spec.child("egress").index(i);
    findings.push(...rulePortsFindings(rule.ports ?? [], rulePath));
    findings.push(...peersFindings(rule.to ?? [], rulePath.child("to"), "egress", context));
    findings.push(...namedPortToAddressesFindings(rule.ports ?? [], rule.to ?? [], rulePath));
  });
  findings.push(...lostDnsFindings(policy));
  return findings;
}

function policyTypesFindings(policyTypes: readonly string[] | undefined, path: FieldPath): Finding[] {
  if (policyTypes === undefined) return [];
  const findings: Finding[] = [];
  if (policyTypes.length > 2) {
    findings.push(finding("NP002", path, `may not specify more than two policyTypes (found ${policyTypes.length})`));
  }
  const seen = new Set<string>();
  policyTypes.forEach((type, i) => {
    if (type !== "Ingress" && type !== "Egress") {
      const hint = ["ingress", "egress"].includes(type.toLowerCase())
        ? `; write \`${type[0]!.toUpperCase()}${type.slice(1).toLowerCase()}\` (case-sensitive)`
        : "";
      findings.push(finding("NP002", path.index(i), `\`${type}\` is not a policy type; use \`Ingress\` or \`Egress\`${hint}`));
    } else if (seen.has(type)) {
      findings.push(finding("NP004", path.index(i), `\`${type}\` is listed twice`));
    }
    seen.add(type);
  });
  return findings;
}

function ignoredDirectionFindings(policy: NetworkPolicy): Finding[] {
  const { policyTypes } = policy.spec;
  if (policyTypes === undefined || policyTypes.length === 0) return [];
  // With a misspelt type (`ingress`) NP002 already denies the policy and says how to spell it.
  if (policyTypes.some((type) => type !== "Ingress" && type !== "Egress")) return [];
  const findings: Finding[] = [];
  const check = (direction: Direction, rules: readonly unknown[] | undefined, field: "ingress" | "egress") => {
    if ((rules ?? []).length > 0 && !policyTypes.includes(direction)) {
      findings.push(
        finding(
          "NP003",
          FieldPath.root("spec", field),
          `Kubernetes ignores these ${field} rules because \`spec.policyTypes\` omits \`${direction}\`: add \`${direction}\` to \`spec.policyTypes\` or delete the ${field} rules`,
        ),
      );
    }
  };
  check("Ingress", policy.spec.ingress, "ingress");
  check("Egress", policy.spec.egress, "egress");
  return findings;
}

function rulePortsFindings(ports: readonly NetworkPolicyPort[], rulePath: FieldPath): Finding[] {
  return ports.flatMap((port, i) => portFindings(port, rulePath.child("ports").index(i)));
}

function peersFindings(
  peers: readonly NetworkPolicyPeer[],
  path: FieldPath,
  direction: "ingress" | "egress",
  context: RuleContext,
): Finding[] {
  const findings: Finding[] = [];
  peers.forEach((peer, i) => {
    const peerPath = path.index(i);
    const selectors = [peer.podSelector, peer.namespaceSelector].filter((s) => s !== undefined).length;
    if (peer.ipBlock !== undefined && selectors > 0) {
      findings.push(
        finding("NP010", peerPath, "may not specify both `ipBlock` and another peer: split it into two peers (`ipBlock` alone is for addresses outside the cluster)"),
      );
    } else if (peer.ipBlock === undefined && selectors === 0) {
      findings.push(finding("NP010", peerPath, "must specify a peer: `podSelector`, `namespaceSelector` or `ipBlock`"));
    }
    if (peer.podSelector !== undefined) findings.push(...labelSelectorFindings(peer.podSelector, peerPath.child("podSelector")));
    if (peer.namespaceSelector !== undefined) {
      findings.push(...labelSelectorFindings(peer.namespaceSelector, peerPath.child("namespaceSelector")));
    }
    if (peer.ipBlock !== undefined) {
      findings.push(...ipBlockFindings(peer.ipBlock, peerPath.child("ipBlock"), { direction, podCIDRs: context.podCIDRs }));
    }
    const previous = peers[i - 1];
    if (previous !== undefined && isNamespaceOnly(previous) && isPodOnly(peer)) {
      findings.push(
        finding(
          "NP041",
          peerPath,
          `this podSelector peer is separate from the namespaceSelector peer \`${path.index(i - 1)}\` (OR: all pods of those namespaces, or these pods of this one); to require both, put both selectors in one peer`,
        ),
      );
    }
  });
  return findings;
}

const isNamespaceOnly = (peer: NetworkPolicyPeer) =>
  peer.namespaceSelector !== undefined && peer.podSelector === undefined && peer.ipBlock === undefined;
const isPodOnly = (peer: NetworkPolicyPeer) =>
  peer.podSelector !== undefined && peer.namespaceSelector === undefined && peer.ipBlock === undefined;

function allowsEverythingFindings(from: readonly NetworkPolicyPeer[], rulePath: FieldPath): Finding[] {
  if (from.length === 0) {
    return [finding("NP040", rulePath, "this rule has no `from`, so it admits every source, which defeats the namespace's isolation; list the allowed peers")];
  }
  return from.flatMap((peer, i) =>
    peer.namespaceSelector !== undefined && isEmptySelector(peer.namespaceSelector)
      ? [
          finding(
            "NP040",
            rulePath.child("from").index(i).child("namespaceSelector"),
            "`namespaceSelector: {}` admits every namespace, which defeats the namespace's isolation; select namespaces by `kubernetes.io/metadata.name`",
          ),
        ]
      : [],
  );
}

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

function lostDnsFindings(policy: NetworkPolicy): Finding[] {
  if (!effectivePolicyTypes(policy.spec).has("Egress")) return [];
  const egress = policy.spec.egress ?? [];
  if (egress.some(allowsDns)) return [];
  const path = egress.length > 0 ? FieldPath.root("spec", "egress") : FieldPath.root("spec", "policyTypes");
  return [
    finding(
      "NP042",
      path,
      "egress is restricted but no rule allows UDP port 53, so the selected pods lose DNS; allow UDP and TCP 53 to kube-system pods `k8s-app: kube-dns`",
    ),
  ];
}
