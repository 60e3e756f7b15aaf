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
  return {
    matcher: (l) => labels.every(([key, value]) => l[key] === value) && expressions.every((matches) => matches(l)),
    empty: false,
  };
}
