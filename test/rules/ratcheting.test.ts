// UPDATE ratcheting in detail: a denial becomes a warning only when the stored object was denied by
// the same rule at the same field for the same value; everything else about the UPDATE still counts.
import t from "tap";
import { findingsOf } from "../helpers/evaluate.ts";
import { ingressFromCidr } from "../helpers/review.ts";

const EXCEPT = "spec.ingress[0].from[0].ipBlock.except[0]";
const summary = (object: unknown, oldObject: unknown, actions = {}) =>
  findingsOf(object, { oldObject, actions }).map((f) => [f.ruleId, f.action, f.path, f.message]);

t.test("the grandfathered warning says so, then quotes the finding", async (t) => {
  const stored = ingressFromCidr("10.0.0.1/8");
  t.same(summary(stored, stored), [
    [
      "NP021",
      "warn",
      "spec.ingress[0].from[0].ipBlock.cidr",
      "already stored, allowed on update (fix it when you can): `10.0.0.1/8` has host bits set; the network is `10.0.0.0/8` (use `/32` for one host)",
    ],
  ]);
});

t.test(
  "the same except entry under a changed cidr: denied only if the stored object was denied there too",
  async (t) => {
    const wasOutside = ingressFromCidr("10.0.0.0/8", ["192.168.0.0/16"]);
    const stillOutside = ingressFromCidr("172.16.0.0/12", ["192.168.0.0/16"]);
    const wasInside = ingressFromCidr("192.0.0.0/8", ["192.168.0.0/16"]);
    t.same(
      summary(stillOutside, wasOutside).map((f) => f.slice(0, 3)),
      [["NP022", "warn", EXCEPT]],
      "stored with the same denial: a warning",
    );
    t.same(
      summary(stillOutside, wasInside).map((f) => f.slice(0, 3)),
      [["NP022", "deny", EXCEPT]],
      "stored valid: the new denial stands",
    );
  },
);

t.test("a stored object without the finding, or none at all, grandfathers nothing", async (t) => {
  const bad = ingressFromCidr("10.0.0.1/8");
  for (const [name, oldObject] of [
    ["no stored object", undefined],
    ["a stored null", null],
    ["a stored valid policy", ingressFromCidr("10.0.0.0/8")],
    ["a stored object of another shape", { spec: "x" }],
  ] as const) {
    t.same(
      summary(bad, oldObject).map((f) => f.slice(0, 2)),
      [["NP021", "deny"]],
      name,
    );
  }
  t.same(
    findingsOf(null, { oldObject: null }).map((f) => [f.ruleId, f.action]),
    [["NP001", "deny"]],
    "a null object with a null stored one",
  );
});

t.test("ratcheting applies after the configured actions", async (t) => {
  const stored = ingressFromCidr("10.0.0.1/8");
  t.same(
    summary(stored, stored, { NP021: "warn" }).map((f) => f.slice(0, 2)),
    [["NP021", "warn"]],
  );
  t.equal(
    summary(stored, stored, { NP021: "warn" })[0]?.[3],
    "`10.0.0.1/8` has host bits set; the network is `10.0.0.0/8` (use `/32` for one host)",
    "a configured warning is not called grandfathered",
  );
  t.same(summary(stored, stored, { NP021: "off" }), []);
});

t.test("only the denials the stored object had become warnings; other denials of the same UPDATE stand", async (t) => {
  const stored = ingressFromCidr("10.0.0.1/8");
  const edited = ingressFromCidr("10.0.0.1/8", ["10.1.0.1/16"]);
  t.same(
    summary(edited, stored).map((f) => f.slice(0, 3)),
    [
      ["NP021", "warn", "spec.ingress[0].from[0].ipBlock.cidr"],
      ["NP022", "deny", EXCEPT],
    ],
  );
});
