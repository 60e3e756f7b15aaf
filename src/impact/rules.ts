// The impact rules (NP050-NP059): what a NetworkPolicy CREATE, UPDATE or DELETE does to the traffic
// between the workloads running now, as admission warnings. Only the webhook computes impact (it
// holds the cluster's pods); the linter never sees these findings. Default `warn`: a cut-off is often
// the point of a policy. `deny` makes sense for NP053 (a team may not cut monitoring or the ingress
// controller off) and, in tightly controlled clusters, for NP050/NP051 (every change of reachability
// goes through a break-glass path); NP052 as `deny` would turn a slow computation into a refusal,
// which is why it stays a warning unless you want exactly that.
import { FieldPath } from "../field-path.ts";
import { rule } from "../rules/rule.ts";
import { allowedNamespacesMessage, changeMessage } from "./warnings.ts";

const EXAMPLE_CLUSTER = `apiVersion: v1
kind: Namespace
metadata: {name: team-a}
---
apiVersion: v1
kind: Namespace
metadata: {name: monitoring}
---
apiVersion: v1
kind: Pod
metadata: {name: api-0, namespace: team-a, labels: {app: api}}
spec: {containers: [{name: api, image: api, ports: [{name: http, containerPort: 8080}]}]}
status: {phase: Running, podIP: 10.244.1.5}
---
apiVersion: v1
kind: Pod
metadata: {name: prometheus-0, namespace: monitoring, labels: {app: prometheus}}
spec: {containers: [{name: prometheus, image: prometheus}]}
status: {phase: Running, podIP: 10.244.2.7}
---
`;

const DEFAULT_DENY = `# the change: a default-deny for team-a
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: team-a}
spec: {podSelector: {}, policyTypes: [Ingress]}
`;

const root = FieldPath.root();

export const NP050 = rule({
  id: "NP050",
  kind: "NetworkPolicy",
  at: "impact",
  defaultAction: "warn",
  title: "the change cuts off flows between running workloads that are allowed now",
  why: "a policy that selects running pods also stops every flow it does not allow; kubectl would not tell you which.",
  fix: "if the flows are needed, allow them in the policy; `kubectl apply --dry-run=server` shows this warning without storing anything.",
  example: { yaml: `${EXAMPLE_CLUSTER}${DEFAULT_DENY}` },
  check: (outcome) => {
    const message = "impact" in outcome ? changeMessage("cuts off", outcome.impact.cutOff) : undefined;
    return message === undefined ? [] : [{ path: root, message }];
  },
});

export const NP051 = rule({
  id: "NP051",
  kind: "NetworkPolicy",
  at: "impact",
  defaultAction: "warn",
  title: "the change opens flows between running workloads that are denied now",
  why: "deleting or widening a policy opens traffic that was denied, possibly across namespaces.",
  fix: "if the flows should stay closed, narrow the policy's peers and ports instead.",
  example: {
    yaml: `${EXAMPLE_CLUSTER}${DEFAULT_DENY.replace("# the change: a default-deny for team-a", "# stored: a default-deny; the change: deleting it")}`,
  },
  check: (outcome) => {
    const message = "impact" in outcome ? changeMessage("opens", outcome.impact.opened) : undefined;
    return message === undefined ? [] : [{ path: root, message }];
  },
});

export const NP052 = rule({
  id: "NP052",
  kind: "NetworkPolicy",
  at: "impact",
  defaultAction: "warn",
  title: "the impact of the change was not computed (deadline, pod cache not ready, request too large, or an error)",
  why: "the impact check has a time budget (`impact.deadlineMs`) and never delays or fails a request; when it cannot answer in time, it says so.",
  fix: "run `netfence diff` offline, or retry; if it happens often, raise `impact.deadlineMs` and watch `netfence_impact_duration_seconds`.",
  example: {
    yaml: `# any change, when the check runs out of time (impact.deadlineMs)\n${EXAMPLE_CLUSTER}${DEFAULT_DENY}`,
  },
  check: (outcome) =>
    "skipped" in outcome ? [{ path: root, message: `impact not computed: ${outcome.skipped}` }] : [],
});

export const NP053 = rule({
  id: "NP053",
  kind: "NetworkPolicy",
  at: "impact",
  defaultAction: "warn",
  title: "the change cuts off flows from an allowedIngressNamespace (monitoring, ingress controller)",
  why: "the allowedIngressNamespaces must reach every pod of an isolated namespace; a policy in a namespace that is not isolated can still cut them off.",
  fix: "add a peer for the namespace to the policy (or isolate the namespace: netfence then injects it); set NP053 to `deny` to forbid such changes.",
  example: { yaml: `# with allowedIngressNamespaces: [monitoring]\n${EXAMPLE_CLUSTER}${DEFAULT_DENY}` },
  check: (outcome) => {
    const message = "impact" in outcome ? allowedNamespacesMessage(outcome.impact.cutOff) : undefined;
    return message === undefined ? [] : [{ path: root, message }];
  },
});
