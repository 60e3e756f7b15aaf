// NP011 at its boundaries: label keys (prefix and name), label values and selector operators, as
// k8s.io/apimachinery validates them, each with the exact path and words.
import t from "tap";
import { findingsOf } from "../helpers/evaluate.ts";
import { networkPolicy } from "../helpers/review.ts";

const NAME_CHARS =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const labels = (matchLabels: Record<string, string>) =>
  findingsOf(networkPolicy({ podSelector: { matchLabels } })).map((f) => [f.ruleId, f.action, f.path, f.message]);
const P = "spec.podSelector.matchLabels";

t.test("label keys and values Kubernetes accepts", async (t) => {
  const valid: Record<string, string>[] = [
    { ["a".repeat(63)]: "v" },
    { [`${"p".repeat(253)}/name`]: "v" },
    { "example.com/a_b.c-d": "v" },
    { "a.b-c.d/x": "v" },
    { x: "a".repeat(63) },
    { x: "" },
    { x: "A_b.c-D9" },
    { "9": "9" },
  ];
  for (const matchLabels of valid) t.same(labels(matchLabels), [], JSON.stringify(matchLabels).slice(0, 60));
});

t.test("label keys and values Kubernetes refuses", async (t) => {
  const cases: [Record<string, string>, string, string][] = [
    [
      { ["a".repeat(64)]: "v" },
      `[${"a".repeat(64)}]`,
      `key \`${"a".repeat(64)}\`: name part must be no more than 63 characters`,
    ],
    [
      { [`${"p".repeat(254)}/name`]: "v" },
      `[${"p".repeat(254)}/name]`,
      `key \`${"p".repeat(254)}/name\`: prefix part must be no more than 253 characters`,
    ],
    [{ "/name": "v" }, "[/name]", "key `/name`: prefix part must be non-empty"],
    [{ "example.com/": "v" }, "[example.com/]", "key `example.com/`: name part must be non-empty"],
    [{ "": "v" }, "[]", "key ``: name part must be non-empty"],
    [
      { "Example.com/a": "v" },
      "[Example.com/a]",
      "key `Example.com/a`: prefix part must be a lowercase DNS subdomain (letters, digits, '-' and '.', starting and ending with a letter or digit)",
    ],
    [
      { "-example.com/a": "v" },
      "[-example.com/a]",
      "key `-example.com/a`: prefix part must be a lowercase DNS subdomain (letters, digits, '-' and '.', starting and ending with a letter or digit)",
    ],
    [
      { "a/b/c": "v" },
      "[a/b/c]",
      `key \`a/b/c\`: a qualified name ${NAME_CHARS}, with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ],
    [{ "-app": "v" }, "[-app]", `key \`-app\`: name part ${NAME_CHARS}`],
    [{ "app-": "v" }, "[app-]", `key \`app-\`: name part ${NAME_CHARS}`],
    [{ "a b": "v" }, "[a b]", `key \`a b\`: name part ${NAME_CHARS}`],
    [{ x: "a".repeat(64) }, "[x]", `value \`${"a".repeat(64)}\`: must be no more than 63 characters`],
    [
      { x: "-v" },
      "[x]",
      "value `-v`: a label value must be empty or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
    ],
    [
      { x: "v." },
      "[x]",
      "value `v.`: a label value must be empty or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
    ],
  ];
  for (const [matchLabels, key, message] of cases)
    t.same(labels(matchLabels), [["NP011", "deny", `${P}${key}`, message]], message.slice(0, 70));
  t.same(
    labels({ "/-bad": "-v" }).map((f) => f[3]),
    [
      "key `/-bad`: prefix part must be non-empty",
      `key \`/-bad\`: name part ${NAME_CHARS}`,
      "value `-v`: a label value must be empty or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
    ],
    "every problem of one entry",
  );
});

t.test("selector expressions: operators and their values", async (t) => {
  const expression = (requirement: Record<string, unknown>) =>
    findingsOf(
      networkPolicy({ podSelector: { matchExpressions: [{ key: "ok", operator: "Exists" }, requirement] } }),
    ).map((f) => [f.path, f.message]);
  const E = "spec.podSelector.matchExpressions[1]";
  t.same(expression({ key: "tier", operator: "NotIn", values: ["a"] }), []);
  t.same(expression({ key: "tier", operator: "DoesNotExist" }), []);
  t.same(expression({ key: "tier", operator: "DoesNotExist", values: [] }), [], "an empty list is no values");
  t.same(expression({ key: "tier", operator: "NotIn" }), [[`${E}.values`, "is required when `operator` is NotIn"]]);
  t.same(expression({ key: "tier", operator: "In", values: [] }), [
    [`${E}.values`, "is required when `operator` is In"],
  ]);
  t.same(expression({ key: "tier", operator: "DoesNotExist", values: ["a"] }), [
    [`${E}.values`, "may not be specified when `operator` is DoesNotExist"],
  ]);
  t.same(expression({ key: "tier", operator: "Exists", values: ["a"] }), [
    [`${E}.values`, "may not be specified when `operator` is Exists"],
  ]);
  t.same(expression({ key: "tier", operator: "exists" }), [
    [`${E}.operator`, "`exists` is not a valid operator; use one of In, NotIn, Exists, DoesNotExist (case-sensitive)"],
  ]);
  t.same(expression({ key: "-tier", operator: "In", values: ["ok", "-no"] }), [
    [`${E}.key`, `\`-tier\`: name part ${NAME_CHARS}`],
    [
      `${E}.values[1]`,
      "`-no`: a label value must be empty or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
    ],
  ]);
});

t.test("selectors of peers are checked at their own paths", async (t) => {
  const policy = networkPolicy({
    egress: [
      { to: [{ namespaceSelector: { matchLabels: { "-a": "x" } }, podSelector: { matchLabels: { "-b": "y" } } }] },
    ],
  });
  t.same(
    findingsOf(policy)
      .filter((f) => f.ruleId === "NP011")
      .map((f) => f.path),
    ["spec.egress[0].to[0].podSelector.matchLabels[-b]", "spec.egress[0].to[0].namespaceSelector.matchLabels[-a]"],
  );
});

t.test("NP040 in an isolated namespace: only an empty namespaceSelector admits every namespace", async (t) => {
  const isolated = (from: unknown[]) =>
    findingsOf(networkPolicy({ ingress: [{ from }] }), { context: { namespaceIsolated: true } }).map((f) => [
      f.ruleId,
      f.path,
    ]);
  t.same(isolated([{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "web" } } }]), []);
  t.same(isolated([{ namespaceSelector: { matchExpressions: [{ key: "team", operator: "Exists" }] } }]), []);
  t.same(isolated([{ podSelector: {} }, { namespaceSelector: {}, podSelector: { matchLabels: { app: "a" } } }]), [
    ["NP040", "spec.ingress[0].from[1].namespaceSelector"],
  ]);
  t.same(isolated([{ namespaceSelector: { matchLabels: {}, matchExpressions: [] } }]), [
    ["NP040", "spec.ingress[0].from[0].namespaceSelector"],
  ]);
});
