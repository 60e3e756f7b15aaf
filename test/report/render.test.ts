// Golden outputs: the three formats for one input with a denial and a warning (test/report/golden.ts).
// A test run only compares; after an intended change: `npm run test:update-golden`, then review the diff.
import { readFileSync } from "node:fs";
import t from "tap";
import { render } from "../../src/report/render.ts";
import { GOLDEN_FILES, goldenOutput, goldenPath, goldenResults as results } from "./golden.ts";

for (const golden of GOLDEN_FILES) {
  t.test(`${golden.format}${golden.colour ? " on a TTY" : ""} output matches ${golden.file}`, async (t) => {
    t.equal(goldenOutput(golden), readFileSync(goldenPath(golden.file), "utf8"));
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
    [
      ["NP021", "error", 8],
      ["NP024", "warning", 9],
    ],
  );
});
