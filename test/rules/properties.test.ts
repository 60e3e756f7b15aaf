// Property tests: the rule engine never throws, and every finding points at a field that exists.
import fc from "fast-check";
import t from "tap";
import { valueAtPath } from "../../src/field-path.ts";
import { DEFAULT_RULE_CONTEXT } from "../../src/rules/context.ts";
import { evaluate, type SubjectKind } from "../../src/rules/index.ts";
import { anyJson, looseObject, networkPolicyShape } from "../helpers/arbitraries.ts";

const RUNS = 400;

const parentOf = (path: string) => path.replace(/(\.[^.[\]]+|\[[^\]]*\])$/, "");

// Kubernetes reports a missing required field at the field's own path; its parent must exist.
const pointsIntoObject = (object: unknown, path: string, missingRequired: boolean) =>
  valueAtPath(object, path).found || (missingRequired && valueAtPath(object, parentOf(path)).found);

t.test("any object of NetworkPolicy shape gets findings without a throw, each at a path that exists", async (t) => {
  fc.assert(
    fc.property(networkPolicyShape, fc.boolean(), (policy, isolated) => {
      const findings = evaluate(
        { kind: "NetworkPolicy", namespace: "team-a", name: "p", object: policy },
        { ...DEFAULT_RULE_CONTEXT, namespaceIsolated: isolated },
        {},
      );
      for (const f of findings) {
        if (!pointsIntoObject(policy, f.path, f.message.startsWith("is required")))
          throw new Error(`${f.ruleId} path ${f.path} does not exist`);
        if (f.message.includes("\n")) throw new Error(`${f.ruleId} message has a newline`);
      }
    }),
    { numRuns: RUNS },
  );
  t.pass(`${RUNS} policies`);
});

const FAMILY: Record<SubjectKind, string> = { NetworkPolicy: "NP", Service: "SVC", ConfigMap: "KP", Namespace: "NS" };

t.test(
  "any JSON as any kind's object gets findings of that kind's rules, one line each, without a throw",
  async (t) => {
    const kinds: [SubjectKind, string][] = [
      ["NetworkPolicy", "networking.k8s.io/v1"],
      ["Service", "v1"],
      ["ConfigMap", "v1"],
      ["Namespace", "v1"],
    ];
    for (const [kind, apiVersion] of kinds) {
      fc.assert(
        fc.property(
          fc.oneof(anyJson, looseObject(kind, apiVersion)),
          fc.oneof(anyJson, fc.constant(undefined)),
          (object, oldObject) => {
            const findings = evaluate(
              { kind, namespace: "kube-system", name: "kube-proxy", object, oldObject },
              { ...DEFAULT_RULE_CONTEXT, namespaceIsolated: true },
              {},
            );
            for (const f of findings) {
              if (!f.ruleId.startsWith(FAMILY[kind])) throw new Error(`${f.ruleId} on a ${kind}`);
              if (f.action !== "deny" && f.action !== "warn") throw new Error(`${f.ruleId} action ${f.action}`);
              if (f.message === "" || f.message.includes("\n"))
                throw new Error(`${f.ruleId} message ${JSON.stringify(f.message)}`);
            }
          },
        ),
        { numRuns: RUNS },
      );
      t.pass(`${kind}: ${RUNS} objects`);
    }
  },
);
