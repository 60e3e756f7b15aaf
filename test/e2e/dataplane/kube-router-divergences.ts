// Where kube-router v2.1.0 (the dataplane the e2e suites use as oracle) departs from Kubernetes'
// NetworkPolicy semantics, each place once, with the lines of kube-router's source that do it
// (github.com/cloudnativelabs/kube-router at tag v2.1.0, pkg/controllers/netpol/). The differential
// test compares probed packets with the verdict below, which is netfence's engine (Kubernetes
// semantics, unchanged) plus these departures stated in terms of the engine's own explanation; each
// flow where they change the verdict is counted and reported. Nothing here loosens the comparison:
// a flow is still either exactly allowed or exactly denied.
import {
  explain,
  verdict,
  type Cluster,
  type Flow,
  type PolicyInput,
  type Verdict,
  type Workload,
} from "../../../src/connectivity/index.ts";
import { compileSelector } from "../../../src/connectivity/selectors.ts";
import { FieldPath } from "../../../src/field-path.ts";
import { parseCidr } from "../../../src/rules/cidr.ts";
import type { LabelSelector, NetworkPolicy } from "../../../src/kube-objects.ts";

export interface DataplaneVerdict {
  verdict: Verdict;
  /** Set when kube-router's verdict differs from Kubernetes' (the engine's) for this flow. */
  divergence?: string;
  /**
   * Set when kube-router's verdict for this flow depends on the order its pod lister returns pods in
   * (#5): it may be either, from one sync to the next, so no probe can confirm or refute it.
   */
  orderDependent?: string;
}

/*
 * 1. Directions leak inside a policy with both policyTypes. pod.go setupPodNetpolRules jumps from a
 *    pod's firewall chain to the chain of a policy of type kubeBothPolicyType with no `-s`/`-d` match
 *    (Ingress-only and Egress-only policies get `-d ip` and `-s ip`), and that one chain holds the
 *    policy's ingress and egress rules (policy.go processIngressRules/processEgressRules). So when a
 *    policy selects both ends of a flow, an ingress rule of it that admits the flow into the
 *    destination also marks it on the source's egress check, and an egress rule of it that lets the
 *    flow out of the source also marks it on the destination's ingress check. Kubernetes keeps the
 *    directions apart: `policyTypes: [Ingress, Egress]` with `egress: []` denies all egress, yet
 *    kube-router lets those pods reach each other whenever the ingress rules admit it.
 */
function leakAcrossDirections(cluster: Cluster, flow: Flow): { verdict: Verdict; leak?: string } {
  const explanation = explain(cluster, flow);
  const { egress, ingress } = explanation;
  if (egress === null || ingress === null) return { verdict: explanation.verdict };
  const leaksInto = (side: typeof egress, other: typeof ingress) =>
    side.verdict !== "allowed" && other.allowedBy.some((rule) => side.policies.includes(rule.policy));
  const egressLeak = leaksInto(egress, ingress);
  const ingressLeak = leaksInto(ingress, egress);
  if (!egressLeak && !ingressLeak) return { verdict: explanation.verdict };
  const allowed = (egress.verdict === "allowed" || egressLeak) && (ingress.verdict === "allowed" || ingressLeak);
  return {
    verdict: allowed ? "allowed" : "denied",
    leak: `${egressLeak ? "egress" : "ingress"} of ${egressLeak ? flow.from : flow.to}`,
  };
}

type Rule = { ports?: NonNullable<NetworkPolicy["spec"]["ingress"]>[number]["ports"]; from?: Peer[]; to?: Peer[] };
type Peer = NonNullable<NonNullable<NetworkPolicy["spec"]["ingress"]>[number]["from"]>[number];

const matches = (selector: LabelSelector, labels: Readonly<Record<string, string>>) => {
  const compiled = compileSelector(selector, FieldPath.root("selector"));
  return "matcher" in compiled && compiled.matcher(labels);
};

/** The policy with each ingress rule (peers under `from`) and egress rule (under `to`) rewritten. */
function withRulesRewritten(input: PolicyInput, rewrite: (rule: Rule, peers: "from" | "to") => Rule): PolicyInput {
  const { spec } = input.policy;
  return {
    ...input,
    policy: {
      ...input.policy,
      spec: {
        ...spec,
        ...(spec.ingress === undefined ? {} : { ingress: spec.ingress.map((rule) => rewrite(rule, "from")) }),
        ...(spec.egress === undefined ? {} : { egress: spec.egress.map((rule) => rewrite(rule, "to")) }),
      },
    },
  };
}

