/**
 * A value as it travels as JSON: no `undefined` members. zod's null handling leaves such members
 * behind, and both deep comparison and JSON Patch diffs must see what the apiserver sees.
 */
export const asJson = (value: unknown): unknown =>
  value === undefined ? undefined : JSON.parse(JSON.stringify(value));
