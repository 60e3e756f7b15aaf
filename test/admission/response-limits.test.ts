// The limits of an AdmissionReview answer, each at its boundary and as literals (DESIGN.md: a
// warning is one line of at most 120 characters; the apiserver drops everything past 4,096).
import t from "tap";
import { buildAdmissionResponse } from "../../src/admission/response.ts";
import type { Finding } from "../../src/rules/finding.ts";

const warn = (message: string, path = "spec"): Finding => ({ ruleId: "NP024", action: "warn", path, message });
const deny = (message: string, path = "spec"): Finding => ({ ruleId: "NP021", action: "deny", path, message });
const warningsOf = (...findings: Finding[]) => buildAdmissionResponse("u", { findings }).response.warnings;
const denialOf = (...findings: Finding[]) => buildAdmissionResponse("u", { findings }).response.status?.message;

// "NP024 spec: " is 12 characters.
t.test("a warning of exactly 120 characters is kept whole; one of 121 is cut to 117 and '...'", async (t) => {
  t.same(warningsOf(warn("a".repeat(108))), [`NP024 spec: ${"a".repeat(108)}`]);
  t.same(warningsOf(warn("a".repeat(109))), [`NP024 spec: ${"a".repeat(105)}...`]);
});

t.test(
  "newlines, carriage returns and tabs become one space; a finding without a path (about the whole change) reads `ID message`",
  async (t) => {
    t.same(warningsOf(warn("one\r\n\ttwo\nthree", "")), ["NP024 one two three"]);
    t.equal(denialOf(deny("a\nb")), "netfence found 1 problem: NP021 spec: a b");
  },
);

t.test("a denial quotes each finding up to 500 characters", async (t) => {
  t.equal(denialOf(deny("d".repeat(488))), `netfence found 1 problem: NP021 spec: ${"d".repeat(488)}`);
  t.equal(denialOf(deny("d".repeat(489))), `netfence found 1 problem: NP021 spec: ${"d".repeat(485)}...`);
});

t.test("30 warnings are all shown; from 31 on, the 30th line says how many more there are", async (t) => {
  const many = (n: number) => Array.from({ length: n }, (_, i) => warn("w", `spec.ingress[${i}]`));
  const thirty = warningsOf(...many(30))!;
  t.equal(thirty.length, 30);
  t.equal(thirty[29], "NP024 spec.ingress[29]: w");
  const thirtyOne = warningsOf(...many(31))!;
  t.equal(thirtyOne.length, 30);
  t.equal(thirtyOne[28], "NP024 spec.ingress[28]: w");
  t.equal(thirtyOne[29], "NP024 and 1 more warnings not shown (2 in all); run `netfence lint` to see them");
  const mixed = [...many(29), { ...warn("w"), ruleId: "NP041" as const }, ...many(5)];
  t.equal(
    warningsOf(...mixed)![29],
    "NP041 and 5 more warnings not shown (6 in all); run `netfence lint` to see them",
    "named after the first finding not shown",
  );
});

t.test("a denial names 50 findings; from 51 on it says how many more", async (t) => {
  const many = (n: number) => Array.from({ length: n }, (_, i) => deny("x", `p${i}`));
  const fifty = denialOf(...many(50))!;
  t.match(fifty, /^netfence found 50 problems: NP021 p0: x; /);
  t.match(fifty, /; NP021 p49: x$/);
  const fiftyOne = denialOf(...many(51))!;
  t.match(fiftyOne, /; NP021 p49: x; and 1 more \(run `netfence lint` to see them all\)$/);
  t.notMatch(fiftyOne, /p50/);
});

t.test("warnings beside a patch; a warning alone does not deny", async (t) => {
  const patch = [{ op: "add" as const, path: "/x", value: 1 }];
  t.same(buildAdmissionResponse("u", { findings: [warn("w")], patch }).response, {
    uid: "u",
    allowed: true,
    warnings: ["NP024 spec: w"],
    patchType: "JSONPatch",
    patch: Buffer.from('[{"op":"add","path":"/x","value":1}]').toString("base64"),
  });
});
