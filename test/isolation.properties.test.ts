// Isolation from every source DESIGN.md names, against an oracle written here from DESIGN.md: the
// predicate itself, the Namespace rule (NS001) and the linter, which decides isolation from the
// Namespaces in its input. The legacy annotation is JSON someone typed: any JSON text may be there.
import fc from "fast-check";
import t from "tap";
import { isolationOf } from "../src/isolation.ts";
import { parseConfig } from "../src/config.ts";
import { parseManifests } from "../src/manifests.ts";
import { lintDocuments } from "../src/report/lint.ts";
import { testApp } from "./helpers/app.ts";
import { findingsOf, triples } from "./helpers/evaluate.ts";
import { admissionReview } from "./helpers/review.ts";

const LABEL = "netfence.io/isolation";
const KUBESPHERE = "kubesphere.io/network-isolate";
const LEGACY = "net.beta.kubernetes.io/network-policy";
const NS001_PATH = "metadata.annotations[net.beta.kubernetes.io/network-policy]";
const NOT_AN_OBJECT = 'must be a JSON object such as {"ingress":{"isolation":"DefaultDeny"}}';

t.test("legacy annotation values of every JSON shape", async (t) => {
  const cases: [string, string, ReturnType<typeof isolationOf>][] = [
    ["null", "null", { isolated: false, source: "malformed-legacy-annotation", problem: NOT_AN_OBJECT }],
    [
      "a JSON string",
      '"DefaultDeny"',
      { isolated: false, source: "malformed-legacy-annotation", problem: NOT_AN_OBJECT },
    ],
    ["a number", "42", { isolated: false, source: "malformed-legacy-annotation", problem: NOT_AN_OBJECT }],
    ["true", "true", { isolated: false, source: "malformed-legacy-annotation", problem: NOT_AN_OBJECT }],
    [
      "a list",
      '[{"ingress":{"isolation":"DefaultDeny"}}]',
      { isolated: false, source: "malformed-legacy-annotation", problem: NOT_AN_OBJECT },
    ],
    [
      "not JSON",
      "{ingress: DefaultDeny}",
      { isolated: false, source: "malformed-legacy-annotation", problem: "is not valid JSON" },
    ],
    ["empty", "", { isolated: false, source: "malformed-legacy-annotation", problem: "is not valid JSON" }],
    ["an empty object", "{}", { isolated: false, source: "legacy-annotation" }],
    ["ingress null", '{"ingress":null}', { isolated: false, source: "legacy-annotation" }],
    ["ingress a string", '{"ingress":"DefaultDeny"}', { isolated: false, source: "legacy-annotation" }],
    [
      "isolation in another case",
      '{"ingress":{"isolation":"defaultdeny"}}',
      { isolated: false, source: "legacy-annotation" },
    ],
    ["isolation at the top", '{"isolation":"DefaultDeny"}', { isolated: false, source: "legacy-annotation" }],
    ["DefaultDeny", '{"ingress":{"isolation":"DefaultDeny"}}', { isolated: true, source: "legacy-annotation" }],
  ];
  for (const [name, value, expected] of cases)
    t.same(isolationOf({ annotations: { [LEGACY]: value } }), expected, name);
});

t.test(
  "the label wins over a malformed legacy annotation; other label values and spellings do not isolate",
  async (t) => {
    t.same(isolationOf({ labels: { [LABEL]: "enabled" }, annotations: { [LEGACY]: "null" } }), {
      isolated: true,
      source: "label",
    });
    t.same(isolationOf({ labels: { [LABEL]: "Enabled" } }), { isolated: false, source: "none" });
    t.same(
      isolationOf({ annotations: { [LABEL]: "enabled" } }),
      { isolated: false, source: "none" },
      "the label's key as an annotation",
    );
    t.same(
      isolationOf({ labels: { [KUBESPHERE]: "enabled" } }),
      { isolated: false, source: "none" },
      "the KubeSphere key as a label",
    );
    t.same(isolationOf({ labels: { [LABEL]: "disabled" }, annotations: { [KUBESPHERE]: "enabled" } }), {
      isolated: true,
      source: "kubesphere-annotation",
    });
    t.same(isolationOf({ annotations: { [KUBESPHERE]: "true" } }), { isolated: false, source: "none" });
  },
);

t.test(
  '/validate of a Namespace whose legacy annotation is "null": allowed with the NS001 warning, not a 500',
  async (t) => {
    const { app } = testApp();
    const namespace = {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "old", annotations: { [LEGACY]: "null" } },
    };
    const res = await app.inject({
      method: "POST",
      url: "/validate",
      headers: { "content-type": "application/json" },
      payload: admissionReview("Namespace", namespace, { namespace: "" }),
    });
    t.equal(res.statusCode, 200);
    const { response } = res.json();
    t.equal(response.allowed, true);
    // Cut at 120 characters, as every warning is.
    t.same(response.warnings, [`NS001 ${NS001_PATH}: must be a JSON object such as {"ingress":{"isolati...`]);
  },
);

