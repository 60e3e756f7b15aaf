// Adding a rule is one rule object and one registry line: a throwaway rule, registered here only,
// shows up in evaluate, in config validation, in the generated docs and in SARIF.
import t from "tap";
import { parseManifests } from "../../src/manifests.ts";
import { lintDocuments } from "../../src/report/lint.ts";
import { render, renderSarif } from "../../src/report/render.ts";
import { parseConfig } from "../../src/config.ts";
import { DEFAULT_RULE_CONTEXT } from "../../src/rules/context.ts";
import { evaluate } from "../../src/rules/index.ts";
import { RULES, ruleActionsSchema, ruleRegistry } from "../../src/rules/registry.ts";
import { examplePolicy, rule } from "../../src/rules/rule.ts";
import { renderRuleReference } from "../../src/rules/reference.ts";

const NP999 = rule({
  id: "NP999",
  kind: "NetworkPolicy",
  at: "port",
  defaultAction: "warn",
  title: "port 6666, for the registry test",
  why: "a throwaway rule proves that the registry alone is enough.",
  fix: "use another port.",
  example: { yaml: examplePolicy("podSelector: {}\ningress:\n- ports:\n  - {port: 6666}") },
  check: (port, path) => (port.port === 6666 ? [{ path: path.child("port"), message: "6666 is the test's port" }] : []),
});
const registry = ruleRegistry([...RULES.rules, NP999]);
const policy = {
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name: "p", namespace: "a" },
  spec: { podSelector: {}, ingress: [{ ports: [{ port: 6666 }] }] },
};
const subject = { kind: "NetworkPolicy" as const, namespace: "a", name: "p", object: policy };

t.test("the engine runs a registered rule at its site, with its default or configured action", async (t) => {
  t.same(evaluate(subject, DEFAULT_RULE_CONTEXT, {}, registry), [
    { ruleId: "NP999", action: "warn", path: "spec.ingress[0].ports[0].port", message: "6666 is the test's port" },
  ]);
  t.same(
    evaluate(subject, DEFAULT_RULE_CONTEXT, { NP999: "deny" }, registry).map((f) => f.action),
    ["deny"],
  );
  t.same(evaluate(subject, DEFAULT_RULE_CONTEXT, {}), [], "the built-in registry does not know it");
});

t.test("config validation accepts the new ID in `rules:` only with the rule registered", async (t) => {
  t.ok(ruleActionsSchema(registry).safeParse({ NP999: "deny" }).success);
  const refused = ruleActionsSchema(RULES).safeParse({ NP999: "deny" });
  t.notOk(refused.success);
  t.throws(() => parseConfig({ rules: { NP999: "deny" } }), /NP999|unknown rule ID/);
  if (refused.success) return;
  t.same(refused.error.issues[0]?.path, ["NP999"]);
  const [keyIssue] = refused.error.issues as { issues?: { message: string }[] }[];
  t.equal(keyIssue?.issues?.[0]?.message, `unknown rule ID; known: ${RULES.ids.join(", ")}`);
});

t.test("a rule that never denies cannot be configured to deny: the config names it and says why", async (t) => {
  const refused = ruleActionsSchema(RULES).safeParse({ KP002: "deny" });
  if (refused.success) return t.fail("KP002: deny was accepted");
  t.same(
    refused.error.issues.map((issue) => [issue.path, issue.message]),
    [[["KP002"], `KP002 never denies (${RULES.get("KP002")!.title}); use warn or off`]],
  );
  t.ok(ruleActionsSchema(RULES).safeParse({ KP002: "warn" }).success);
});

t.test("the generated docs and SARIF describe it", async (t) => {
  const docs = renderRuleReference(registry);
  t.match(docs, "| [NP999](#np999) | NetworkPolicy | warn | port 6666, for the registry test |");
  t.match(docs, "## NP999\n\n**port 6666, for the registry test** (NetworkPolicy, default `warn`)");
  t.match(docs, "  - {port: 6666}");
  const results = lintDocuments(parseManifests("p.yaml", JSON.stringify(policy)), {
    config: parseConfig({}),
    actions: {},
    defaultNamespace: "default",
  });
  const sarif = JSON.parse(renderSarif(results, "x", registry));
  const driverRules = sarif.runs[0].tool.driver.rules;
  t.same(driverRules.at(-1), {
    id: "NP999",
    name: "NP999",
    shortDescription: { text: "port 6666, for the registry test" },
    fullDescription: { text: "a throwaway rule proves that the registry alone is enough. Fix: use another port." },
    helpUri: "https://github.com/netfence/netfence/blob/main/docs/rules.md#np999",
    defaultConfiguration: { level: "warning" },
  });
  t.equal(
    JSON.parse(render(results, "sarif", { colour: false, version: "x" })).runs[0].tool.driver.rules.length,
    driverRules.length - 1,
  );
});

t.test("a rule ID is registered once, and looks like one", async (t) => {
  t.throws(() => ruleRegistry([...RULES.rules, NP999, NP999]), /NP999 is registered twice/);
  for (const id of ["np-1", "NP9999", "XXNP999", "N999"])
    t.throws(() => ruleRegistry([{ ...NP999, id }]), /must be two or three capitals and three digits/, id);
  t.equal(ruleRegistry([{ ...NP999, id: "ABC123" }]).ids[0], "ABC123");
});

t.test("every kind's rules are listed in registry order, each site's in turn", async (t) => {
  t.same(
    registry.at("port").map((r) => r.id),
    ["NP030", "NP031", "NP032", "NP033", "NP999"],
  );
});
