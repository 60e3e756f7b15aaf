// One triggering example per rule, for the rule reference (docs/rules.md). A test checks that each
// example produces its rule, so the docs cannot drift from the engine.
import type { RuleId } from "./catalogue.ts";

export interface RuleExample {
  /** The object, as a user would write it. */
  yaml: string;
  /** Evaluate it in an isolated namespace. */
  isolated?: boolean;
}

const policy = (spec: string) =>
  `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: example, namespace: team-a}
spec:
${spec
  .trim()
  .split("\n")
  .map((line) => `  ${line}`)
  .join("\n")}
`;

export const EXAMPLES: Record<RuleId, RuleExample> = {
  NP001: { yaml: policy("policyTypes: [Ingress]\ningress: []") },
  NP002: { yaml: policy("podSelector: {}\npolicyTypes: [ingress]") },
  NP003: { yaml: policy("podSelector: {}\npolicyTypes: [Ingress]\negress:\n- to:\n  - ipBlock: {cidr: 10.0.0.0/8}") },
  NP004: { yaml: policy("podSelector: {}\npolicyTypes: [Ingress, Ingress]") },
  NP010: { yaml: policy("podSelector: {}\ningress:\n- from:\n  - ipBlock: {cidr: 10.0.0.0/8}\n    podSelector: {matchLabels: {app: api}}") },
  NP011: { yaml: policy("podSelector:\n  matchExpressions:\n  - {key: app, operator: in, values: [api]}") },
  NP020: { yaml: policy("podSelector: {}\ningress:\n- from:\n  - ipBlock: {cidr: 010.0.0.0/8}") },
  NP021: { yaml: policy("podSelector: {}\ningress:\n- from:\n  - ipBlock: {cidr: 10.0.0.1/8}") },
  NP022: { yaml: policy("podSelector: {}\ningress:\n- from:\n  - ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}") },
  NP023: { yaml: policy("podSelector: {}\ningress:\n- from:\n  - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16, 10.1.2.0/24]}") },
  NP024: { yaml: policy("podSelector: {}\ningress:\n- from:\n  - ipBlock: {cidr: 0.0.0.0/0}") },
  NP025: { yaml: policy("podSelector: {}\ningress:\n- from:\n  - ipBlock: {cidr: '2001:DB8::/32'}") },
  NP030: { yaml: policy("podSelector: {}\ningress:\n- ports:\n  - {protocol: ICMP, port: 8}") },
  NP031: { yaml: policy("podSelector: {}\ningress:\n- ports:\n  - {protocol: SCTP, port: 9000}") },
  NP032: { yaml: policy("podSelector: {}\ningress:\n- ports:\n  - {protocol: TCP, port: 70000}") },
  NP033: { yaml: policy("podSelector: {}\ningress:\n- ports:\n  - {protocol: TCP, port: 8080, endPort: 80}") },
  NP034: {
    yaml: policy(
      "podSelector: {}\npolicyTypes: [Egress]\negress:\n- to:\n  - ipBlock: {cidr: 203.0.113.0/24}\n  ports:\n  - {protocol: TCP, port: https}\n- ports:\n  - {protocol: UDP, port: 53}",
    ),
  },
  NP040: { yaml: policy("podSelector: {}\ningress:\n- from:\n  - namespaceSelector: {}"), isolated: true },
  NP041: {
    yaml: policy(
      "podSelector: {matchLabels: {app: db}}\ningress:\n- from:\n  - namespaceSelector: {matchLabels: {team: a}}\n  - podSelector: {matchLabels: {app: api}}",
    ),
  },
  NP042: { yaml: policy("podSelector: {}\npolicyTypes: [Egress]\negress:\n- to:\n  - podSelector: {matchLabels: {app: db}}\n  ports:\n  - {protocol: TCP, port: 5432}") },
  SVC001: {
    yaml: "apiVersion: v1\nkind: Service\nmetadata: {name: api, namespace: team-a}\nspec:\n  ports:\n  - {port: 80, targetPort: 8080}\n",
    isolated: true,
  },
  SVC002: {
    yaml: "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: team-a}\nspec:\n  type: LoadBalancer\n  selector: {app: web}\n  ports:\n  - {port: 443}\n",
    isolated: true,
  },
  KP001: {
    yaml: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kube-proxy, namespace: kube-system}\ndata:\n  config.conf: |\n    apiVersion: kubeproxy.config.k8s.io/v1alpha1\n    kind: KubeProxyConfiguration\n    mode: iptables\n    iptables:\n      masqueradeAll: true\n",
  },
  NS001: {
    yaml: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: legacy\n  annotations:\n    net.beta.kubernetes.io/network-policy: 'DefaultDeny'\n",
  },
};
