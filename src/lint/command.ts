// `netfence lint` and `netfence audit`: the webhook's verdicts, before and after a cluster.
import { readFileSync } from "node:fs";
import type { Config } from "../config.ts";
import { VERSION } from "../version.ts";
import { readManifests, type SourceDocument } from "./documents.ts";
import { exitCodeFor, lintDocuments } from "./lint.ts";
import { render, type OutputFormat } from "./report.ts";

export interface ReportOptions {
  config: Config;
  isolatedNamespaces: string[];
  defaultNamespace: string;
  output: OutputFormat;
  strict: boolean;
}

export function report(documents: SourceDocument[], options: ReportOptions): number {
  const results = lintDocuments(documents, {
    config: { ...options.config, isolatedNamespaces: [...options.config.isolatedNamespaces, ...options.isolatedNamespaces] },
    actions: options.config.rules,
    defaultNamespace: options.defaultNamespace,
  });
  process.stdout.write(render(results, options.output, { colour: options.output === "text" && process.stdout.isTTY === true, version: VERSION }));
  return exitCodeFor(results, options.strict);
}

/** Every readable manifest is checked; input that is not (a path, a file, a document) exits 2 after the report. */
export function lintCommand(paths: string[], options: ReportOptions): number {
  const { documents, problems } = readManifests(paths, () => readFileSync(0, "utf8"));
  for (const problem of problems) process.stderr.write(`netfence: ${problem}\n`);
  const code = report(documents, options);
  return problems.length > 0 ? 2 : code;
}