// --- the oracle, from DESIGN.md's "Isolated namespace" ---
const isJsonObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);
function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}
interface Metadata {
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
function expectedIsolated(metadata: Metadata): boolean {
  if (metadata.labels?.[LABEL] === "enabled" || metadata.annotations?.[KUBESPHERE] === "enabled") return true;
  const legacy = metadata.annotations?.[LEGACY];
  const parsed = legacy === undefined ? { ok: false as const } : parseJson(legacy);
  return (
    parsed.ok &&
    isJsonObject(parsed.value) &&
    isJsonObject(parsed.value.ingress) &&
    parsed.value.ingress.isolation === "DefaultDeny"
  );
}
function expectedUnreadable(metadata: Metadata): boolean {
  if (metadata.labels?.[LABEL] === "enabled" || metadata.annotations?.[KUBESPHERE] === "enabled") return false;
  const legacy = metadata.annotations?.[LEGACY];
  if (legacy === undefined) return false;
  const parsed = parseJson(legacy);
  return !parsed.ok || !isJsonObject(parsed.value);
}

const switchValue = fc.constantFrom("enabled", "disabled", "Enabled", "true", "");
const legacyValue = fc.oneof(
  fc.constantFrom("null", "{}", "[]", '{"ingress":null}', "DefaultDeny", ""),
  fc
    .record({
      ingress: fc.oneof(
        fc.record({
          isolation: fc.oneof(fc.constantFrom("DefaultDeny", "defaultdeny", "None"), fc.jsonValue({ maxDepth: 1 })),
        }),
        fc.jsonValue({ maxDepth: 2 }),
      ),
    })
    .map((v) => JSON.stringify(v)),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.string(),
);
const metadata: fc.Arbitrary<Metadata> = fc.record(
  {
    labels: fc.record({ [LABEL]: switchValue, team: fc.string() }, { requiredKeys: [] }),
    annotations: fc.record(
      { [KUBESPHERE]: switchValue, [LEGACY]: legacyValue, owner: fc.string() },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);

t.test("any namespace metadata: isolated and NS001 exactly as DESIGN.md says", async (t) => {
  fc.assert(
    fc.property(metadata, (meta) => {
      const isolation = isolationOf(meta);
      if (isolation.isolated !== expectedIsolated(meta))
        throw new Error(`isolated ${isolation.isolated} for ${JSON.stringify(meta)}`);
      const namespace = { apiVersion: "v1", kind: "Namespace", metadata: { name: "ns", ...meta } };
      const expected = expectedUnreadable(meta) ? [["NS001", "warn", NS001_PATH]] : [];
      const got = triples(findingsOf(namespace));
      if (JSON.stringify(got) !== JSON.stringify(expected))
        throw new Error(`NS001 ${JSON.stringify(got)} for ${JSON.stringify(meta)}`);
    }),
    { numRuns: 1000 },
  );
  t.pass("1000 namespaces");
});

t.test("lint: a Namespace in the input isolates its objects by label, either annotation, or not at all", async (t) => {
  fc.assert(
    fc.property(metadata, (meta) => {
      const documents = [
        { apiVersion: "v1", kind: "Namespace", metadata: { name: "team-a", ...meta } },
        {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: "no-selector", namespace: "team-a" },
          spec: { ports: [{ port: 80 }] },
        },
      ];
      const results = lintDocuments(
        parseManifests("-", JSON.stringify({ apiVersion: "v1", kind: "List", items: documents })),
        { config: parseConfig({}), actions: {}, defaultNamespace: "default" },
      );
      const service = results.find((r) => r.kind === "Service");
      const expected = expectedIsolated(meta) ? [["SVC001", "deny", "spec.selector"]] : [];
      if (JSON.stringify(triples(service?.findings ?? [])) !== JSON.stringify(expected))
        throw new Error(`lint isolation wrong for ${JSON.stringify(meta)}`);
    }),
    { numRuns: 300 },
  );
  t.pass("300 inputs");
});

t.test("lint: isolation read from each annotation, as the webhook reads it", async (t) => {
  const lint = (yaml: string) =>
    lintDocuments(parseManifests("-", yaml), { config: parseConfig({}), actions: {}, defaultNamespace: "default" });
  const service = "---\napiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: old}\nspec: {}\n";
  const kubesphere = `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: old\n  annotations: {kubesphere.io/network-isolate: enabled}\n${service}`;
  const legacy = `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: old\n  annotations: {net.beta.kubernetes.io/network-policy: '{"ingress":{"isolation":"DefaultDeny"}}'}\n${service}`;
  const none = `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: old\n  annotations: {net.beta.kubernetes.io/network-policy: 'null'}\n${service}`;
  t.same(
    lint(kubesphere).map((r) => triples(r.findings)),
    [[], [["SVC001", "deny", "spec.selector"]]],
    "KubeSphere annotation",
  );
  t.same(
    lint(legacy).map((r) => triples(r.findings)),
    [[], [["SVC001", "deny", "spec.selector"]]],
    "legacy annotation",
  );
  t.same(
    lint(none).map((r) => triples(r.findings)),
    [[["NS001", "warn", NS001_PATH]], []],
    'legacy annotation "null": a warning, and not isolated',
  );
});
