// NP001 (the shape of a NetworkPolicy) and NS001 (the legacy annotation), with the words users read,
// and which kinds each rule family looks at.
import t from "tap";
import { findingsOf } from "../helpers/evaluate.ts";

const full = (object: unknown) => findingsOf(object).map((f) => [f.ruleId, f.action, f.path, f.message]);

t.test("NP001: each shape problem at its own field, zod's words without 'Invalid input: '", async (t) => {
  const cases: [string, unknown, [string, string, string, string][]][] = [
    [
      "no spec",
      { kind: "NetworkPolicy", metadata: { name: "x" } },
      [["NP001", "deny", "spec", "is required (expected object)"]],
    ],
    [
      "no podSelector",
      { kind: "NetworkPolicy", spec: {} },
      [["NP001", "deny", "spec.podSelector", "is required (expected object)"]],
    ],
    [
      "a label value that is a number, under a key with dots",
      { kind: "NetworkPolicy", spec: { podSelector: { matchLabels: { "a.b/c": 1 } } } },
      [["NP001", "deny", "spec.podSelector.matchLabels[a.b/c]", "expected string, received number"]],
    ],
    [
      "policyTypes as a string",
      { kind: "NetworkPolicy", spec: { podSelector: {}, policyTypes: "Ingress" } },
      [["NP001", "deny", "spec.policyTypes", "expected array, received string"]],
    ],
    ["null", null, [["NP001", "deny", "", "expected object, received null"]]],
    [
      "two problems",
      { kind: "NetworkPolicy", spec: { podSelector: {}, policyTypes: "Ingress", egress: [{ to: "all" }] } },
      [
        ["NP001", "deny", "spec.egress[0].to", "expected array, received string"],
        ["NP001", "deny", "spec.policyTypes", "expected array, received string"],
      ],
    ],
  ];
  for (const [name, object, expected] of cases) t.same(full(object), expected, name);
});

t.test("NS001: the words for each unreadable legacy annotation", async (t) => {
  const namespace = (value: string) => ({
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name: "old", annotations: { "net.beta.kubernetes.io/network-policy": value } },
  });
  const P = "metadata.annotations[net.beta.kubernetes.io/network-policy]";
  const TAIL = "; netfence treats this namespace as not isolated (use the label `netfence.io/isolation: enabled`)";
  t.same(full(namespace("{")), [["NS001", "warn", P, `is not valid JSON${TAIL}`]]);
  t.same(full(namespace("[]")), [
    ["NS001", "warn", P, `must be a JSON object such as {"ingress":{"isolation":"DefaultDeny"}}${TAIL}`],
  ]);
  t.same(full(namespace('{"ingress":{"isolation":"DefaultDeny"}}')), [], "readable and isolating");
  t.same(
    full({ apiVersion: "v1", kind: "Namespace", metadata: "x" }),
    [],
    "a Namespace of another shape is left to the apiserver",
  );
  t.same(full({ apiVersion: "v1", kind: "Namespace" }), [], "no metadata");
});

t.test("each family looks only at its kind", async (t) => {
  const legacy = { annotations: { "net.beta.kubernetes.io/network-policy": "{" } };
  t.same(
    full({ apiVersion: "v1", kind: "Service", metadata: { name: "s", ...legacy }, spec: "x" }),
    [],
    "a Service of another shape: nothing",
  );
  t.same(
    full({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "kube-proxy", namespace: "kube-system", ...legacy },
      data: "x",
    }),
    [],
    "a ConfigMap of another shape: nothing",
  );
  t.same(
    full({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "kube-proxy", namespace: "other" },
      data: { "config.conf": "iptables: {masqueradeAll: true}" },
    }),
    [],
    "kube-proxy only in kube-system",
  );
});
