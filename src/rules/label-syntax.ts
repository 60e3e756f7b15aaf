// Label key and value syntax exactly as k8s.io/apimachinery/pkg/util/validation does it
// (IsQualifiedName, IsValidLabelValue, IsDNS1123Subdomain). Returns the problems, empty when valid.

const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_MAX = 63;
const DNS1123_SUBDOMAIN_MAX = 253;
const LABEL_VALUE_MAX = 63;

const NAME_CHARS =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";

export function qualifiedNameProblems(value: string): string[] {
  const parts = value.split("/");
  let name: string;
  const problems: string[] = [];
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const [prefix, rest] = parts as [string, string];
    name = rest;
    if (prefix.length === 0) problems.push("prefix part must be non-empty");
    else if (prefix.length > DNS1123_SUBDOMAIN_MAX)
      problems.push(`prefix part must be no more than ${DNS1123_SUBDOMAIN_MAX} characters`);
    else if (!DNS1123_SUBDOMAIN.test(prefix)) {
      problems.push(
        "prefix part must be a lowercase DNS subdomain (letters, digits, '-' and '.', starting and ending with a letter or digit)",
      );
    }
  } else {
    return [
      `a qualified name ${NAME_CHARS}, with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) problems.push("name part must be non-empty");
  else if (name.length > QUALIFIED_NAME_MAX)
    problems.push(`name part must be no more than ${QUALIFIED_NAME_MAX} characters`);
  else if (!QUALIFIED_NAME.test(name)) problems.push(`name part ${NAME_CHARS}`);
  return problems;
}

export function labelValueProblems(value: string): string[] {
  if (value.length > LABEL_VALUE_MAX) return [`must be no more than ${LABEL_VALUE_MAX} characters`];
  if (value.length > 0 && !QUALIFIED_NAME.test(value))
    return [`a label value must be empty or ${NAME_CHARS.replace("must consist", "consist")}`];
  return [];
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Namespace names are DNS-1123 labels (at most 63 characters). */
export function isNamespaceName(value: string): boolean {
  return value.length <= 63 && DNS1123_LABEL.test(value);
}

/** Names of most objects, a NetworkPolicy's among them, are DNS-1123 subdomains (at most 253 characters). */
export function isDNS1123Subdomain(value: string): boolean {
  return value.length <= DNS1123_SUBDOMAIN_MAX && DNS1123_SUBDOMAIN.test(value);
}
