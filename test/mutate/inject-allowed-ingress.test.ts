import t from "tap";
import { allowedIngressRule, injectAllowedIngress } from "../../src/mutate/inject-allowed-ingress.ts";
import { INJECTED_ANNOTATION } from "../../src/names.ts";
import { NetworkPolicySchema } from "../../src/kube-objects.ts";
import { networkPolicy } from "../helpers/review.ts";

const parse = (object: unknown) => NetworkPolicySchema.parse(object);

t.test("injects the sorted allowed namespaces as one rule plus the annotation", async (t) => {
  const result = injectAllowedIngress(
    parse(networkPolicy({ policyTypes: ["Ingress"], ingress: [{ from: [{ podSelector: {} }] }] })),
    ["monitoring", "ingress-nginx", "monitoring"],
  );
  t.same(result.spec.ingress, [{ from: [{ podSelector: {} }] }, allowedIngressRule(["ingress-nginx", "monitoring"])]);
  t.same(allowedIngressRule(["b", "a"]).from?.[0]?.namespaceSelector?.matchExpressions, [
    { key: "kubernetes.io/metadata.name", operator: "In", values: ["a", "b"] },
  ]);
  t.equal(result.metadata?.annotations?.[INJECTED_ANNOTATION], "ingress-nginx,monitoring");
});

t.test("is idempotent: an injected policy is returned unchanged", async (t) => {
  const once = injectAllowedIngress(parse(networkPolicy({})), ["monitoring"]);
  t.equal(injectAllowedIngress(once, ["monitoring"]), once);
});

t.test("an injected rule the user removed comes back, though the annotation still names it", async (t) => {
  const injected = injectAllowedIngress(parse(networkPolicy({ ingress: [{ from: [{ podSelector: {} }] }] })), [
    "monitoring",
  ]);
  const edited = { ...injected, spec: { ...injected.spec, ingress: [{ from: [{ podSelector: {} }] }] } };
  const repaired = injectAllowedIngress(edited, ["monitoring"]);
  t.same(repaired.spec.ingress, [{ from: [{ podSelector: {} }] }, allowedIngressRule(["monitoring"])]);
  t.equal(repaired.metadata?.annotations?.[INJECTED_ANNOTATION], "monitoring");
});

t.test("a policy without metadata gets the rule and the annotation", async (t) => {
  const { metadata: _, ...bare } = parse(networkPolicy({}));
  const result = injectAllowedIngress(bare, ["monitoring"]);
  t.same(result.spec.ingress, [allowedIngressRule(["monitoring"])]);
  t.same(result.metadata, { annotations: { [INJECTED_ANNOTATION]: "monitoring" } });
});

t.test("replaces a stale injected rule when the config changed", async (t) => {
  const old = injectAllowedIngress(parse(networkPolicy({ ingress: [{ from: [{ podSelector: {} }] }] })), [
    "monitoring",
  ]);
  const updated = injectAllowedIngress(old, ["monitoring", "istio-system"]);
  t.same(updated.spec.ingress, [{ from: [{ podSelector: {} }] }, allowedIngressRule(["istio-system", "monitoring"])]);
  t.equal(updated.metadata?.annotations?.[INJECTED_ANNOTATION], "istio-system,monitoring");
});

t.test("injects nothing when the list is empty, and removes a stale rule", async (t) => {
  const plain = parse(networkPolicy({}));
  t.equal(injectAllowedIngress(plain, []), plain);
  const injected = injectAllowedIngress(plain, ["monitoring"]);
  const cleared = injectAllowedIngress(injected, []);
  t.same(cleared.spec.ingress, []);
  t.equal(cleared.metadata?.annotations?.[INJECTED_ANNOTATION], undefined);
});

t.test("injects nothing when policyTypes lacks Ingress", async (t) => {
  const egressOnly = parse(networkPolicy({ policyTypes: ["Egress"], egress: [{}] }));
  t.equal(injectAllowedIngress(egressOnly, ["monitoring"]), egressOnly);
});

t.test("keeps the user's annotations and fields", async (t) => {
  const policy = parse(networkPolicy({ custom: 1 }, { annotations: { owner: "team-a" } }));
  const result = injectAllowedIngress(policy, ["monitoring"]);
  t.equal(result.metadata?.annotations?.owner, "team-a");
  t.equal((result.spec as Record<string, unknown>).custom, 1);
});

t.test("a rule sent with null members is the same rule: no duplicate, stale one still replaced", async (t) => {
  const injected = injectAllowedIngress(parse(networkPolicy({})), ["monitoring"]);
  const withNulls = JSON.parse(JSON.stringify(injected).replace('"from":', '"ports":null,"from":'));
  t.equal(injectAllowedIngress(parse(withNulls), ["monitoring"]).spec.ingress?.length, 1, "not injected twice");
  t.same(
    injectAllowedIngress(parse(withNulls), ["istio-system"]).spec.ingress,
    [allowedIngressRule(["istio-system"])],
    "stale rule replaced",
  );
});
