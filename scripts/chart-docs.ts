// Generates what the chart must not keep by hand: the `config` part of values.schema.json from the
// server's own zod schema (so that `helm upgrade` refuses what netfence would refuse at start), the
// description of every value in values.schema.json, and the values table of the chart README, both
// from the comments in values.yaml. `npm run chart:docs` writes the files; test/chart/docs.test.ts
// fails when they drift.
import { readFileSync, writeFileSync } from "node:fs";
import { LineCounter, isMap, isScalar, parseDocument, type Node, type YAMLMap } from "yaml";
import { z } from "zod";
import { ConfigSchema, cidr, namespaceName, ruleActions } from "../src/config.ts";
import { RULES } from "../src/rules/registry.ts";

const CHART = new URL("../charts/netfence/", import.meta.url);
export const CHART_FILES = {
  values: new URL("values.yaml", CHART),
  schema: new URL("values.schema.json", CHART),
  readme: new URL("README.md", CHART),
};

type JsonSchema = Record<string, unknown> & { properties?: Record<string, JsonSchema> };

const IPV4_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";

/**
 * IPv4 networks exactly as parseCidr accepts them for the config: decimal octets without leading
 * zeros, a prefix length without one, and no host bits set (per prefix length, the octet the prefix
 * ends in may only take the multiples of its block size, and the octets after it are 0).
 */
export function ipv4NetworkPattern(): string {
  const branches: string[] = [];
  for (let prefix = 0; prefix <= 32; prefix++) {
    const whole = Math.floor(prefix / 8);
    const step = 2 ** (8 - (prefix % 8));
    const octets = [0, 1, 2, 3].map((i) => {
      if (i < whole) return IPV4_OCTET;
      if (i > whole || step === 256) return "0";
      return `(?:${Array.from({ length: 256 / step }, (_, k) => k * step).join("|")})`;
    });
    branches.push(`${octets.join("\\.")}/${prefix}`);
  }
  return `(?:${branches.join("|")})`;
}

/**
 * IPv6 networks: the syntax only. Whether host bits are set cannot be written as a regular expression
 * of reasonable size once `::` may stand anywhere; netfence checks it at start.
 */
const IPV6_NETWORK = "(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{0,4}|[0-9.]{7,15})/(?:12[0-8]|1[01][0-9]|[1-9]?[0-9])";

/** What JSON Schema can say of the refinements zod checks in code. */
const REFINEMENTS = new Map<unknown, JsonSchema>([
  [namespaceName, { type: "string", maxLength: 63, pattern: "^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$" }],
  [cidr, { type: "string", pattern: `^(?:${ipv4NetworkPattern()}|${IPV6_NETWORK})$` }],
]);

/** Only the registry's IDs, and no `deny` for a rule that never denies (as ruleActionsSchema refuses). */
function rulesJsonSchema(): JsonSchema {
  const warnAtMost = RULES.rules.filter((rule) => rule.maxAction === "warn");
  return {
    propertyNames: { enum: [...RULES.ids] },
    properties: Object.fromEntries(warnAtMost.map((rule) => [rule.id, { enum: ["warn", "off"] }])),
  };
}

/** The JSON Schema of the server's config, as Helm reads it (draft-07, input side, no defaults). */
export function configJsonSchema(): JsonSchema {
  const schema = z.toJSONSchema(ConfigSchema, {
    target: "draft-7",
    io: "input",
    unrepresentable: "throw",
    override: (ctx) => {
      const refined = REFINEMENTS.get(ctx.zodSchema);
      if (refined !== undefined) Object.assign(ctx.jsonSchema, refined);
      if ((ctx.zodSchema as unknown) === ruleActions) Object.assign(ctx.jsonSchema, rulesJsonSchema());
    },
  }) as JsonSchema;
  // The chart's defaults live in values.yaml, and may differ from the server's.
  return JSON.parse(
    JSON.stringify(schema, (key, value: unknown) => (key === "default" || key === "$schema" ? undefined : value)),
  ) as JsonSchema;
}

/** Chart values that are config keys under another name (see netfence.config in _helpers.tpl). */
const CONFIG_KEYS_ELSEWHERE: Record<string, string[]> = {
  "server.listenHost": ["listen", "host"],
  "reconciler.resyncSeconds": ["resyncSeconds"],
  "tls.reloadIntervalSeconds": ["tls", "reloadIntervalSeconds"],
};

interface ValueDoc {
  path: string[];
  /** The comment above the key, lines joined; the part before an empty `#` line is the summary. */
  comment: string;
  summary: string;
  /** A leaf's default as written in values.yaml; undefined for a section. */
  default: string | undefined;
}

