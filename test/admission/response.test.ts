import t from "tap";
import { buildAdmissionResponse, decisionOf, type Decision, type Verdict } from "../../src/admission/response.ts";
import type { Finding } from "../../src/rules/finding.ts";

const deny: Finding = {
  ruleId: "NP021",
  action: "deny",
  path: "spec.ingress[0].from[0].ipBlock.cidr",
  message: "`10.0.0.1/8` has host bits set; the network is `10.0.0.0/8`",
};
const warn: Finding = {
  ruleId: "NP024",
  action: "warn",
  path: "spec.ingress[0].from[0].ipBlock.cidr",
  message: "`0.0.0.0/0` covers every address",
};

t.test("allowed without findings: uid echoed, nothing else", async (t) => {
  t.same(buildAdmissionResponse("u1", { findings: [] }), {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: { uid: "u1", allowed: true },
  });
});

t.test("denied: 403 with every denial and its field path in the message, warnings kept", async (t) => {
  const second: Finding = { ...deny, ruleId: "NP003", path: "spec.egress", message: "ignored" };
  t.same(buildAdmissionResponse("u2", { findings: [deny, warn, second] }), {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    response: {
      uid: "u2",
      allowed: false,
      status: {
        code: 403,
        reason: "Forbidden",
        message:
          "netfence found 2 problems: NP021 spec.ingress[0].from[0].ipBlock.cidr: `10.0.0.1/8` has host bits set; the network is `10.0.0.0/8`; NP003 spec.egress: ignored",
      },
      warnings: ["NP024 spec.ingress[0].from[0].ipBlock.cidr: `0.0.0.0/0` covers every address"],
    },
  });
});

t.test("a denial never carries a patch", async (t) => {
  const review = buildAdmissionResponse("u3", { findings: [deny], patch: [{ op: "add", path: "/x", value: 1 }] });
  t.equal(review.response.patch, undefined);
  t.equal(review.response.patchType, undefined);
});

t.test("a patch is base64 JSONPatch with its patchType", async (t) => {
  const patch = [{ op: "add" as const, path: "/metadata/annotations", value: { a: "b" } }];
  const review = buildAdmissionResponse("u4", { findings: [], patch });
  t.equal(review.response.patchType, "JSONPatch");
  t.same(JSON.parse(Buffer.from(review.response.patch!, "base64").toString()), patch);
});

t.test("an empty patch is no patch", async (t) => {
  t.same(buildAdmissionResponse("u5", { findings: [], patch: [] }).response, { uid: "u5", allowed: true });
});

t.test("warnings start with the rule ID, are one line and at most 120 characters", async (t) => {
  const long: Finding = { ...warn, message: `line one\nline two ${"x".repeat(300)}` };
  const [text] = buildAdmissionResponse("u6", { findings: [long] }).response.warnings!;
  t.ok(text!.startsWith("NP024 "));
  t.notMatch(text!, /\n/);
  t.equal(text!.length, 120);
  t.ok(text!.endsWith("..."));
});

t.test("many warnings stay under the apiserver's 4,096-character budget", async (t) => {
  const many = Array.from({ length: 100 }, (_, i) => ({
    ...warn,
    path: `spec.ingress[${i}]`,
    message: "y".repeat(200),
  }));
  const warnings = buildAdmissionResponse("u7", { findings: many }).response.warnings!;
  t.ok(warnings.join("").length <= 4096, `total ${warnings.join("").length}`);
  t.equal(warnings.length, 30);
  t.match(warnings.at(-1)!, /^NP024 and 70 more warnings not shown \(71 in all\)/);
});

t.test("a denial with very many findings stays bounded, and long values are cut", async (t) => {
  const many = Array.from({ length: 100_000 }, (_, i) => ({
    ...deny,
    path: `spec.ingress[0].from[${i}].ipBlock.cidr`,
  }));
  const message = buildAdmissionResponse("u8", { findings: many }).response.status!.message;
  t.match(message, /^netfence found 100000 problems: /);
  t.match(message, /and 99950 more \(run `netfence lint` to see them all\)$/);
  t.ok(message.length < 50 * 600, `${message.length} characters`);
  const long = buildAdmissionResponse("u9", { findings: [{ ...deny, message: "x".repeat(1_000_000) }] }).response
    .status!.message;
  t.ok(long.length < 600, `${long.length} characters`);
});

t.test("the decision column: a denial wins, then a non-empty patch, then any finding", async (t) => {
  const op = { op: "add", path: "/metadata/annotations", value: {} } as const;
  const table: [string, Verdict, Decision][] = [
    ["nothing", { findings: [] }, "allowed"],
    ["an empty patch", { findings: [], patch: [] }, "allowed"],
    ["a warning", { findings: [warn] }, "warned"],
    ["a warning and an empty patch", { findings: [warn], patch: [] }, "warned"],
    ["a denial", { findings: [deny] }, "denied"],
    ["a warning before a denial", { findings: [warn, deny] }, "denied"],
    ["a patch", { findings: [], patch: [op] }, "patched"],
    ["a patch and a warning", { findings: [warn], patch: [op] }, "patched"],
    ["a patch and a denial", { findings: [deny], patch: [op] }, "denied"],
  ];
  for (const [name, verdict, decision] of table) t.equal(decisionOf(verdict), decision, name);
});
