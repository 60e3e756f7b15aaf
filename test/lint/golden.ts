// The golden outputs of `netfence lint`: one input with a denial and a warning, in every format.
// report.test.ts compares with the committed files and never writes them; after an intended change,
// `npm run test:update-golden` rewrites them, and the diff is reviewed like code.
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

export const goldenResults = lintDocuments(parseManifests("k8s/web.yaml", input), { context: DEFAULT_RULE_CONTEXT, actions: {}, isolatedNamespaces: [], defaultNamespace: "default" });

export const GOLDEN_FILES = [
  { format: "text", file: "report.txt", colour: false },
  { format: "text", file: "report.tty.txt", colour: true },
  { format: "json", file: "report.json", colour: false },
  { format: "sarif", file: "report.sarif", colour: false },
] as const;

export const goldenPath = (file: string) => new URL(`../fixtures/lint/golden/${file}`, import.meta.url);

export const goldenOutput = ({ format, colour }: (typeof GOLDEN_FILES)[number]) => render(goldenResults, format, { colour, version: "0.0.0-test" });