/** policy.go evalPodPeer: the pods a selector peer stands for (ipBlock peers stand for none). */
function podsOf(cluster: Cluster, input: PolicyInput, peer: Peer): Workload[] {
  if (peer.namespaceSelector !== undefined) {
    const namespaces = new Set(
      cluster.namespaces.filter((ns) => matches(peer.namespaceSelector!, ns.labels)).map((ns) => ns.name),
    );
    return cluster.workloads.filter(
      (w) => namespaces.has(w.namespace) && (peer.podSelector === undefined || matches(peer.podSelector, w.labels)),
    );
  }
  if (peer.podSelector !== undefined)
    return cluster.workloads.filter((w) => w.namespace === input.namespace && matches(peer.podSelector!, w.labels));
  return [];
}

/**
 * 2. A rule with selector peers whose ports are all named ports that no relevant pod declares (for
 *    ingress the pods the policy selects, for egress the pods the rule's peers select: policy.go
 *    buildNetworkPoliciesInfo, grabNamedPortFromPod) is left with no ports at all, and
 *    processIngressRules/processEgressRules then take `len(ports) == 0 && len(namedPorts) == 0` as
 *    "every port" for those peers. Kubernetes: a named port nobody declares matches nothing. Stated in
 *    Kubernetes terms: such a rule becomes a rule without ports over its selector peers.
 */
function unresolvedNamedPortsAsEveryPort(cluster: Cluster, input: PolicyInput): PolicyInput {
  const { spec } = input.policy;
  const targets = cluster.workloads.filter(
    (w) => w.namespace === input.namespace && matches(spec.podSelector, w.labels),
  );
  const rewrite = (rule: Rule, peers: "from" | "to"): Rule => {
    const ports = rule.ports ?? [];
    const selectorPeers = (rule[peers] ?? []).filter((peer) => peer.ipBlock === undefined);
    if (ports.length === 0 || selectorPeers.length === 0 || !ports.every((port) => typeof port.port === "string"))
      return rule;
    const relevant = peers === "from" ? targets : selectorPeers.flatMap((peer) => podsOf(cluster, input, peer));
    if (
      relevant.length === 0 ||
      (peers === "from" && selectorPeers.every((peer) => podsOf(cluster, input, peer).length === 0))
    )
      return rule;
    const resolves = ports.some((port) =>
      relevant.some((pod) =>
        pod.namedPorts.some((named) => named.name === port.port && named.protocol === (port.protocol ?? "TCP")),
      ),
    );
    return resolves ? rule : { [peers]: selectorPeers };
  };
  return withRulesRewritten(input, rewrite);
}

/**
 * 3. An egress rule without `to` resolves its named ports against the pods of the policy's own
 *    namespace, not against the destination. policy.go buildNetworkPoliciesInfo: `len(specEgressRule.To)
 *    == 0` sets matchAllDestinations and, when the ports hold a named port, fills namedPort2EgressEps
 *    from ListPodsByNamespaceAndLabels(policy.Namespace, labels.Everything()); processEgressRules then
 *    accepts, for every destination, each numeric port those pods declare under that name
 *    (matchAllDestinations && !matchAllPorts), and nothing for a name none of them declares.
 *    Kubernetes resolves a named port against each destination pod's own container ports. Stated in
 *    Kubernetes terms: the named port becomes the numeric ports the policy's namespace declares under
 *    that name and protocol; a rule left without ports admits nothing and is dropped.
 */
function namedPortsOfOwnNamespace(cluster: Cluster, input: PolicyInput): PolicyInput {
  const { spec } = input.policy;
  if (spec.egress === undefined) return input;
  const ownPods = cluster.workloads.filter((w) => w.namespace === input.namespace);
  const egress = spec.egress.flatMap((rule): Rule[] => {
    const ports = rule.ports ?? [];
    if ((rule.to ?? []).length > 0 || !ports.some((port) => typeof port.port === "string")) return [rule];
    const resolved = ports.flatMap((port) => {
      if (typeof port.port !== "string") return [port];
      const protocol = port.protocol ?? "TCP";
      const numbers = new Set(
        ownPods.flatMap((pod) =>
          pod.namedPorts.filter((named) => named.name === port.port && named.protocol === protocol).map((n) => n.port),
        ),
      );
      return [...numbers].map((number) => ({ protocol, port: number }));
    });
    return resolved.length === 0 ? [] : [{ ...rule, ports: resolved }];
  });
  return { ...input, policy: { ...input.policy, spec: { ...spec, egress } } };
}

