// Label selectors as matchers, with the validity check the API server applies (the lint rule's own
// function): an invalid selector is not guessed at, it is reported and its peer or policy skipped.
import { FieldPath } from "../field-path.ts";
import type { LabelSelector } from "../kube-objects.ts";
import { labelSelectorProblems } from "../rules/selector.ts";

export type Labels = Readonly<Record<string, string>>;
export type LabelMatcher = (labels: Labels) => boolean;

export const MATCH_ALL: LabelMatcher = () => true;

export function compileSelector(
  selector: LabelSelector,
  path: FieldPath,
): { matcher: LabelMatcher; empty: boolean } | { problem: { path: string; message: string } } {
  const [invalid] = labelSelectorProblems(selector, path);
  if (invalid !== undefined) return { problem: { path: invalid.path.toString(), message: invalid.message } };
  const labels = Object.entries(selector.matchLabels ?? {});
  const expressions = (selector.matchExpressions ?? []).map(({ key, operator, values = [] }) => {
    const set = new Set(values);
    switch (operator) {
      case "In":
        return (l: Labels) => Object.hasOwn(l, key) && set.has(l[key]!);
      case "NotIn":
        return (l: Labels) => !Object.hasOwn(l, key) || !set.has(l[key]!);
      case "Exists":
        return (l: Labels) => Object.hasOwn(l, key);
      default:
        return (l: Labels) => !Object.hasOwn(l, key);
    }
  });
  if (labels.length === 0 && expressions.length === 0) return { matcher: MATCH_ALL, empty: true };
  // Loops, not every(): the impact check asks thousands of times per request, and a callback per call adds up.
  const matcher: LabelMatcher = (l) => {
    for (const [key, value] of labels) if (l[key] !== value) return false;
    for (const matches of expressions) if (!matches(l)) return false;
    return true;
  };
  return { matcher, empty: false };
}
