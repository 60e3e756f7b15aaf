import t from "tap";
import { parseManifests, readManifests } from "../../src/manifests.ts";
import { exitCodeFor, lintDocuments } from "../../src/report/lint.ts";
import { parseConfig } from "../../src/config.ts";

const options = { config: parseConfig({}), actions: {}, defaultNamespace: "default" };
const dir = new URL("../fixtures/lint/dir", import.meta.url).pathname;

t.test("a directory is read recursively: YAML documents, JSON, and the items of a List", async (t) => {
  const documents = readManifests([dir], () => "").documents;
  t.same(
    documents.map((d) => [d.source.replace(dir, "dir"), d.index]),
    [
      ["dir/nested/list.json", 0],
      ["dir/nested/list.json", 1],
      ["dir/policies.yaml", 0],
      ["dir/policies.yaml", 1],
      ["dir/policies.yaml", 2],
    ],
  );
});

t.test("a Namespace in the same input makes its objects isolated", async (t) => {
  const results = lintDocuments(readManifests([dir], () => "").documents, options);
  const service = results.find((r) => r.name === "no-selector");
  t.same(
    service?.findings.map((f) => [f.ruleId, f.action, f.path, f.line]),
    [["SVC001", "deny", "spec.selector", 26]],
  );
  t.equal(exitCodeFor(results, false), 1);
});

t.test("--isolated-namespace does the same without a Namespace object", async (t) => {
  const service = parseManifests("-", "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: x}\nspec: {}\n");
  t.same(lintDocuments(service, options)[0]?.findings, []);
  t.same(
    lintDocuments(service, { ...options, config: parseConfig({ isolatedNamespaces: ["x"] }) })[0]?.findings.map(
      (f) => f.ruleId,
    ),
    ["SVC001"],
  );
});

t.test(
  "a Namespace switches isolation on by the KubeSphere or the legacy annotation as well as the label",
  async (t) => {
    const service = "---\napiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: x}\nspec: {}\n";
    const withNamespace = (metadata: string) =>
      lintDocuments(parseManifests("-", `apiVersion: v1\nkind: Namespace\nmetadata: ${metadata}\n${service}`), options)
        .flatMap((result) => result.findings)
        .map((f) => f.ruleId);
    t.same(withNamespace("{name: x, labels: {netfence.io/isolation: enabled}}"), ["SVC001"]);
    t.same(withNamespace("{name: x, annotations: {kubesphere.io/network-isolate: enabled}}"), ["SVC001"]);
    t.same(
      withNamespace(
        `{name: x, annotations: {net.beta.kubernetes.io/network-policy: '{"ingress":{"isolation":"DefaultDeny"}}'}}`,
      ),
      ["SVC001"],
    );
    t.same(withNamespace("{name: x}"), []);
  },
);

t.test("findings carry the line of their field", async (t) => {
  const [result] = lintDocuments(
    parseManifests(
      "p.yaml",
      "kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nmetadata: {name: p}\nspec:\n  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.1/8}\n",
    ),
    options,
  );
  t.equal(result?.line, 1);
  t.same(
    result?.findings.map((f) => [f.ruleId, f.line]),
    [["NP021", 8]],
  );
  t.equal(result?.namespace, "default", "the default namespace applies to objects that name none");
});

t.test("exit codes: warnings pass unless strict", async (t) => {
  const results = lintDocuments(
    parseManifests(
      "-",
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {}, policyTypes: [Egress]}\n",
    ),
    options,
  );
  t.equal(exitCodeFor(results, false), 0);
  t.equal(exitCodeFor(results, true), 1);
});

t.test("a YAML syntax error is an input error naming the line", async (t) => {
  t.throws(() => parseManifests("bad.yaml", "a: b: c\n"), { name: "InputError" });
  t.throws(() => parseManifests("bad.yaml", "a: 1\nb: c: d\n"), { message: /^bad\.yaml:2: YAML syntax error/ });
});

t.test("an unreadable path is an input error", async (t) => {
  t.same(
    readManifests(["/does/not/exist"], () => ""),
    { documents: [], problems: ["/does/not/exist: cannot read (ENOENT)"] },
  );
});

t.test("a NetworkPolicy under a wrong apiVersion is reported, other kinds are skipped", async (t) => {
  const results = lintDocuments(
    parseManifests(
      "-",
      "apiVersion: networking/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n",
    ),
    options,
  );
  t.same(
    results.map((r) => r.findings.map((f) => [f.ruleId, f.path])),
    [[["NP001", "apiVersion"]]],
  );
});
