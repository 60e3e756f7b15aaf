// The NetworkPolicies printed or described in the seed documents (KubeSphere, Kommander, the
// Kubernetes docs and blog), run through the rule engine. Each fixture's expected findings are pinned
// in test/fixtures/seeds/expected.yaml, decided from DESIGN.md's rules, not from the engine's output.
import { readdirSync, readFileSync } from "node:fs";
import t from "tap";
import { parse } from "yaml";
import { z } from "zod";
import { DEFAULT_RULE_CONTEXT, type RuleContext } from "../../src/rules/context.ts";
import type { Finding } from "../../src/rules/finding.ts";
import { evaluate } from "../../src/rules/index.ts";

const SEEDS = new URL("../fixtures/seeds/", import.meta.url);
const EXPECTED_FILE = "expected.yaml";

const ExpectedFindingSchema = z.strictObject({
  rule: z.string(),
  action: z.enum(["deny", "warn"]),
  path: z.string(),
});

const ExpectationSchema = z.strictObject({
  seed: z.string(),
  source: z.enum(["verbatim", "reconstructed"]),
  isolated: z.boolean(),
  findings: z.array(ExpectedFindingSchema),
});

type ExpectedFinding = z.infer<typeof ExpectedFindingSchema>;

const expectations = z
  .record(z.string(), ExpectationSchema)
  .parse(parse(readFileSync(new URL(EXPECTED_FILE, SEEDS), "utf8")));
const fixtureFiles = readdirSync(SEEDS)
  .filter((file) => file.endsWith(".yaml") && file !== EXPECTED_FILE)
  .sort();

/** Order-insensitive comparison: the same findings, each as often, in a stable order. */
function sorted(findings: readonly ExpectedFinding[]): ExpectedFinding[] {
  const key = (f: ExpectedFinding) => `${f.rule} ${f.action} ${f.path}`;
  return [...findings].sort((a, b) => key(a).localeCompare(key(b)));
}

function summary(findings: readonly Finding[]): ExpectedFinding[] {
  return sorted(findings.map((f) => ({ rule: f.ruleId, action: f.action, path: f.path })));
}

function evaluateFixture(object: unknown, namespaceIsolated: boolean): Finding[] {
  const metadata = (object as { metadata?: { namespace?: string; name?: string } }).metadata;
  const context: RuleContext = { ...DEFAULT_RULE_CONTEXT, namespaceIsolated };
  return evaluate({ kind: "NetworkPolicy", namespace: metadata?.namespace, name: metadata?.name, object }, context, {});
}

t.test("every seed fixture has an expectation, and every expectation a fixture", async (t) => {
  t.ok(fixtureFiles.length > 0, "there are seed fixtures");
  t.same(
    fixtureFiles.filter((file) => !Object.hasOwn(expectations, file)),
    [],
    "fixtures without an expectation",
  );
  t.same(
    Object.keys(expectations)
      .filter((file) => !fixtureFiles.includes(file))
      .sort(),
    [],
    "expectations without a fixture",
  );
});

for (const file of fixtureFiles) {
  const expected = expectations[file];
  if (expected === undefined) continue;
  const object: unknown = parse(readFileSync(new URL(file, SEEDS), "utf8"));
  const name = (object as { metadata?: { name?: string } }).metadata?.name ?? file;
  const where = expected.isolated ? "isolated namespace" : "namespace not isolated";

  t.test(`seed ${expected.seed}: ${name} (${expected.source}, ${file}, ${where})`, async (t) => {
    t.equal((object as { kind?: string }).kind, "NetworkPolicy", "the fixture is a NetworkPolicy");
    const findings = evaluateFixture(object, expected.isolated);
    t.same(summary(findings), sorted(expected.findings), "exact findings {rule, action, path}");
    for (const f of findings) t.ok(f.message.length > 0, `${f.ruleId} at ${f.path} says what is wrong`);

    // Isolation only decides NP040: with the switch flipped, everything else stays the same.
    const flipped = summary(evaluateFixture(object, !expected.isolated)).filter((f) => f.rule !== "NP040");
    t.same(
      flipped,
      sorted(expected.findings.filter((f) => f.rule !== "NP040")),
      "with isolation flipped, only NP040 may change",
    );
  });
}
