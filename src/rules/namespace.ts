// NS001: a legacy isolation annotation netfence cannot read is reported, never a reason to crash.
import { FieldPath } from "../field-path.ts";
import { isolationOf } from "../isolation.ts";
import { parseNamespace } from "../kube-objects.ts";
import { LEGACY_ANNOTATION } from "../names.ts";
import { rule, type Visit } from "./rule.ts";

export function walkNamespace(object: unknown, visit: Visit): void {
  const parsed = parseNamespace(object);
  if (parsed.success) visit("namespace", parsed.data, FieldPath.root());
}

export const NS001 = rule({
  id: "NS001",
  kind: "Namespace",
  at: "namespace",
  defaultAction: "warn",
  title: "the legacy annotation net.beta.kubernetes.io/network-policy is not valid JSON of the expected shape",
  why: "netfence cannot tell whether the namespace is meant to be isolated; it treats it as not isolated.",
  fix: "use the label `netfence.io/isolation: enabled` instead.",
  example: {
    yaml: "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: legacy\n  annotations:\n    net.beta.kubernetes.io/network-policy: 'DefaultDeny'\n",
  },
  check: (namespace, path) => {
    const isolation = isolationOf(namespace.metadata ?? {});
    if (isolation.source !== "malformed-legacy-annotation") return [];
    return [
      {
        path: path.child("metadata", "annotations").key(LEGACY_ANNOTATION),
        message: `${isolation.problem}; netfence treats this namespace as not isolated (use the label \`netfence.io/isolation: enabled\`)`,
      },
    ];
  },
});
