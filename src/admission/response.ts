// The one place an outcome becomes an AdmissionReview response.
//
// | outcome                    | decision | HTTP | allowed | status                    | warnings          | patch            |
// |----------------------------|----------|------|---------|---------------------------|-------------------|------------------|
// | no findings, no patch      | allowed  | 200  | true    | -                         | -                 | -                |
// | only warn findings         | warned   | 200  | true    | -                         | one per finding   | -                |
// | a deny finding             | denied   | 200  | false   | 403, every deny in message| the warn findings | never            |
// | mutation (mutate endpoint) | patched  | 200  | true    | -                         | -                 | base64 JSONPatch |
// | body not an AdmissionReview| -        | 400  | (no review: `{error, code}`, see server/errors.ts)                            |
// | body over the size limit   | -        | 413  | (no review: `{error, code}`)                                                  |
// | wrong content type         | -        | 415  | (no review: `{error, code}`)                                                  |
// | a bug in netfence          | -        | 500  | (no review: `{error, code}`, logged, never a stack)                           |
//
// Warnings start with the rule ID, hold no newline and stay within 120 characters: the apiserver cuts
// a warning at 256, drops one holding a newline, and drops everything past 4,096 in total.
import type { Operation } from "fast-json-patch";
import type { Finding } from "../rules/finding.ts";

export interface Verdict {
  findings: readonly Finding[];
  patch?: readonly Operation[];
}

export type Decision = "allowed" | "warned" | "denied" | "patched";

/** The decision column of the table above; a validating answer never carries a patch. */
export function decisionOf(verdict: Verdict): Decision {
  if (verdict.findings.some((f) => f.action === "deny")) return "denied";
  if (verdict.patch !== undefined && verdict.patch.length > 0) return "patched";
  return verdict.findings.length > 0 ? "warned" : "allowed";
}

export interface AdmissionResponseReview {
  apiVersion: "admission.k8s.io/v1";
  kind: "AdmissionReview";
  response: {
    uid: string;
    allowed: boolean;
    status?: { code: number; reason: string; message: string };
    warnings?: string[];
    patchType?: "JSONPatch";
    patch?: string;
  };
}

export const WARNING_MAX_CHARS = 120;
const WARNINGS_MAX_COUNT = 30;
/** A denial names every finding up to this many; an object with 10^5 bad peers must not make a 10 MB message. */
const DENIALS_MAX_COUNT = 50;
/** Findings quote the user's values; a 1 MB string must not come back whole. */
const FINDING_MAX_CHARS = 500;

function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, " ");
}

export function describeFinding(f: Finding): string {
  // A finding about the whole change (the impact rules) has no field path: `NP050 cuts off ...`.
  const text = oneLine(f.path === "" ? `${f.ruleId} ${f.message}` : `${f.ruleId} ${f.path}: ${f.message}`);
  return text.length <= FINDING_MAX_CHARS ? text : `${text.slice(0, FINDING_MAX_CHARS - 3)}...`;
}

function warningText(f: Finding): string {
  const text = describeFinding(f);
  return text.length <= WARNING_MAX_CHARS ? text : `${text.slice(0, WARNING_MAX_CHARS - 3)}...`;
}

function warningsFor(findings: readonly Finding[]): string[] {
  if (findings.length <= WARNINGS_MAX_COUNT) return findings.map(warningText);
  // Only what is shown is formatted: 100,000 warnings cost a count, not 100,000 strings.
  const shown = findings.slice(0, WARNINGS_MAX_COUNT - 1).map(warningText);
  const omitted = findings[WARNINGS_MAX_COUNT - 1]!;
  shown.push(
    `${omitted.ruleId} and ${findings.length - shown.length - 1} more warnings not shown (${findings.length - shown.length} in all); run \`netfence lint\` to see them`,
  );
  return shown;
}

function denialMessage(denials: readonly Finding[]): string {
  const count = denials.length === 1 ? "1 problem" : `${denials.length} problems`;
  const shown = denials.slice(0, DENIALS_MAX_COUNT).map(describeFinding);
  if (denials.length > DENIALS_MAX_COUNT)
    shown.push(`and ${denials.length - DENIALS_MAX_COUNT} more (run \`netfence lint\` to see them all)`);
  return `netfence found ${count}: ${shown.join("; ")}`;
}

export function buildAdmissionResponse(uid: string, verdict: Verdict): AdmissionResponseReview {
  const denials = verdict.findings.filter((f) => f.action === "deny");
  const warnings = warningsFor(verdict.findings.filter((f) => f.action === "warn"));
  const response: AdmissionResponseReview["response"] = { uid, allowed: denials.length === 0 };
  if (denials.length > 0) response.status = { code: 403, reason: "Forbidden", message: denialMessage(denials) };
  if (warnings.length > 0) response.warnings = warnings;
  if (denials.length === 0 && verdict.patch !== undefined && verdict.patch.length > 0) {
    response.patchType = "JSONPatch";
    response.patch = Buffer.from(JSON.stringify(verdict.patch)).toString("base64");
  }
  return { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response };
}
