// Output of `netfence lint` and `netfence audit`: human text (colour only on a TTY), JSON, SARIF 2.1.0.
import { RULES, type RuleRegistry } from "../rules/registry.ts";
import type { LintResult } from "./lint.ts";

export type OutputFormat = "text" | "json" | "sarif";

function summary(results: readonly LintResult[]) {
  const findings = results.flatMap((r) => r.findings);
  return {
    objects: results.length,
    denials: findings.filter((f) => f.action === "deny").length,
    warnings: findings.filter((f) => f.action === "warn").length,
  };
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

function renderText(results: readonly LintResult[], colour: boolean): string {
  const paint = (code: string, text: string) => (colour ? `\u001b[${code}m${text}\u001b[0m` : text);
  const lines: string[] = [];
  for (const result of results) {
    if (result.findings.length === 0) continue;
    const where = result.line !== undefined ? `${result.document.source}:${result.line}` : result.document.source;
    const object = `${result.kind} ${result.namespace ? `${result.namespace}/` : ""}${result.name ?? "(unnamed)"}`;
    lines.push(paint("1", `${where} [document ${result.document.index}] ${object}`));
    for (const f of result.findings) {
      const action = f.action === "deny" ? paint("31", "deny") : paint("33", "warn");
      const line = f.line !== undefined ? `line ${f.line}: ` : "";
      lines.push(`  ${action} ${f.ruleId} ${line}${f.path || "(object)"}: ${f.message}`);
    }
  }
  const { objects, denials, warnings } = summary(results);
  lines.push(`${plural(objects, "object")} checked: ${plural(denials, "denial")}, ${plural(warnings, "warning")}`);
  return `${lines.join("\n")}\n`;
}

function renderJson(results: readonly LintResult[]): string {
  return `${JSON.stringify(
    {
      results: results.map((r) => ({
        source: r.document.source,
        index: r.document.index,
        kind: r.kind,
        namespace: r.namespace ?? null,
        name: r.name ?? null,
        findings: r.findings,
      })),
      summary: summary(results),
    },
    null,
    2,
  )}\n`;
}

export function renderSarif(results: readonly LintResult[], version: string, registry: RuleRegistry = RULES): string {
  const rules = registry.rules.map((rule) => ({
    id: rule.id,
    name: rule.id,
    shortDescription: { text: rule.title },
    fullDescription: { text: `${rule.why} Fix: ${rule.fix}` },
    helpUri: `https://github.com/netfence/netfence/blob/main/docs/rules.md#${rule.id.toLowerCase()}`,
    defaultConfiguration: { level: rule.defaultAction === "deny" ? "error" : "warning" },
  }));
  const indexOf = new Map(registry.ids.map((id, index) => [id, index]));
  const sarifResults = results.flatMap((r) =>
    r.findings.map((f) => ({
      ruleId: f.ruleId,
      ruleIndex: indexOf.get(f.ruleId) ?? -1,
      level: f.action === "deny" ? "error" : "warning",
      message: { text: `${f.path || "(object)"}: ${f.message}` },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: r.document.source === "-" ? "stdin" : r.document.source },
            region: { startLine: f.line ?? 1 },
          },
          logicalLocations: [
            {
              fullyQualifiedName: `${r.kind}/${r.namespace ? `${r.namespace}/` : ""}${r.name ?? ""}.${f.path}`,
              kind: "member",
            },
          ],
        },
      ],
    })),
  );
  return `${JSON.stringify(
    {
      $schema: "https://json.schemastore.org/sarif-2.1.0.json",
      version: "2.1.0",
      runs: [
        {
          tool: {
            driver: { name: "netfence", version, informationUri: "https://github.com/netfence/netfence", rules },
          },
          results: sarifResults,
        },
      ],
    },
    null,
    2,
  )}\n`;
}

export function render(
  results: readonly LintResult[],
  format: OutputFormat,
  options: { colour: boolean; version: string },
): string {
  switch (format) {
    case "json":
      return renderJson(results);
    case "sarif":
      return renderSarif(results, options.version);
    case "text":
      return renderText(results, options.colour);
  }
}
