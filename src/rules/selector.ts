// NP011: label selectors, as metav1validation.ValidateLabelSelector checks them.
import type { FieldPath } from "../field-path.ts";
import type { LabelSelector } from "../kube-objects.ts";
import { labelValueProblems, qualifiedNameProblems } from "./label-syntax.ts";
import { examplePolicy, rule, type Problem } from "./rule.ts";

const OPERATORS = ["In", "NotIn", "Exists", "DoesNotExist"];

export const NP011 = rule({
  id: "NP011",
  kind: "NetworkPolicy",
  at: "labelSelector",
  defaultAction: "deny",
  title: "invalid label selector",
  why: "an unknown operator, In/NotIn without values, Exists/DoesNotExist with values, or bad key/value syntax is rejected by Kubernetes.",
  fix: "use In, NotIn, Exists or DoesNotExist with valid label keys and values.",
  example: { yaml: examplePolicy("podSelector:\n  matchExpressions:\n  - {key: app, operator: in, values: [api]}") },
  check: labelSelectorProblems,
});

/** Also the connectivity engine's check: an invalid selector is reported, never guessed at. */
export function labelSelectorProblems(selector: LabelSelector, path: FieldPath): Problem[] {
  const problems: Problem[] = [];
  const report = (at: FieldPath, message: string) => ({ path: at, message });
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    const keyPath = path.child("matchLabels").key(key);
    for (const problem of qualifiedNameProblems(key)) problems.push(report(keyPath, `key \`${key}\`: ${problem}`));
    for (const problem of labelValueProblems(value)) problems.push(report(keyPath, `value \`${value}\`: ${problem}`));
  }
  (selector.matchExpressions ?? []).forEach((requirement, index) => {
    const requirementPath = path.child("matchExpressions").index(index);
    for (const problem of qualifiedNameProblems(requirement.key)) {
      problems.push(report(requirementPath.child("key"), `\`${requirement.key}\`: ${problem}`));
    }
    const values = requirement.values ?? [];
    switch (requirement.operator) {
      case "In":
      case "NotIn":
        if (values.length === 0) {
          problems.push(
            report(requirementPath.child("values"), `is required when \`operator\` is ${requirement.operator}`),
          );
        }
        values.forEach((value, valueIndex) => {
          for (const problem of labelValueProblems(value)) {
            problems.push(report(requirementPath.child("values").index(valueIndex), `\`${value}\`: ${problem}`));
          }
        });
        break;
      case "Exists":
      case "DoesNotExist":
        if (values.length > 0) {
          problems.push(
            report(
              requirementPath.child("values"),
              `may not be specified when \`operator\` is ${requirement.operator}`,
            ),
          );
        }
        break;
      default:
        problems.push(
          report(
            requirementPath.child("operator"),
            `\`${requirement.operator}\` is not a valid operator; use one of ${OPERATORS.join(", ")} (case-sensitive)`,
          ),
        );
    }
  });
  return problems;
}

export function isEmptySelector(selector: LabelSelector): boolean {
  return Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0;
}