/**
 * 4. The ipBlock peers of one rule share one ipset, so an `except` of one peer also cuts the other
 *    peers of that rule. policy.go evalIPBlockPeer adds each cidr as an entry and each except as a
 *    `nomatch` entry, and processIngressRules/processEgressRules put every ipBlock peer of a rule into
 *    the same hash:net set (policyIndexedSourceIPBlockIPSetName / ...DestinationIPBlockIPSetName, per
 *    rule index). hash:net answers by the most specific entry that contains the address, and a
 *    `nomatch` entry answers no. Kubernetes ORs the peers: an address another peer admits stays
 *    admitted. Stated in Kubernetes terms: every ipBlock peer of a rule also excepts the other peers'
 *    excepts that lie strictly inside its cidr (an equal prefix, where the set's order would decide,
 *    is left out).
 */
function exceptsSharedAcrossPeers(input: PolicyInput): PolicyInput {
  const rewrite = (rule: Rule, peers: "from" | "to"): Rule => {
    const blocks = (rule[peers] ?? []).flatMap((peer) => (peer.ipBlock === undefined ? [] : [peer.ipBlock]));
    if (blocks.length < 2) return rule;
    const excepts = blocks.flatMap((block) => block.except ?? []);
    const withShared = (peer: Peer): Peer => {
      if (peer.ipBlock === undefined) return peer;
      const own = peer.ipBlock.except ?? [];
      const added = excepts.filter((except) => !own.includes(except) && strictlyInside(except, peer.ipBlock!.cidr));
      return added.length === 0 ? peer : { ...peer, ipBlock: { ...peer.ipBlock, except: [...own, ...added] } };
    };
    return { ...rule, [peers]: rule[peers]!.map(withShared) };
  };
  return withRulesRewritten(input, rewrite);
}

/**
 * 6. An egress rule's named ports never apply to its ipBlock peers. policy.go processEgressRules: for
 *    `dstIPBlocks` it writes one rule per numeric port (`egressRule.ports`) and skips
 *    `egressRule.namedPorts`, which it only uses towards the pods of the rule's selector peers (the
 *    ...NamedPortIPSetName sets, built from evalPodPeer). Kubernetes resolves the named port against the
 *    destination pod, whatever peer matched it. Stated in Kubernetes terms: such a rule becomes one
 *    rule over its selector peers with all its ports and one over its ipBlock peers with its numeric
 *    ports only (none left: that part admits nothing and is dropped).
 */
function namedPortsNotForEgressIpBlocks(input: PolicyInput): PolicyInput {
  const { spec } = input.policy;
  if (spec.egress === undefined) return input;
  const egress = spec.egress.flatMap((rule): Rule[] => {
    const ports = rule.ports ?? [];
    const to = rule.to ?? [];
    const blocks = to.filter((peer) => peer.ipBlock !== undefined);
    if (blocks.length === 0 || !ports.some((port) => typeof port.port === "string")) return [rule];
    const selectors = to.filter((peer) => peer.ipBlock === undefined);
    const numeric = ports.filter((port) => typeof port.port !== "string");
    return [
      ...(selectors.length === 0 ? [] : [{ ...rule, to: selectors }]),
      ...(numeric.length === 0 ? [] : [{ ...rule, to: blocks, ports: numeric }]),
    ];
  });
  return { ...input, policy: { ...input.policy, spec: { ...spec, egress } } };
}

function strictlyInside(inner: string, outer: string): boolean {
  const a = parseCidr(inner);
  const b = parseCidr(outer);
  if (!a.ok || !b.ok || a.cidr.family !== b.cidr.family || a.cidr.prefix <= b.cidr.prefix) return false;
  return a.cidr.address.match(b.cidr.address, b.cidr.prefix);
}

/**
 * 5. Which pods a named port resolves to depends on the order the pod lister returns them. policy.go
 *    grabNamedPortFromPod builds one `ips` map per pod and stores that same map in every endpoint the
 *    pod creates (`ips: ips`, one per container port it is the first to declare); a later pod that
 *    declares one of those ports appends its IPs to the endpoint's map (`eps.ips[...] = append(...)`),
 *    that is to the first pod's shared map, so they show up under all of the first pod's other ports
 *    too. processIngressRules/processEgressRules then accept the named port's number towards every IP
 *    in that map (the ...NamedPortIPSetName sets). The lister (ListPodsByNamespaceAndLabels, evalPodPeer)
 *    lists from a map, in no fixed order. So a pod that does not declare a named port can be admitted
 *    on its number when it shares a declared (name, protocol, port) with a pod that does, and that pod
 *    came first in the list: in some syncs, not in others. The pods considered are the ones whose
 *    ports kube-router reads for the rule: the policy's targets for ingress (buildNetworkPoliciesInfo),
 *    the pods of the rule's selector peers for egress (an egress rule without `to` accepts the numbers
 *    towards every destination, #3, so the IPs do not matter there). Stated in Kubernetes terms, for
 *    one flow: a named port of such a rule also admits the flow's destination on the flow's port when
 *    the destination could be in the map. Flows whose verdict that changes are not asserted.
 */
