// The golden outputs of `netfence lint`: one input with a denial and a warning, in every format.
// render.test.ts compares with the committed files and never writes them; after an intended change,
// `npm run test:update-golden` rewrites them, and the diff is reviewed like code.
import { parseConfig } from "../../src/config.ts";
import { parseManifests } from "../../src/manifests.ts";
import { lintDocuments } from "../../src/report/lint.ts";
import { render } from "../../src/report/render.ts";

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

export const goldenResults = lintDocuments(parseManifests("k8s/web.yaml", input), {
  config: parseConfig({}),
  actions: {},
  defaultNamespace: "default",
});

export const GOLDEN_FILES = [
  { format: "text", file: "report.txt", colour: false },
  { format: "text", file: "report.tty.txt", colour: true },
  { format: "json", file: "report.json", colour: false },
  { format: "sarif", file: "report.sarif", colour: false },
] as const;

export const goldenPath = (file: string) => new URL(`../fixtures/lint/golden/${file}`, import.meta.url);

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

export const goldenOutput = ({ format, colour }: (typeof GOLDEN_FILES)[number]) => {
  const rendered = render(goldenResults, format, { colour, version: "0.0.0-test" });
  return format === "sarif" ? withoutCatalogue(rendered) : rendered;
};
