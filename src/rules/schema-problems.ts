import type { z } from "zod";
import { FieldPath } from "../field-path.ts";
import type { Problem } from "./rule.ts";

/** Turns zod's shape errors into problems, one per issue, each at its field path. */
export function schemaProblems(error: z.ZodError): Problem[] {
  return error.issues.map((issue) => {
    const path = FieldPath.of(issue.path.filter((p): p is string | number => typeof p !== "symbol"));
    const message = issue.message.replace(/^Invalid input: /, "");
    return {
      path,
      message: /received undefined$/.test(message)
        ? `is required (${message.replace(/, received undefined$/, "")})`
        : message,
    };
  });
}
