// Reading manifests as kubectl reads them, and a straight answer for everything that is not one.
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { readManifests, readManifestText } from "../src/manifests.ts";

const POLICY = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {}}\n";

t.test("YAML merge keys are resolved, as kubectl resolves them", async (t) => {
  const text = [
    "base: &base",
    "  podSelector: {}",
    "  policyTypes: [Ingress]",
    "---",
    "apiVersion: networking.k8s.io/v1",
    "kind: NetworkPolicy",
    "metadata: {name: p}",
    "spec:",
    "  <<: {podSelector: {matchLabels: {app: web}}, policyTypes: [Egress]}",
    "  policyTypes: [Ingress]",
  ].join("\n");
  const { documents, problems } = readManifestText("m.yaml", text);
  t.same(problems, []);
  t.same((documents[1]?.object as { spec: unknown }).spec, {
    podSelector: { matchLabels: { app: "web" } },
    policyTypes: ["Ingress"],
  });
});

t.test("a List inside a List is flattened, at any depth, each item keeping its line", async (t) => {
  const text = [
    "apiVersion: v1",
    "kind: List",
    "items:",
    "- apiVersion: v1",
    "  kind: List",
    "  items:",
    "  - {apiVersion: v1, kind: ServiceList, items: [{apiVersion: v1, kind: Service, metadata: {name: deep}}]}",
    "  - {apiVersion: v1, kind: Service, metadata: {name: inner}}",
    "- {apiVersion: v1, kind: Service, metadata: {name: outer}}",
  ].join("\n");
  const { documents, problems } = readManifestText("l.yaml", text);
  t.same(problems, []);
  t.same(
    documents.map((d) => [
      (d.object as { metadata: { name: string } }).metadata.name,
      d.index,
      d.lineOf?.("metadata.name"),
    ]),
    [
      ["deep", 0, 7],
      ["inner", 1, 8],
      ["outer", 2, 9],
    ],
  );
});

t.test("what is not a manifest is a problem with its file and line, never 0 objects and exit 0", async (t) => {
  const cases: Record<string, [string, RegExp]> = {
    "a scalar": [
      "just some text\n",
      /^s\.yaml:1: a string \("just some text"\), not a manifest: a manifest is a mapping with apiVersion and kind/,
    ],
    "a number": ["42\n", /^s\.yaml:1: a number \("42"\), not a manifest/],
    "a top-level sequence": [
      "- apiVersion: v1\n  kind: Service\n",
      /^s\.yaml:1: a sequence, not a manifest: .*`kind: List` with `items`/,
    ],
    "a binary file": ["\x7fELF\x02\x01\x01\0\0\0", /^s\.yaml: a binary file, not a manifest$/],
    "a YAML syntax error": ["a: 1\nb: c: d\n", /^s\.yaml:2: YAML syntax error/],
  };
  for (const [what, [text, expected]] of Object.entries(cases)) {
    const { documents, problems } = readManifestText("s.yaml", text);
    t.same(documents, [], what);
    t.equal(problems.length, 1, what);
    t.match(problems[0], expected, what);
  }
  const mixed = readManifestText("s.yaml", `${POLICY}---\nnot a manifest\n---\n${POLICY}`);
  t.equal(mixed.documents.length, 2, "the manifests around a bad document are still read");
  t.match(mixed.problems, [/^s\.yaml:6: a string/]);
});

t.test("a dangling symlink or a symlink to a directory is reported with its path; the rest is read", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "netfence-docs-"));
  writeFileSync(join(dir, "a.yaml"), POLICY);
  symlinkSync(join(dir, "missing.yaml"), join(dir, "b-dangling.yaml"));
  mkdirSync(join(dir, "sub"));
  writeFileSync(join(dir, "sub", "c.yaml"), POLICY);
  symlinkSync(join(dir, "sub"), join(dir, "d-linked-dir.yaml"));
  writeFileSync(join(dir, "e.yaml"), POLICY);
  const { documents, problems } = readManifests([dir], () => "");
  t.same(
    documents.map((d) => d.source),
    ["a.yaml", "e.yaml", "sub/c.yaml"].map((f) => join(dir, f)),
  );
  t.same(problems, [
    `${join(dir, "b-dangling.yaml")}: cannot read (ENOENT: a dangling symlink)`,
    `${join(dir, "d-linked-dir.yaml")}: is a directory behind a symlink, not a manifest file; name the directory itself to read it`,
  ]);
});
