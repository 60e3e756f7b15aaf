import { readFileSync } from "node:fs";
import t from "tap";
import { RULE_IDS } from "../../src/rules/catalogue.ts";
import { EXAMPLES } from "../../src/rules/examples.ts";
import { renderRuleReference } from "../../src/rules/reference.ts";
import { findingsOf, fromYaml } from "../helpers/evaluate.ts";

t.test("docs/rules.md is the rendered catalogue (run `npm run docs` after changing a rule)", async (t) => {
  t.equal(readFileSync(new URL("../../docs/rules.md", import.meta.url), "utf8"), renderRuleReference());
});

t.test("every rule's documented example triggers that rule", async (t) => {
  for (const id of RULE_IDS) {
    const example = EXAMPLES[id];
    const rules = findingsOf(fromYaml(example.yaml), { context: { namespaceIsolated: example.isolated ?? false } }).map((f) => f.ruleId);
    t.ok(rules.includes(id), `${id}: got ${rules.join(", ") || "nothing"}`);
  }
});
