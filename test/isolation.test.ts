import t from "tap";
import { isolationOf, namespacesIsolatedBy } from "../src/isolation.ts";
import { findingsOf, triples } from "./helpers/evaluate.ts";

const cases: [string, Parameters<typeof isolationOf>[0], boolean, string][] = [
  ["the netfence label", { labels: { "netfence.io/isolation": "enabled" } }, true, "label"],
  ["the label with another value", { labels: { "netfence.io/isolation": "disabled" } }, false, "none"],
  [
    "the KubeSphere annotation",
    { annotations: { "kubesphere.io/network-isolate": "enabled" } },
    true,
    "kubesphere-annotation",
  ],
  [
    "the legacy DefaultDeny annotation",
    { annotations: { "net.beta.kubernetes.io/network-policy": '{"ingress":{"isolation":"DefaultDeny"}}' } },
    true,
    "legacy-annotation",
  ],
  [
    "the legacy annotation without DefaultDeny",
    { annotations: { "net.beta.kubernetes.io/network-policy": '{"ingress":{}}' } },
    false,
    "legacy-annotation",
  ],
  [
    "a malformed legacy annotation",
    { annotations: { "net.beta.kubernetes.io/network-policy": "DefaultDeny" } },
    false,
    "malformed-legacy-annotation",
  ],
  [
    "a legacy annotation that is a JSON list",
    { annotations: { "net.beta.kubernetes.io/network-policy": "[1]" } },
    false,
    "malformed-legacy-annotation",
  ],
  ["nothing", {}, false, "none"],
];

t.test("isolation detection", async (t) => {
  for (const [name, metadata, isolated, source] of cases) {
    const result = isolationOf(metadata);
    t.equal(result.isolated, isolated, `${name}: isolated`);
    t.equal(result.source, source, `${name}: source`);
  }
});

t.test("a malformed legacy annotation is a warning on the Namespace (NS001), not a crash", async (t) => {
  const namespace = {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "old", annotations: { "net.beta.kubernetes.io/network-policy": "{oops" } },
  };
  t.same(triples(findingsOf(namespace)), [
    ["NS001", "warn", "metadata.annotations[net.beta.kubernetes.io/network-policy]"],
  ]);
});

t.test("lint's view: only Namespaces with a name isolate, whatever else the manifests hold", async (t) => {
  const isolating = { "netfence.io/isolation": "enabled" };
  const view = namespacesIsolatedBy([
    null,
    7,
    "kind: Namespace",
    { kind: "Namespace" },
    { kind: "Namespace", metadata: { name: "team-a", labels: isolating } },
    { kind: "Namespace", metadata: { name: "team-b", annotations: { "kubesphere.io/network-isolate": "enabled" } } },
    { kind: "Namespace", metadata: { name: "team-c" } },
    { kind: "ConfigMap", metadata: { name: "team-d", labels: isolating } },
  ]);
  const expected = { "team-a": true, "team-b": true, "team-c": false, "team-d": false };
  for (const [namespace, isolated] of Object.entries(expected))
    t.equal(view.isIsolated(namespace), isolated, namespace);
});
