// Golden outputs: the three formats for one input with a denial and a warning. To update after an
// intended change: NETFENCE_UPDATE_GOLDEN=1 npx tap test/report/render.test.ts, then review the diff.
import { readFileSync, writeFileSync } from "node:fs";
import t from "tap";
import { parseManifests } from "../../src/manifests.ts";
import { lintDocuments } from "../../src/report/lint.ts";
import { render } from "../../src/report/render.ts";
import { parseConfig } from "../../src/config.ts";

const input = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web, namespace: team-a}
spec:
  podSelector: {}
  ingress:
  - from:
    - ipBlock: {cidr: 10.0.0.1/8}
    - ipBlock: {cidr: 0.0.0.0/0}
`;
const results = lintDocuments(parseManifests("k8s/web.yaml", input), { config: parseConfig({}), actions: {}, defaultNamespace: "default" });

// The SARIF golden pins the results of this input, not the rule catalogue (`driver.rules` is the
// whole registry; the registry tests cover it), so that adding a rule does not churn it.
const withoutCatalogue = (sarif: string) => {
  const parsed = JSON.parse(sarif);
  const { rules } = parsed.runs[0].tool.driver;
  // An index moves when a rule is added before it; what it must point at does not.
  for (const result of parsed.runs[0].results) result.ruleIndex = `the rule ${rules[result.ruleIndex]?.id}`;
  parsed.runs[0].tool.driver.rules = "(the rule registry)";
  return `${JSON.stringify(parsed, null, 2)}\n`;
};

for (const [format, file, colour] of [["text", "report.txt", false], ["text", "report.tty.txt", true], ["json", "report.json", false], ["sarif", "report.sarif", false]] as const) {
  t.test(`${format}${colour ? " on a TTY" : ""} output matches ${file}`, async (t) => {
    const path = new URL(`../fixtures/lint/golden/${file}`, import.meta.url);
    const rendered = render(results, format, { colour, version: "0.0.0-test" });
    const output = format === "sarif" ? withoutCatalogue(rendered) : rendered;
    if (process.env.NETFENCE_UPDATE_GOLDEN === "1") writeFileSync(path, output);
    t.equal(output, readFileSync(path, "utf8"));
  });
}

t.test("colour only on a TTY", async (t) => {
  t.notMatch(render(results, "text", { colour: false, version: "x" }), /\u001b\[/);
  t.match(render(results, "text", { colour: true, version: "x" }), /\u001b\[31mdeny/);
});

t.test("SARIF names every rule and locates results by line", async (t) => {
  const sarif = JSON.parse(render(results, "sarif", { colour: false, version: "x" }));
  t.equal(sarif.version, "2.1.0");
  t.ok(sarif.runs[0].tool.driver.rules.some((r: { id: string }) => r.id === "KP001"));
  t.same(
    sarif.runs[0].results.map((r: any) => [r.ruleId, r.level, r.locations[0].physicalLocation.region.startLine]),
    [["NP021", "error", 8], ["NP024", "warning", 9]],
  );
});
