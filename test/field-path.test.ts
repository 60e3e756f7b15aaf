// Field paths as Kubernetes prints them, and the walk from a path string back into an object.
import t from "tap";
import { FieldPath, pathSegments, valueAtPath } from "../src/field-path.ts";

t.test("a path built by walking down prints as Kubernetes prints it", async (t) => {
  const cases: [string, FieldPath, string][] = [
    [
      "fields, indexes and fields",
      FieldPath.root("spec", "ingress").index(0).child("from").index(1).child("ipBlock", "except").index(2),
      "spec.ingress[0].from[1].ipBlock.except[2]",
    ],
    [
      "a map key holding dots and a slash",
      FieldPath.root("metadata", "labels").key("app.kubernetes.io/name"),
      "metadata.labels[app.kubernetes.io/name]",
    ],
    ["the root", FieldPath.root(), ""],
    ["an index at the root", FieldPath.root().index(3), "[3]"],
    ["a key at the root", FieldPath.root().key("a"), "[a]"],
    ["a field at the root", FieldPath.root().child("spec"), "spec"],
    ["a key then a field", FieldPath.root("data").key("config.conf").child("x"), "data[config.conf].x"],
  ];
  for (const [name, path, expected] of cases) t.equal(path.toString(), expected, name);
});

t.test("walking down never changes the path it started from", async (t) => {
  const spec = FieldPath.root("spec");
  spec.child("ingress");
  spec.index(0);
  spec.key("k");
  t.equal(spec.toString(), "spec");
});

t.test("a zod issue path: plain names stay fields, other keys become map entries", async (t) => {
  const cases: [(string | number)[], string][] = [
    [["spec", "ingress", 0, "from"], "spec.ingress[0].from"],
    [["metadata", "annotations", "a.b/c"], "metadata.annotations[a.b/c]"],
    [["$x", "_y", "a1"], "$x._y.a1"],
    [["labels", "1abc"], "labels[1abc]"],
    [["labels", "a-b"], "labels[a-b]"],
    [["labels", "-ab"], "labels[-ab]"],
    [["labels", ""], "labels[]"],
  ];
  for (const [segments, expected] of cases)
    t.equal(FieldPath.of(segments).toString(), expected, JSON.stringify(segments));
});

t.test("a path string splits into the keys it walks", async (t) => {
  t.same(pathSegments("spec.ingress[0].from[12].ipBlock.except[2]"), [
    "spec",
    "ingress",
    0,
    "from",
    12,
    "ipBlock",
    "except",
    2,
  ]);
  t.same(pathSegments("metadata.annotations[net.beta.kubernetes.io/network-policy]"), [
    "metadata",
    "annotations",
    "net.beta.kubernetes.io/network-policy",
  ]);
  t.same(pathSegments("data[config.conf]"), ["data", "config.conf"]);
  t.same(pathSegments("labels[]"), ["labels", ""]);
  t.same(pathSegments(""), []);
});

t.test("the value at a path, or found: false", async (t) => {
  const object = {
    spec: { ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.1/8" } }] }], podSelector: {} },
    metadata: { labels: { "a.b/c": "v" }, x: null },
    map: { "0": "zero" },
  };
  t.same(valueAtPath(object, "spec.ingress[0].from[0].ipBlock.cidr"), { found: true, value: "10.0.0.1/8" });
  t.same(valueAtPath(object, "metadata.labels[a.b/c]"), { found: true, value: "v" });
  t.same(valueAtPath(object, "metadata.x"), { found: true, value: null });
  t.same(valueAtPath(object, ""), { found: true, value: object });
  const missing: [string, string][] = [
    ["a missing field", "spec.egress"],
    ["an index past the end", "spec.ingress[1]"],
    ["through a string", "spec.ingress[0].from[0].ipBlock.cidr.length"],
    ["through null", "metadata.x.y"],
    ["an index into an object", "map[0]"],
    ["a field of a list", "spec.ingress.length"],
    ["an inherited member", "spec.podSelector.constructor"],
  ];
  for (const [name, path] of missing) t.same(valueAtPath(object, path), { found: false, value: undefined }, name);
  t.same(valueAtPath("text", "a"), { found: false, value: undefined }, "a path into a string");
  t.same(valueAtPath(null, "a"), { found: false, value: undefined }, "a path into null");
});
