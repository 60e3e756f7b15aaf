// The report `netfence lint` and `netfence audit` print: the webhook's verdicts, before and after a
// cluster, in text, JSON or SARIF, and the exit code that goes with them.
import type { Config } from "../config.ts";
import { VERSION } from "../version.ts";
import { exitCodeFor, lintDocuments } from "./lint.ts";
import { render, type OutputFormat } from "./render.ts";
import type { SourceDocument } from "./source-document.ts";

export interface ReportOptions {
  config: Config;
  isolatedNamespaces: string[];
  defaultNamespace: string;
  output: OutputFormat;
  strict: boolean;
}

export function report(documents: SourceDocument[], options: ReportOptions): number {
  const results = lintDocuments(documents, {
    config: {
      ...options.config,
      isolatedNamespaces: [...options.config.isolatedNamespaces, ...options.isolatedNamespaces],
    },
    actions: options.config.rules,
    defaultNamespace: options.defaultNamespace,
  });
  process.stdout.write(
    render(results, options.output, {
      colour: options.output === "text" && process.stdout.isTTY === true,
      version: VERSION,
    }),
  );
  return exitCodeFor(results, options.strict);
}
