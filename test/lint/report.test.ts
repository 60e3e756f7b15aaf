// Golden outputs: the three formats for one input with a denial and a warning. To update after an
// intended change: NETFENCE_UPDATE_GOLDEN=1 npx tap test/lint/report.test.ts, then review the diff.
import { readFileSync, writeFileSync } from "node:fs";
import t from "tap";
import { parseManifests } from "../../src/lint/documents.ts";
import { lintDocuments } from "../../src/lint/lint.ts";
import { render } from "../../src/lint/report.ts";
import { DEFAULT_RULE_CONTEXT } from "../../src/rules/context.ts";

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
const results = lintDocuments(parseManifests("k8s/web.yaml", input), { context: DEFAULT_RULE_CONTEXT, actions: {}, isolatedNamespaces: [], defaultNamespace: "default" });

for (const [format, file, colour] of [["text", "report.txt", false], ["text", "report.tty.txt", true], ["json", "report.json", false], ["sarif", "report.sarif", false]] as const) {
  t.test(`${format}${colour ? " on a TTY" : ""} output matches ${file}`, async (t) => {
    const path = new URL(`../fixtures/lint/golden/${file}`, import.meta.url);
    const output = render(results, format, { colour, version: "0.0.0-test" });
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