function namedPortsOfListOrder(cluster: Cluster, input: PolicyInput, flow: Flow): PolicyInput {
  const { spec } = input.policy;
  const protocol = flow.protocol ?? "TCP";
  const destination = cluster.workloads.find((w) => w.id === flow.to);
  if (destination === undefined) return input;
  const key = (p: { name: string; protocol: string; port: number }) => `${p.name}/${p.protocol}/${p.port}`;
  const destinationKeys = new Set(destination.namedPorts.map(key));
  const targets = cluster.workloads.filter(
    (w) => w.namespace === input.namespace && matches(spec.podSelector, w.labels),
  );
  const rewrite = (rule: Rule, peers: "from" | "to"): Rule => {
    const pool =
      peers === "from"
        ? targets
        : (rule.to ?? []).filter((peer) => peer.ipBlock === undefined).flatMap((peer) => podsOf(cluster, input, peer));
    if (!pool.includes(destination)) return rule;
    const leaks = (rule.ports ?? []).some((port) => {
      if (typeof port.port !== "string" || (port.protocol ?? "TCP") !== protocol) return false;
      const wanted = key({ name: port.port, protocol, port: flow.port });
      if (destinationKeys.has(wanted)) return false;
      return pool.some(
        (first) =>
          first !== destination &&
          first.namedPorts.some((named) => key(named) === wanted) &&
          first.namedPorts.some((named) => destinationKeys.has(key(named))),
      );
    });
    return leaks ? { ...rule, ports: [...(rule.ports ?? []), { protocol, port: flow.port }] } : rule;
  };
  return withRulesRewritten(input, (rule, peers) =>
    peers === "to" && (rule.to ?? []).length === 0 ? rule : rewrite(rule, peers),
  );
}

export function kubeRouterVerdict(cluster: Cluster, flow: Flow): DataplaneVerdict {
  const inOrder = departures(cluster, flow);
  const leaked = departures(
    { ...cluster, policies: cluster.policies.map((input) => namedPortsOfListOrder(cluster, input, flow)) },
    flow,
  );
  if (leaked.verdict === inOrder.verdict) return inOrder;
  return {
    ...inOrder,
    orderDependent: `kube-router #5 a named port resolved to the IPs of another pod sharing a port with its declarer: ${leaked.verdict} when the pod lister lists that declarer first, ${inOrder.verdict} otherwise`,
  };
}

function departures(cluster: Cluster, flow: Flow): DataplaneVerdict {
  const kubernetes = verdict(cluster, flow);
  const withSharedExcepts = { ...cluster, policies: cluster.policies.map(exceptsSharedAcrossPeers) };
  const sharedExcepts = verdict(withSharedExcepts, flow) !== kubernetes;
  const withoutIpBlockNamedPorts = {
    ...cluster,
    policies: withSharedExcepts.policies.map(namedPortsNotForEgressIpBlocks),
  };
  const ipBlockNamedPorts = verdict(withoutIpBlockNamedPorts, flow) !== verdict(withSharedExcepts, flow);
  const withOwnNamespacePorts = {
    ...cluster,
    policies: withoutIpBlockNamedPorts.policies.map((input) => namedPortsOfOwnNamespace(cluster, input)),
  };
  const ownNamespacePorts = verdict(withOwnNamespacePorts, flow) !== verdict(withoutIpBlockNamedPorts, flow);
  const asRead = {
    ...cluster,
    policies: withOwnNamespacePorts.policies.map((input) => unresolvedNamedPortsAsEveryPort(cluster, input)),
  };
  const unresolved = verdict(asRead, flow) !== verdict(withOwnNamespacePorts, flow);
  const { verdict: onKubeRouter, leak } = leakAcrossDirections(asRead, flow);
  if (onKubeRouter === kubernetes) return { verdict: kubernetes };
  const reasons = [
    ...(sharedExcepts ? ["#4 an except of one ipBlock peer applied to the other peers of its rule"] : []),
    ...(ipBlockNamedPorts ? ["#6 an egress rule's named ports not applied to its ipBlock peers"] : []),
    ...(ownNamespacePorts ? ["#3 named ports of an egress rule without `to` resolved in the policy's namespace"] : []),
    ...(unresolved ? ["#2 a named port no pod declares read as every port"] : []),
    ...(leak === undefined ? [] : [`#1 a both-directions policy applied across directions (${leak})`]),
  ];
  return { verdict: onKubeRouter, divergence: `kube-router ${reasons.join(", ")}` };
}
