import type { z } from "zod";
import { FieldPath } from "../field-path.ts";
import type { RuleId } from "./catalogue.ts";
import { finding, type Finding } from "./finding.ts";

/** Turns zod's shape errors into findings, one per problem, each at its field path. */
export function schemaFindings(ruleId: RuleId, error: z.ZodError): Finding[] {
  return error.issues.map((issue) => {
    const path = FieldPath.of(issue.path.filter((p): p is string | number => typeof p !== "symbol"));
    const message = issue.message.replace(/^Invalid input: /, "");
    return finding(ruleId, path, /received undefined$/.test(message) ? `is required (${message.replace(/, received undefined$/, "")})` : message);
  });
}
