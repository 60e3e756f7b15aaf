// Injection at its edges: what the annotation may hold, and that nothing the user wrote is added or
// dropped beyond the one rule and the one annotation.
import t from "tap";
import { allowedIngressRule, injectAllowedIngress } from "../../src/mutate/inject-allowed-ingress.ts";
import { INJECTED_ANNOTATION } from "../../src/names.ts";
import { NetworkPolicySchema } from "../../src/kube-objects.ts";
import { networkPolicy } from "../helpers/review.ts";

const parse = (object: unknown) => NetworkPolicySchema.parse(object);
const USER_RULE = { from: [{ podSelector: { matchLabels: { app: "web" } } }] };

t.test("a policy without ingress rules and nothing to inject gets no `ingress: []`", async (t) => {
  const egressOnly = parse(
    networkPolicy({ policyTypes: ["Egress"], egress: [{}] }, { annotations: { [INJECTED_ANNOTATION]: "monitoring" } }),
  );
  const result = injectAllowedIngress(egressOnly, ["monitoring"]);
  t.equal(Object.hasOwn(result.spec, "ingress"), false, "no ingress member");
  t.equal(result.metadata?.annotations, undefined, "the emptied annotations are dropped, not left as {}");
});

t.test("the user's other annotations stay when the injected one goes", async (t) => {
  const policy = parse(
    networkPolicy(
      { policyTypes: ["Egress"], egress: [{}] },
      { annotations: { [INJECTED_ANNOTATION]: "monitoring", owner: "team-a" } },
    ),
  );
  t.same(injectAllowedIngress(policy, ["monitoring"]).metadata?.annotations, { owner: "team-a" });
});

t.test("an empty or sloppy annotation names no stale rule: the user's rules are kept", async (t) => {
  const emptyValues = {
    from: [
      { namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: [] }] } },
    ],
  };
  const policy = parse(
    networkPolicy(
      { policyTypes: ["Ingress"], ingress: [USER_RULE, emptyValues] },
      { annotations: { [INJECTED_ANNOTATION]: "" } },
    ),
  );
  t.same(injectAllowedIngress(policy, ["monitoring"]).spec.ingress, [
    USER_RULE,
    emptyValues,
    allowedIngressRule(["monitoring"]),
  ]);
  const sloppy = parse(
    networkPolicy(
      { policyTypes: ["Ingress"], ingress: [USER_RULE, allowedIngressRule(["a", "b"])] },
      { annotations: { [INJECTED_ANNOTATION]: "a,,b," } },
    ),
  );
  t.same(
    injectAllowedIngress(sloppy, ["c"]).spec.ingress,
    [USER_RULE, allowedIngressRule(["c"])],
    "`a,,b,` names a and b: their stale rule is replaced",
  );
});

t.test(
  "the wanted rule written by the user, without the annotation: the annotation is added, the rule not doubled",
  async (t) => {
    const policy = parse(networkPolicy({ policyTypes: ["Ingress"], ingress: [allowedIngressRule(["monitoring"])] }));
    const result = injectAllowedIngress(policy, ["monitoring"]);
    t.same(result.spec.ingress, [allowedIngressRule(["monitoring"])]);
    t.equal(result.metadata?.annotations?.[INJECTED_ANNOTATION], "monitoring");
  },
);

t.test("a stale rule that is also the wanted one is kept once", async (t) => {
  const policy = parse(
    networkPolicy(
      { policyTypes: ["Ingress"], ingress: [allowedIngressRule(["monitoring"]), USER_RULE] },
      { annotations: { [INJECTED_ANNOTATION]: "istio-system,monitoring" } },
    ),
  );
  const result = injectAllowedIngress(policy, ["monitoring"]);
  t.same(result.spec.ingress, [allowedIngressRule(["monitoring"]), USER_RULE]);
  t.equal(result.metadata?.annotations?.[INJECTED_ANNOTATION], "monitoring");
});

t.test("an injected policy is returned as it is; a stale rule between others is removed", async (t) => {
  const injected = injectAllowedIngress(parse(networkPolicy({ policyTypes: ["Ingress"], ingress: [USER_RULE] })), [
    "monitoring",
  ]);
  t.equal(injectAllowedIngress(injected, ["monitoring"]), injected);
  const stale = parse({
    ...injected,
    metadata: { ...injected.metadata, annotations: { [INJECTED_ANNOTATION]: "old" } },
  });
  const withStale = parse({
    ...stale,
    spec: { ...stale.spec, ingress: [USER_RULE, allowedIngressRule(["old"]), allowedIngressRule(["monitoring"])] },
  });
  t.same(injectAllowedIngress(withStale, ["monitoring"]).spec.ingress, [USER_RULE, allowedIngressRule(["monitoring"])]);
});
