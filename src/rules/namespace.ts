// NS001: a legacy isolation annotation netfence cannot read is reported, never a reason to crash.
import { FieldPath } from "../field-path.ts";
import { isolationOf, LEGACY_ANNOTATION } from "../isolation.ts";
import { NamespaceSchema } from "../kube-objects.ts";
import { finding, type Finding } from "./finding.ts";

export function namespaceFindings(object: unknown): Finding[] {
  const parsed = NamespaceSchema.safeParse(object);
  if (!parsed.success) return [];
  const isolation = isolationOf(parsed.data.metadata ?? {});
  if (isolation.source !== "malformed-legacy-annotation") return [];
  return [
    finding(
      "NS001",
      FieldPath.root("metadata", "annotations").key(LEGACY_ANNOTATION),
      `${isolation.problem}; netfence treats this namespace as not isolated (use the label \`netfence.io/isolation: enabled\`)`,
    ),
  ];
}
