// The chart keeps nothing by hand that can drift: values.schema.json's `config` comes from the
// server's zod schema, descriptions and the README values table from the comments in values.yaml.
import { readFileSync } from "node:fs";
import fc from "fast-check";
import t from "tap";
import {
  CHART_FILES,
  ipv4NetworkPattern,
  renderChartDocs,
  renderValuesTable,
  valueDocs,
} from "../../scripts/chart-docs.ts";
import { parseCidr } from "../../src/rules/cidr.ts";

t.test("values.schema.json and the chart README are what `npm run chart:docs` generates", async (t) => {
  const { schema, readme } = renderChartDocs();
  t.equal(readFileSync(CHART_FILES.schema, "utf8"), schema, "values.schema.json is stale: run npm run chart:docs");
  t.equal(
    readFileSync(CHART_FILES.readme, "utf8"),
    readme,
    "charts/netfence/README.md is stale: run npm run chart:docs",
  );
});

t.test("the values table lists every value of values.yaml, nodeSelector included", async (t) => {
  const table = renderValuesTable(readFileSync(CHART_FILES.values, "utf8"));
  t.match(table, '| `nodeSelector` | `{"kubernetes.io/os":"linux"}` | Node labels the pods must run on. |');
  t.match(table, "| `config.podCIDRs` | `[]` |");
  t.notMatch(table, "| `resources.requests` |", "a section is not a row; its keys are");
  t.match(table, "| `resources.requests.cpu` | `50m` | CPU reserved for each pod. |");
});

t.test("a value without a comment is an error, not a silent gap in the docs", async (t) => {
  t.throws(() => valueDocs("# Documented.\na: 1\nb: 2\n"), { message: /`b` has no comment/ });
  t.same(
    valueDocs('# File header.\n\n# The summary.\n#\n# Details.\nsection:\n  # A nested value.\n  leaf: "x"\n').map(
      (d) => [d.path.join("."), d.summary, d.default],
    ),
    [
      ["section", "The summary.", undefined],
      ["section.leaf", "A nested value.", '"x"'],
    ],
  );
});

t.test("the IPv4 network pattern accepts exactly what the config accepts", async (t) => {
  const pattern = new RegExp(`^${ipv4NetworkPattern()}$`);
  const acceptedByConfig = (text: string) => {
    const parsed = parseCidr(text);
    return parsed.ok && !parsed.hostBitsSet && parsed.cidr.family === 4;
  };
  for (const text of [
    "10.244.0.0/16",
    "0.0.0.0/0",
    "192.168.1.1/32",
    "10.128.0.0/9",
    "10.244.0.1/16",
    "010.0.0.0/8",
    "10.0.0.0/08",
    "256.0.0.0/8",
    "10.0.0.0/33",
    "10.0.0.0",
  ]) {
    t.equal(pattern.test(text), acceptedByConfig(text), text);
  }
  const octet = fc.oneof(fc.integer({ min: 0, max: 255 }).map(String), fc.constantFrom("00", "01", "256", "300"));
  const cidrText = fc
    .tuple(octet, octet, octet, octet, fc.oneof(fc.integer({ min: 0, max: 33 }).map(String), fc.constantFrom("08", "")))
    .map(([a, b, c, d, p]) => `${a}.${b}.${c}.${d}/${p}`);
  // Networks without host bits are rare among random addresses: generate those on purpose too.
  const network = fc
    .tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 }))
    .map(([value, prefix]) => {
      const net = prefix === 0 ? 0 : (value & (0xffffffff << (32 - prefix))) >>> 0;
      return `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${prefix}`;
    });
  fc.assert(
    fc.property(fc.oneof(cidrText, network), (text) => pattern.test(text) === acceptedByConfig(text)),
    { numRuns: 3000 },
  );
});
