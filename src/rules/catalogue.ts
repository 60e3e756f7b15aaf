// The rule catalogue: every rule ID netfence knows, its default action and the words the docs and
// `netfence explain`-style output use. Config validation, the docs and the tests all read this table.

export interface RuleInfo {
  kind: "NetworkPolicy" | "Service" | "ConfigMap" | "Namespace";
  defaultAction: "deny" | "warn";
  title: string;
  why: string;
  fix: string;
}

export const RULES = {
  NP001: {
    kind: "NetworkPolicy",
    defaultAction: "deny",
    title: "malformed NetworkPolicy: spec or spec.podSelector missing, or a field of the wrong type",
    why: "Kubernetes refuses to store such an object; offline, nothing else would tell you before apply.",
    fix: "add `spec.podSelector` (`{}` selects every pod of the namespace) and give each field its documented type.",
  },
  NP002: {
    kind: "NetworkPolicy",
    defaultAction: "deny",
    title: "policyTypes holds a value other than Ingress or Egress, or more than two entries",
    why: "policyTypes is case-sensitive; `ingress` or `Both` is rejected by the API server or, worse, misread by tools.",
    fix: "use exactly `Ingress`, `Egress`, or both.",
  },
  NP003: {
    kind: "NetworkPolicy",
    defaultAction: "deny",
    title: "ingress or egress rules present while policyTypes omits Ingress or Egress",
    why: "Kubernetes silently ignores rules whose direction is not listed in policyTypes: the policy does not do what it says.",
    fix: "add the direction to `spec.policyTypes`, or delete the rules of that direction.",
  },
  NP004: {
    kind: "NetworkPolicy",
    defaultAction: "warn",
    title: "a policyTypes entry is duplicated",
    why: "harmless to Kubernetes, but a sign of a copy-paste mistake.",
    fix: "list each direction once.",
  },
  NP010: {
    kind: "NetworkPolicy",
    defaultAction: "deny",
    title: "a peer with ipBlock and a selector together, or with nothing at all",
    why: "Kubernetes rejects both; ipBlock cannot be combined with podSelector or namespaceSelector.",
    fix: "split the peer into two peers, or give the empty peer a selector or an ipBlock.",
  },
  NP011: {
    kind: "NetworkPolicy",
    defaultAction: "deny",
    title: "invalid label selector",
    why: "an unknown operator, In/NotIn without values, Exists/DoesNotExist with values, or bad key/value syntax is rejected by Kubernetes.",
    fix: "use In, NotIn, Exists or DoesNotExist with valid label keys and values.",
  },
  NP020: {
    kind: "NetworkPolicy",
    defaultAction: "deny",
    title: "cidr is not a valid CIDR under strict parsing",
    why: "leading zeros are ambiguous octal (CVE-2021-29923), a missing prefix, a zone, an IPv4-mapped IPv6 or `:` for `/` are stored by Kubernetes before 1.36 and then mean something else to each CNI.",
    fix: "write the network as `a.b.c.d/n` or a canonical IPv6 `x::/n`, without leading zeros.",
  },
  NP021: {
    kind: "NetworkPolicy",
    defaultAction: "deny",
    title: "cidr has host bits set",
    why: "`10.0.0.1/8` means `10.0.0.0/8` to most CNIs but reads like a single host: the policy admits far more than intended, or less.",
    fix: "use the network address the message suggests, or `/32` (`/128`) for a single host.",
  },
  NP022: {
    kind: "NetworkPolicy",
    defaultAction: "deny",
    title: "an except entry is invalid, of the other family, or not strictly inside cidr",
    why: "Kubernetes rejects except entries outside cidr; an invalid one is stored by older clusters and excepts nothing.",
    fix: "list only networks strictly inside `cidr`, of the same address family.",
  },
  NP023: {
    kind: "NetworkPolicy",
    defaultAction: "warn",
    title: "duplicate or overlapping except entries",
    why: "one entry already excepts the other's addresses; the list says less than it seems.",
    fix: "keep the wider entry and delete the one inside it.",
  },
  NP024: {
    kind: "NetworkPolicy",
    defaultAction: "warn",
    title: "an ingress ipBlock covers the pod network without excepting it",
    why: "some CNIs (Calico) then admit pods of every namespace through the ipBlock, defeating namespace isolation.",
    fix: "add the pod CIDRs to `except`, or use namespaceSelector/podSelector peers for in-cluster sources.",
  },
  NP025: {
    kind: "NetworkPolicy",
    defaultAction: "warn",
    title: "IPv6 address not in RFC 5952 canonical form",
    why: "non-canonical spellings make reviews and diffs miss equal networks.",
    fix: "write the canonical form the message suggests.",
  },
  NP030: {
    kind: "NetworkPolicy",
    defaultAction: "deny",
    title: "protocol other than TCP, UDP or SCTP",
    why: "Kubernetes only accepts these three, case-sensitive.",
    fix: "use `TCP`, `UDP` or `SCTP`.",
  },
  NP031: {
    kind: "NetworkPolicy",
    defaultAction: "warn",
    title: "SCTP port",
    why: "the CNI must support SCTP; many do not and ignore the rule.",
    fix: "check that your CNI enforces SCTP, then set this rule to `off`.",
  },
  NP032: {
    kind: "NetworkPolicy",
    defaultAction: "deny",
    title: "port outside 1-65535, or a named port that is not a valid IANA service name",
    why: "Kubernetes rejects both.",
    fix: "use a number from 1 to 65535, or a container port name of at most 15 lowercase letters, digits and dashes.",
  },
  NP033: {
    kind: "NetworkPolicy",
    defaultAction: "deny",
    title: "endPort without a numeric port, endPort below port, or above 65535",
    why: "Kubernetes rejects these ranges.",
    fix: "give a numeric `port` and an `endPort` between it and 65535.",
  },
  NP034: {
    kind: "NetworkPolicy",
    defaultAction: "warn",
    title: "egress to ipBlocks only, with a named port",
    why: "a named port resolves against the destination pod's container ports; an address outside the cluster has none, so nothing matches.",
    fix: "use the numeric port.",
  },
  NP040: {
    kind: "NetworkPolicy",
    defaultAction: "warn",
    title: "an ingress rule that allows everything, in an isolated namespace",
    why: "an empty rule `{}` or a peer `namespaceSelector: {}` admits every namespace and defeats isolation.",
    fix: "name the namespaces with a namespaceSelector on `kubernetes.io/metadata.name`.",
  },
  NP041: {
    kind: "NetworkPolicy",
    defaultAction: "warn",
    title: "a namespaceSelector-only peer followed by a podSelector-only peer",
    why: "two peers are OR: this admits every pod of the selected namespaces plus the selected pods of this namespace. Most authors meant AND.",
    fix: "put both selectors in one peer.",
  },
  NP042: {
    kind: "NetworkPolicy",
    defaultAction: "warn",
    title: "egress is restricted but DNS (UDP port 53) is not allowed",
    why: "the selected pods lose name resolution.",
    fix: "add an egress rule to UDP and TCP port 53 of kube-system pods `k8s-app: kube-dns`.",
  },
  SVC001: {
    kind: "Service",
    defaultAction: "deny",
    title: "a Service with a missing or empty selector, in an isolated namespace",
    why: "an allowlist entry built from this Service would select every pod of its namespace.",
    fix: "give the Service a selector, or annotate it `netfence.io/allow-empty-selector: \"true\"` when its Endpoints are managed by hand.",
  },
  SVC002: {
    kind: "Service",
    defaultAction: "warn",
    title: "a NodePort or LoadBalancer Service without externalTrafficPolicy Local, in an isolated namespace",
    why: "with `Cluster` the node SNATs external clients: ipBlock rules see the node's address, not the client's.",
    fix: "set `spec.externalTrafficPolicy: Local`.",
  },
  KP001: {
    kind: "ConfigMap",
    defaultAction: "warn",
    title: "kube-proxy masqueradeAll is on",
    why: "kube-proxy SNATs all Service traffic: source-based NetworkPolicy rules see node addresses.",
    fix: "set `iptables.masqueradeAll` and `nftables.masqueradeAll` to false in `config.conf`.",
  },
  NS001: {
    kind: "Namespace",
    defaultAction: "warn",
    title: "the legacy annotation net.beta.kubernetes.io/network-policy is not valid JSON of the expected shape",
    why: "netfence cannot tell whether the namespace is meant to be isolated; it treats it as not isolated.",
    fix: "use the label `netfence.io/isolation: enabled` instead.",
  },
} as const satisfies Record<string, RuleInfo>;

export type RuleId = keyof typeof RULES;

export const RULE_IDS = Object.keys(RULES) as RuleId[];

export function isRuleId(value: string): value is RuleId {
  return Object.hasOwn(RULES, value);
}
