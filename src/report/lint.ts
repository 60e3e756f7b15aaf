// The linter's core: the webhook's rule engine over documents, with namespace context taken from the
// same input. Pure: documents in, results out.
import { FieldPath } from "../field-path.ts";
import { namespacesIsolatedBy, ruleContexts, type NamespaceConfig } from "../isolation.ts";
import { kindEntry } from "../kinds.ts";
import type { Finding } from "../rules/finding.ts";
import { evaluate, findingOf, type RuleActions } from "../rules/index.ts";
import { NP001 } from "../rules/networkpolicy.ts";
import type { SourceDocument } from "./source-document.ts";

export interface LintOptions {
  /** The webhook's config: isolated namespaces, pod CIDRs, allowed namespaces, Service scope. */
  config: NamespaceConfig;
  actions: RuleActions;
  /** Namespace of objects that do not say, as kubectl's `-n`. */
  defaultNamespace: string;
}

export interface LintResult {
  document: SourceDocument;
  /** The line the object starts on, when it came from text. */
  line: number | undefined;
  kind: string;
  namespace: string | undefined;
  name: string | undefined;
  findings: (Finding & { line?: number })[];
}

interface ObjectHead {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: unknown };
}

const head = (object: unknown): ObjectHead =>
  object !== null && typeof object === "object" ? (object as ObjectHead) : {};
const text = (value: unknown) => (typeof value === "string" ? value : undefined);

export function lintDocuments(documents: readonly SourceDocument[], options: LintOptions): LintResult[] {
  // The manifests are the cluster: a Namespace among them that switches isolation on counts.
  const contextFor = ruleContexts(options.config, namespacesIsolatedBy(documents.map((d) => d.object)));
  const results: LintResult[] = [];
  for (const document of documents) {
    const { apiVersion, kind, metadata } = head(document.object);
    const version = text(apiVersion) ?? "";
    const group = version.includes("/") ? version.slice(0, version.indexOf("/")) : "";
    const subject = kindEntry(group, text(kind) ?? "")?.kind;
    if (subject === undefined) {
      const misplaced = misplacedKind(version, text(kind));
      if (misplaced !== undefined) {
        results.push({
          document,
          line: document.lineOf?.(""),
          kind: text(kind)!,
          namespace: text(metadata?.namespace),
          name: text(metadata?.name),
          findings: withLines(document, [misplaced]),
        });
      }
      continue;
    }
    const namespace = subject === "Namespace" ? undefined : (text(metadata?.namespace) ?? options.defaultNamespace);
    const name = text(metadata?.name);
    const findings = withLines(
      document,
      evaluate({ kind: subject, namespace, name, object: document.object }, contextFor(namespace), options.actions),
    );
    results.push({ document, line: document.lineOf?.(""), kind: subject, namespace, name, findings });
  }
  return results;
}

function withLines(document: SourceDocument, findings: Finding[]): LintResult["findings"] {
  return findings.map((f) => {
    const line = document.lineOf?.(f.path);
    return line === undefined ? f : { ...f, line };
  });
}

export function exitCodeFor(results: readonly LintResult[], strict: boolean): 0 | 1 {
  const findings = results.flatMap((r) => r.findings);
  return findings.some((f) => f.action === "deny" || (strict && f.action === "warn")) ? 1 : 0;
}

// `apiVersion: networking/v1` (printed in old Kubernetes docs) is no NetworkPolicy to the apiserver;
// offline nothing else would say so.
function misplacedKind(apiVersion: string, kind: string | undefined): Finding | undefined {
  if (kind !== "NetworkPolicy") return undefined;
  return findingOf(NP001, {
    path: FieldPath.root("apiVersion"),
    message: `\`${apiVersion}\` is not the NetworkPolicy API; write \`networking.k8s.io/v1\``,
  });
}
