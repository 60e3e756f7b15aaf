import t from "tap";
import { findingsOf, triples } from "../helpers/evaluate.ts";

const service = (spec: Record<string, unknown>, annotations?: Record<string, string>) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "api", namespace: "team-a", ...(annotations ? { annotations } : {}) },
  spec,
});
const isolated = { namespaceIsolated: true };

const cases: Record<
  string,
  {
    spec: Record<string, unknown>;
    annotations?: Record<string, string>;
    context: Record<string, unknown>;
    expect: [string, string, string][];
  }
> = {
  "no selector in an isolated namespace is denied": {
    spec: { ports: [{ port: 80 }] },
    context: isolated,
    expect: [["SVC001", "deny", "spec.selector"]],
  },
  "an empty selector in an isolated namespace is denied": {
    spec: { selector: {} },
    context: isolated,
    expect: [["SVC001", "deny", "spec.selector"]],
  },
  "no selector elsewhere is fine with scope isolated": { spec: {}, context: {}, expect: [] },
  "no selector anywhere is denied with scope all": {
    spec: {},
    context: { emptySelectorScope: "all" },
    expect: [["SVC001", "deny", "spec.selector"]],
  },
  "scope off says nothing": { spec: {}, context: { ...isolated, emptySelectorScope: "off" }, expect: [] },
  "the opt-out annotation allows it": {
    spec: {},
    annotations: { "netfence.io/allow-empty-selector": "true" },
    context: isolated,
    expect: [],
  },
  "ExternalName is exempt": {
    spec: { type: "ExternalName", externalName: "db.example.com" },
    context: isolated,
    expect: [],
  },
  "a selector is fine": { spec: { selector: { app: "api" } }, context: isolated, expect: [] },
  "a LoadBalancer with externalTrafficPolicy Cluster warns": {
    spec: { type: "LoadBalancer", selector: { app: "web" }, externalTrafficPolicy: "Cluster" },
    context: isolated,
    expect: [["SVC002", "warn", "spec.type"]],
  },
  "a NodePort with Local is fine": {
    spec: { type: "NodePort", selector: { app: "web" }, externalTrafficPolicy: "Local" },
    context: isolated,
    expect: [],
  },
  "a NodePort outside isolated namespaces is fine": {
    spec: { type: "NodePort", selector: { app: "web" } },
    context: {},
    expect: [],
  },
};

t.test("Service rules", async (t) => {
  for (const [name, { spec, annotations, context, expect }] of Object.entries(cases)) {
    t.same(triples(findingsOf(service(spec, annotations), { context })), expect, name);
  }
});

t.test("an old selector-less Service stays editable (ratcheting at spec.selector)", async (t) => {
  const old = service({ ports: [{ port: 5432 }] });
  const edited = service({ ports: [{ port: 5433 }] });
  t.same(triples(findingsOf(edited, { context: isolated, oldObject: old })), [["SVC001", "warn", "spec.selector"]]);
  t.same(
    triples(findingsOf(edited, { context: isolated })),
    [["SVC001", "deny", "spec.selector"]],
    "a new one is still denied",
  );
});
