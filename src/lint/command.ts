// `netfence lint`: the webhook's rules over manifests, before anything reaches a cluster.
import { readFileSync } from "node:fs";
import { report, type ReportOptions } from "../report/report.ts";
import { readManifests } from "../manifests.ts";

/** Every readable manifest is checked; input that is not (a path, a file, a document) exits 2 after the report. */
export function lintCommand(paths: string[], options: ReportOptions): number {
  const { documents, problems } = readManifests(paths, () => readFileSync(0, "utf8"));
  for (const problem of problems) process.stderr.write(`netfence: ${problem}\n`);
  const code = report(documents, options);
  return problems.length > 0 ? 2 : code;
}
