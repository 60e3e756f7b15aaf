// `netfence lint`: the webhook's rules over manifests, before anything reaches a cluster.
import { readFileSync } from "node:fs";
import { report, type ReportOptions } from "../report/report.ts";
import { readManifests } from "./documents.ts";

export function lintCommand(paths: string[], options: ReportOptions): number {
  return report(readManifests(paths, () => readFileSync(0, "utf8")), options);
}
