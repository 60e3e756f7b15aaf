import t from "tap";
import { isolationPolicy } from "../src/isolation-policy.ts";
import { ISOLATION_POLICY_NAME, MANAGED_BY_LABEL } from "../src/names.ts";
import { mutateRequest } from "../src/admission/handle.ts";
import { admissionPolicy } from "../src/admission/policy.ts";
import { parseConfig } from "../src/config.ts";
import { findingsOf } from "./helpers/evaluate.ts";

t.test("the isolation policy admits its own namespace and the allowed namespaces only", async (t) => {
  const policy = isolationPolicy("team-a", ["monitoring", "ingress-nginx"]);
  t.equal(policy.metadata?.name, ISOLATION_POLICY_NAME);
  t.equal(policy.metadata?.labels?.[MANAGED_BY_LABEL], "netfence");
  t.same(policy.spec.policyTypes, ["Ingress"]);
  t.same(policy.spec.ingress?.[0], { from: [{ podSelector: {} }] });
  t.same(policy.spec.ingress?.[1]?.from?.[0]?.namespaceSelector?.matchExpressions?.[0]?.values, [
    "ingress-nginx",
    "monitoring",
  ]);
  t.same(findingsOf(policy, { context: { namespaceIsolated: true } }), [], "and passes every rule");
});

t.test("the mutating webhook has nothing to add to it (the same pure function)", async (t) => {
  const config = parseConfig({ allowedIngressNamespaces: ["monitoring"], isolatedNamespaces: ["team-a"] });
  const verdict = mutateRequest(
    {
      uid: "u",
      group: "networking.k8s.io",
      version: "v1",
      kind: "NetworkPolicy",
      namespace: "team-a",
      name: ISOLATION_POLICY_NAME,
      operation: "CREATE",
      object: isolationPolicy("team-a", ["monitoring"]),
      oldObject: undefined,
      dryRun: false,
    },
    admissionPolicy(config),
  );
  t.same(verdict, { findings: [] });
});
