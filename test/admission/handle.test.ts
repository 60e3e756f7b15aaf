// admit(): the pure step from a parsed request to kind, decision, finding counts and the wire answer.
import t from "tap";
import { admissionPolicy } from "../../src/admission/policy.ts";
import { admit, type AdmissionPolicy } from "../../src/admission/handle.ts";
import { parseAdmissionReview, type AdmissionRequest } from "../../src/admission/review.ts";
import { parseConfig } from "../../src/config.ts";
import type { Finding } from "../../src/rules/finding.ts";
import { admissionReview, ingressFromCidr, networkPolicy, type ReviewOptions } from "../helpers/review.ts";

const requestOf = (kind: Parameters<typeof admissionReview>[0], object: unknown, options: ReviewOptions = {}) => {
  const parsed = parseAdmissionReview(admissionReview(kind, object, options));
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.request;
};

const IMPACT: Finding = { ruleId: "NP050", action: "warn", path: "spec", message: "cuts off 1 flow now allowed" };

/** A policy whose impact records the requests it was asked about. */
function withImpact(config = parseConfig({})) {
  const asked: AdmissionRequest[] = [];
  const policy: AdmissionPolicy = {
    ...admissionPolicy(config),
    impact: (request) => {
      asked.push(request);
      return [IMPACT];
    },
  };
  return { policy, asked };
}

t.test("a kind netfence leaves alone is `other`, allowed with nothing counted", async (t) => {
  const request = requestOf("Pod", { apiVersion: "v1", kind: "Pod", metadata: { name: "p" } });
  const answer = admit("validate", request, admissionPolicy(parseConfig({})));
  t.same(
    { kind: answer.kind, decision: answer.decision, counts: answer.findingCounts },
    { kind: "other", decision: "allowed", counts: {} },
  );
  t.same(answer.review.response, { uid: request.uid, allowed: true });
});

t.test("findings are counted per rule and action", async (t) => {
  const request = requestOf("NetworkPolicy", ingressFromCidr("10.0.0.1/8"));
  const answer = admit("validate", request, admissionPolicy(parseConfig({})));
  t.equal(answer.kind, "NetworkPolicy");
  t.equal(answer.decision, "denied");
  t.same(answer.findingCounts, { "NP021:deny": 1 });
});

t.test("a DELETE without an impact check is allowed with no finding", async (t) => {
  const request = requestOf("NetworkPolicy", null, {
    operation: "DELETE",
    oldObject: ingressFromCidr("10.0.0.0/8"),
  });
  const answer = admit("validate", request, admissionPolicy(parseConfig({})));
  t.same({ decision: answer.decision, counts: answer.findingCounts }, { decision: "allowed", counts: {} });
  t.same(answer.review.response, { uid: request.uid, allowed: true });
});

t.test("a DELETE gets the impact warnings and nothing else", async (t) => {
  const { policy, asked } = withImpact();
  const request = requestOf("NetworkPolicy", null, {
    operation: "DELETE",
    oldObject: ingressFromCidr("10.0.0.1/8"),
  });
  const answer = admit("validate", request, policy);
  t.equal(asked.length, 1);
  t.same(answer.findingCounts, { "NP050:warn": 1 }, "the old object's NP021 is not checked on a DELETE");
});

t.test("impact is asked only when nothing denies the write: a refused write changes no traffic", async (t) => {
  const { policy, asked } = withImpact();
  const refused = admit("validate", requestOf("NetworkPolicy", ingressFromCidr("10.0.0.1/8")), policy);
  t.equal(asked.length, 0);
  t.same(refused.findingCounts, { "NP021:deny": 1 });

  const accepted = admit("validate", requestOf("NetworkPolicy", ingressFromCidr("10.0.0.0/8")), policy);
  t.equal(asked.length, 1);
  t.same(accepted.findingCounts, { "NP050:warn": 1 });
  t.equal(accepted.decision, "warned");

  const warned = admit("validate", requestOf("NetworkPolicy", ingressFromCidr("0.0.0.0/0")), policy);
  t.equal(asked.length, 2, "a warning does not stop the impact check");
  t.same(warned.findingCounts, { "NP024:warn": 1, "NP050:warn": 1 });
});

t.test("a mutation answers with its patch and no finding", async (t) => {
  const config = parseConfig({ allowedIngressNamespaces: ["monitoring"], isolatedNamespaces: ["team-a"] });
  const policy = networkPolicy({
    podSelector: {},
    policyTypes: ["Ingress"],
    ingress: [{ from: [{ podSelector: {} }] }],
  });
  const answer = admit("mutate", requestOf("NetworkPolicy", policy), admissionPolicy(config));
  t.equal(answer.decision, "patched");
  t.same(answer.findingCounts, {});
  t.equal(answer.review.response.patchType, "JSONPatch");
  t.notOk(answer.review.response.warnings);
});

t.test("nothing to mutate: allowed without a patch", async (t) => {
  const policy = networkPolicy({
    podSelector: {},
    policyTypes: ["Ingress"],
    ingress: [{ from: [{ podSelector: {} }] }],
  });
  const answer = admit("mutate", requestOf("NetworkPolicy", policy), admissionPolicy(parseConfig({})));
  t.equal(answer.decision, "allowed");
  t.same(answer.review.response, { uid: answer.review.response.uid, allowed: true });
});
