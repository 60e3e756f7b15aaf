// NP011: label selectors, as metav1validation.ValidateLabelSelector checks them.
import type { FieldPath } from "../field-path.ts";
import type { LabelSelector } from "../kube-objects.ts";
import { finding, type Finding } from "./finding.ts";
import { labelValueProblems, qualifiedNameProblems } from "./label-syntax.ts";

const OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"];

export function labelSelectorFindings(selector: LabelSelector, path: FieldPath): Finding[] {
  const findings: Finding[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    const keyPath = path.child("matchLabels").key(key);
    for (const problem of qualifiedNameProblems(key)) findings.push(finding("NP011", keyPath, `key \`${key}\`: ${problem}`));
    for (const problem of labelValueProblems(value)) findings.push(finding("NP011", keyPath, `value \`${value}\`: ${problem}`));
  }
  (selector.matchExpressions ?? []).forEach((requirement, index) => {
    const requirementPath = path.child("matchExpressions").index(index);
    for (const problem of qualifiedNameProblems(requirement.key)) {
      findings.push(finding("NP011", requirementPath.child("key"), `\`${requirement.key}\`: ${problem}`));
    }
    const values = requirement.values ?? [];
    switch (requirement.operator) {
      case "In":
      case "NotIn":
        if (values.length === 0) {
          findings.push(finding("NP011", requirementPath.child("values"), `is required when \`operator\` is ${requirement.operator}`));
        }
        values.forEach((value, valueIndex) => {
          for (const problem of labelValueProblems(value)) {
            findings.push(finding("NP011", requirementPath.child("values").index(valueIndex), `\`${value}\`: ${problem}`));
          }
        });
        break;
      case "Exists":
      case "DoesNotExist":
        if (values.length > 0) {
          findings.push(finding("NP011", requirementPath.child("values"), `may not be specified when \`operator\` is ${requirement.operator}`));
        }
        break;
      default:
        findings.push(
          finding(
            "NP011",
            requirementPath.child("operator"),
            `\`${requirement.operator}\` is not a valid operator; use one of ${OPERATORS.join(", ")} (case-sensitive)`,
          ),
        );
    }
  });
  return findings;
}

export function isEmptySelector(selector: LabelSelector): boolean {
  return Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
}
