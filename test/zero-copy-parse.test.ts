// zeroCopyParser must answer exactly what zod's safeParse answers (same success, equal data, the same
// issues), and hand back the input itself whenever it has the shape already.
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import t from "tap";
import { z } from "zod";
import { ConfigMapSchema, NamespaceSchema, NetworkPolicySchema, ServiceSchema } from "../src/kube-objects.ts";
import { zeroCopyParser } from "../src/zero-copy-parse.ts";
import { anyJson, looseObject, networkPolicyShape } from "./helpers/arbitraries.ts";

const RUNS = 500;

function assertSameAsZod(schema: z.ZodType, value: unknown) {
  const fast = zeroCopyParser(schema)(value);
  const zod = schema.safeParse(value);
  if (fast.success !== zod.success) throw new Error(`success ${fast.success}, zod ${zod.success}`);
  if (!isDeepStrictEqual(fast.data, zod.data)) throw new Error("data differs from zod's");
  if (!isDeepStrictEqual(fast.error?.issues, zod.error?.issues)) throw new Error("issues differ from zod's");
  return fast;
}

/** Replaces one node of a JSON value (chosen by `pick`) with `replacement`. */
function replaceNode(value: unknown, pick: number, replacement: (node: unknown) => unknown): unknown {
  let n = 0;
  const walk = (node: unknown): unknown => {
    if (n++ === pick) return replacement(node);
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === "object")
      return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v)]));
    return node;
  };
  return walk(value);
}

/** A member named `__proto__` as JSON.parse makes it: an own property. */
const withProtoKey = (node: unknown) =>
  node !== null && typeof node === "object" && !Array.isArray(node)
    ? JSON.parse(JSON.stringify(node).replace(/^\{/, '{"__proto__":"x",').replace(/,\}$/, "}"))
    : node;

/** As the webhook receives it: parsed from JSON (fast-check's records have no prototype). */
const asReceived = <T>(shape: fc.Arbitrary<T>) => shape.map((value) => JSON.parse(JSON.stringify(value)) as T);

const damaged = <T>(shape: fc.Arbitrary<T>) =>
  fc
    .tuple(
      shape,
      fc.nat({ max: 40 }),
      fc.constantFrom<(node: unknown) => unknown>(
        () => null,
        withProtoKey,
        () => 7,
      ),
    )
    .map(([value, pick, replacement]) => replaceNode(value, pick, replacement));

t.test("a NetworkPolicy: the same answer as zod, and the input itself when it has the shape", async (t) => {
  let same = 0;
  fc.assert(
    fc.property(fc.oneof(asReceived(networkPolicyShape), damaged(networkPolicyShape)), (policy) => {
      const fast = assertSameAsZod(NetworkPolicySchema, policy);
      if (fast.data === policy) same++;
    }),
    { numRuns: RUNS },
  );
  t.ok(same > RUNS / 4, `${same} of ${RUNS} returned as is`);
});

t.test("every kind netfence parses, on arbitrary JSON: the same answer as zod", async (t) => {
  for (const [schema, kind] of [
    [NetworkPolicySchema, "NetworkPolicy"],
    [ServiceSchema, "Service"],
    [ConfigMapSchema, "ConfigMap"],
    [NamespaceSchema, "Namespace"],
  ] as const) {
    fc.assert(
      fc.property(
        fc.oneof(anyJson, asReceived(looseObject(kind)), damaged(looseObject(kind)), looseObject(kind)),
        (value) => {
          assertSameAsZod(schema, value);
        },
      ),
      { numRuns: RUNS },
    );
  }
  t.pass();
});

t.test("a valid policy comes back as the same object; one zod would change is zod's copy", async (t) => {
  const policy = { kind: "NetworkPolicy", spec: { podSelector: {}, ingress: [{ from: [{ podSelector: {} }] }] } };
  t.equal(zeroCopyParser(NetworkPolicySchema)(policy).data, policy);
  const withNull = { kind: "NetworkPolicy", spec: { podSelector: {}, ingress: null } };
  const parsed = zeroCopyParser(NetworkPolicySchema)(withNull);
  t.not(parsed.data, withNull);
  t.same(parsed.data, { kind: "NetworkPolicy", spec: { podSelector: {}, ingress: undefined } });
  const protoKey = JSON.parse('{"spec":{"podSelector":{"matchLabels":{"__proto__":"x","a":"b"}}}}');
  t.same(zeroCopyParser(NetworkPolicySchema)(protoKey).data, { spec: { podSelector: { matchLabels: { a: "b" } } } });
});

t.test("schema types it does not compile are asked of zod, and never returned as is when zod copies", async (t) => {
  const cases: [z.ZodType, unknown][] = [
    [z.object({ a: z.string().min(2) }), { a: "x" }],
    [z.object({ a: z.string().min(2) }), { a: "xy" }],
    [z.object({ a: z.string().default("d") }), {}],
    [z.object({ a: z.tuple([z.string()]) }), { a: ["x"] }],
    [z.strictObject({ a: z.string() }), { a: "x", b: 1 }],
    [z.object({ a: z.string().transform((s) => s.toUpperCase()) }), { a: "x" }],
    [z.union([z.string().transform((s) => `${s}!`), z.string()]), "x"],
    [z.union([z.number().int(), z.string()]), 1.5],
    [z.union([z.number().int(), z.string()]), "http"],
    [z.union([z.number().int(), z.string()]), 80],
    [z.number().int(), 2 ** 60],
    [z.number().int(), -0],
    [z.object({ n: z.number() }), { n: Number.NaN }],
    [z.array(z.string()).min(1), []],
    [z.record(z.string().min(2), z.string()), { a: "b" }],
    [z.object({ a: z.string().nullish() }), { a: null }],
    [z.literal("v1"), "v1"],
    [z.enum(["CREATE"]), "DELETE"],
  ];
  for (const [schema, value] of cases) assertSameAsZod(schema, value);
  t.pass();
});