/** Every key of values.yaml with its comment; a key without one is an error (every value is documented). */
export function valueDocs(valuesYaml: string): ValueDoc[] {
  const counter = new LineCounter();
  const document = parseDocument(valuesYaml, { lineCounter: counter });
  const lines = valuesYaml.split("\n");
  const docs: ValueDoc[] = [];
  const walk = (map: YAMLMap, path: string[]) => {
    for (const pair of map.items) {
      const key = pair.key as Node;
      const keyPath = [...path, String((key as { value?: unknown }).value)];
      const comment: string[] = [];
      for (let line = counter.linePos(key.range![0]).line - 2; line >= 0 && /^\s*#/.test(lines[line]!); line--)
        comment.unshift(lines[line]!.replace(/^\s*#\s?/, ""));
      if (comment.length === 0)
        throw new Error(`values.yaml: \`${keyPath.join(".")}\` has no comment; every value is documented`);
      const blank = comment.indexOf("");
      const summary = (blank < 0 ? comment : comment.slice(0, blank)).join(" ").trim();
      const value = pair.value as Node | null;
      // A section is a mapping of documented keys; a mapping of undocumented keys (nodeSelector) is a value.
      const section =
        isMap(value) &&
        value.items.length > 0 &&
        value.items.every((item) => hasComment(item.key as Node, counter, lines));
      docs.push({
        path: keyPath,
        comment: comment
          .filter((l) => l !== "")
          .join(" ")
          .trim(),
        summary,
        default: section ? undefined : defaultText(value, valuesYaml),
      });
      if (section) walk(value as YAMLMap, keyPath);
    }
  };
  walk(document.contents as YAMLMap, []);
  return docs;
}

function hasComment(key: Node, counter: LineCounter, lines: string[]): boolean {
  return /^\s*#/.test(lines[counter.linePos(key.range![0]).line - 2] ?? "");
}

function defaultText(value: Node | null, text: string): string {
  if (value === null) return "null";
  if (isScalar(value) || (value as { flow?: boolean }).flow === true)
    return text.slice(value.range![0], value.range![1]).trim();
  return JSON.stringify(value.toJSON());
}

const cell = (text: string) => text.replaceAll("|", "\\|");

export function renderValuesTable(valuesYaml: string): string {
  const rows = valueDocs(valuesYaml)
    .filter((doc) => doc.default !== undefined)
    .map((doc) => `| \`${doc.path.join(".")}\` | \`${cell(doc.default!)}\` | ${cell(doc.summary)} |`);
  return ["| Value | Default | Description |", "| --- | --- | --- |", ...rows].join("\n");
}

const TABLE_START = "<!-- values table: generated from values.yaml by `npm run chart:docs` -->";
const TABLE_END = "<!-- end of values table -->";

export function renderReadme(readme: string, valuesYaml: string): string {
  const start = readme.indexOf(TABLE_START);
  const end = readme.indexOf(TABLE_END);
  if (start < 0 || end < start)
    throw new Error(`charts/netfence/README.md: the markers ${TABLE_START} and ${TABLE_END} are missing`);
  return `${readme.slice(0, start + TABLE_START.length)}\n${renderValuesTable(valuesYaml)}\n${readme.slice(end)}`;
}

function at(schema: JsonSchema, path: readonly string[]): JsonSchema {
  let node = schema;
  for (const key of path) {
    const next = node.properties?.[key];
    if (next === undefined)
      throw new Error(`values.schema.json has no property \`${path.join(".")}\`; every value in values.yaml needs one`);
    node = next;
  }
  return node;
}

/** values.schema.json with its `config` from the server's schema and every description from values.yaml. */
export function renderValuesSchema(currentSchema: string, valuesYaml: string): string {
  const schema = JSON.parse(currentSchema) as JsonSchema;
  const config = configJsonSchema();
  const chartConfigKeys = new Set(
    valueDocs(valuesYaml)
      .filter((doc) => doc.path[0] === "config" && doc.path.length === 2)
      .map((doc) => doc.path[1]!),
  );
  // Only the keys the chart exposes under `config`; the others are set from other values.
  schema.properties!.config = {
    type: "object",
    additionalProperties: false,
    properties: Object.fromEntries(Object.entries(config.properties!).filter(([key]) => chartConfigKeys.has(key))),
  };
  for (const [value, configPath] of Object.entries(CONFIG_KEYS_ELSEWHERE)) {
    const path = value.split(".");
    at(schema, path.slice(0, -1)).properties![path.at(-1)!] = at(config, configPath);
  }
  for (const doc of valueDocs(valuesYaml)) {
    // Keys inside a free-form mapping (resources.requests.cpu) have no schema node of their own.
    const parent = at(schema, doc.path.slice(0, -1));
    if (parent.properties !== undefined || parent.additionalProperties === false)
      at(schema, doc.path).description = doc.comment;
  }
  return `${JSON.stringify(sortDescriptionFirst(schema), null, 2)}\n`;
}

/** `description` first in every object, so that the file reads like values.yaml. */
function sortDescriptionFirst(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortDescriptionFirst);
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value as Record<string, unknown>).map(
    ([k, v]) => [k, sortDescriptionFirst(v)] as const,
  );
  return Object.fromEntries([
    ...entries.filter(([k]) => k === "description"),
    ...entries.filter(([k]) => k !== "description"),
  ]);
}

export function renderChartDocs(): { schema: string; readme: string } {
  const values = readFileSync(CHART_FILES.values, "utf8");
  return {
    schema: renderValuesSchema(readFileSync(CHART_FILES.schema, "utf8"), values),
    readme: renderReadme(readFileSync(CHART_FILES.readme, "utf8"), values),
  };
}

if (import.meta.main) {
  const { schema, readme } = renderChartDocs();
  writeFileSync(CHART_FILES.schema, schema);
  writeFileSync(CHART_FILES.readme, readme);
}
