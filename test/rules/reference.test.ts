import { readFileSync } from "node:fs";
import t from "tap";
import { renderRuleReference } from "../../src/rules/reference.ts";
import { RULES } from "../../src/rules/registry.ts";
import { findingsOf, fromYaml } from "../helpers/evaluate.ts";

t.test("docs/rules.md is the rendered registry (run `npm run docs` after changing a rule)", async (t) => {
  t.equal(readFileSync(new URL("../../docs/rules.md", import.meta.url), "utf8"), renderRuleReference());
});

t.test("every rule's documented example triggers that rule", async (t) => {
  // The impact rules (site `impact`) need a cluster and a change: test/impact/check.test.ts runs theirs.
  for (const { id, example } of RULES.rules.filter((rule) => rule.at !== "impact")) {
    const rules = findingsOf(fromYaml(example.yaml), { context: { namespaceIsolated: example.isolated ?? false } }).map(
      (f) => f.ruleId,
    );
    t.ok(rules.includes(id), `${id}: got ${rules.join(", ") || "nothing"}`);
  }
});
