// The configuration: one zod schema, defaults embedded, read once at start from a YAML file
// (`--config` or NETFENCE_CONFIG) with environment overrides on top. A bad config lists every
// problem with its path and stops the process.
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { parseCidr, type Cidr } from "./rules/cidr.ts";
import { isNamespaceName } from "./rules/label-syntax.ts";
import { RULES, ruleActionsSchema } from "./rules/registry.ts";
import { UserError } from "./user-error.ts";

export const namespaceName = z
  .string()
  .refine(isNamespaceName, { error: "must be a namespace name (a DNS-1123 label)" });

export const cidr = z.string().transform((text, ctx): Cidr => {
  const parsed = parseCidr(text);
  if (!parsed.ok) ctx.addIssue({ code: "custom", message: `\`${text}\` is not a valid CIDR: ${parsed.reason}` });
  else if (parsed.hostBitsSet)
    ctx.addIssue({ code: "custom", message: `\`${text}\` has host bits set; write \`${parsed.cidr.network}\`` });
  else return parsed.cidr;
  return z.NEVER;
});

/** The `rules:` map, exported so that the chart's JSON Schema can say what zod checks in code. */
export const ruleActions = ruleActionsSchema(RULES);

export const ConfigSchema = z.strictObject({
  listen: z
    .strictObject({
      host: z.string().min(1).default("127.0.0.1"),
      port: z.number().int().min(0).max(65535).default(8443),
    })
    .prefault({}),
  tls: z
    .strictObject({
      certFile: z.string().min(1),
      keyFile: z.string().min(1),
      /** How often the files are checked for a rotated certificate. */
      reloadIntervalSeconds: z.number().positive().default(10),
    })
    .optional(),
  /** Where `serve` writes a dev CA and serving certificate when `tls` is not set. */
  devCertDir: z.string().min(1).default("certs/dev"),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  bodyLimitBytes: z
    .number()
    .int()
    .positive()
    .default(3 * 1024 * 1024),
  allowedIngressNamespaces: z.array(namespaceName).default([]),
  isolatedNamespaces: z.array(namespaceName).default([]),
  podCIDRs: z.array(cidr).default([]),
  services: z.strictObject({ emptySelector: z.enum(["isolated", "all", "off"]).default("isolated") }).prefault({}),
  rules: ruleActions.default({}),
  reconcile: z.boolean().default(true),
  /** How often the reconciler re-checks every namespace, catching up on anything it missed. */
  resyncSeconds: z.number().positive().default(300),
  /** At most this many NetworkPolicy writes per second by the reconciler (a config change re-injects everywhere). */
  reconcileWritesPerSecond: z.number().positive().default(10),
  /** Only the holder of a coordination.k8s.io Lease reconciles; every replica serves admission. */
  leaderElection: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** The Lease's namespace; default: the namespace netfence runs in (`default` outside a cluster). */
      namespace: namespaceName.optional(),
      leaseName: z
        .string()
        .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { error: "must be a DNS subdomain name" })
        .default("netfence"),
      /** How long the others wait, after the last renewal they saw, before taking the Lease over. */
      leaseDurationSeconds: z.number().positive().default(15),
      /** A leader that could not renew for this long stops reconciling (less than leaseDurationSeconds). */
      renewDeadlineSeconds: z.number().positive().default(10),
      /** How often the leader renews and the others try to acquire. */
      retryPeriodSeconds: z.number().positive().default(2),
    })
    .refine((election) => election.renewDeadlineSeconds < election.leaseDurationSeconds, {
      error: "renewDeadlineSeconds must be less than leaseDurationSeconds",
      path: ["renewDeadlineSeconds"],
    })
    .prefault({}),
  /**
   * Impact warnings (NP050-NP052) and the isolation preview: the webhook keeps every Pod as a compact
   * record (list+watch) and tells what a NetworkPolicy change cuts off or opens. Off: no pod watch.
   */
  impact: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Past this, a request is answered without impact, with an NP052 warning. */
      deadlineMs: z.number().positive().default(100),
    })
    .prefault({}),
  /** /readyz fails when the namespace cache has not heard from the API server for this long. */
  cacheStaleAfterSeconds: z.number().positive().default(300),
  /** How long SIGTERM waits for in-flight requests before closing connections. */
  shutdownGraceSeconds: z.number().positive().default(20),
});

export type Config = z.output<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

export class ConfigError extends UserError {
  override name = "ConfigError";
  readonly problems: string[];
  constructor(source: string, problems: string[]) {
    super(`invalid configuration (${source}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.problems = problems;
  }
}

const VALUE_SHOWN_CHARS = 80;

/** The value at a path of the input, if there is one. */
function valueAt(input: unknown, path: readonly PropertyKey[]): { value: unknown } | undefined {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== "object" || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return { value };
}

/** `, got VALUE` (as JSON, cut short), unless the message quotes the value already (a CIDR's does). */
function shownValue(message: string, found: { value: unknown } | undefined): string {
  if (found === undefined || message.includes(`\`${String(found.value)}\``)) return "";
  const text = JSON.stringify(found.value) ?? String(found.value);
  return `, got ${text.length <= VALUE_SHOWN_CHARS ? text : `${text.slice(0, VALUE_SHOWN_CHARS - 3)}...`}`;
}

function formatIssues(error: z.ZodError, input: unknown): string[] {
  return error.issues.map((issue) => {
    // A bad record key carries the key schema's own message one level down; the path names the key.
    const message = issue.code === "invalid_key" ? (issue.issues[0]?.message ?? issue.message) : issue.message;
    const named = issue.code === "invalid_key" || issue.code === "unrecognized_keys";
    return `${issue.path.map(String).join(".") || "(root)"}: ${message}${named ? "" : shownValue(message, valueAt(input, issue.path))}`;
  });
}

export function parseConfig(input: unknown, source = "config"): Config {
  const parsed = ConfigSchema.safeParse(input ?? {});
  if (!parsed.success) throw new ConfigError(source, formatIssues(parsed.error, input ?? {}));
  return parsed.data;
}

type Env = Readonly<Record<string, string | undefined>>;

const list = (value: string) =>
  value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
const number = (value: string) => (/^\s*-?\d+(\.\d+)?\s*$/.test(value) ? Number(value) : value);
const boolean = (value: string) => (value === "true" ? true : value === "false" ? false : value);

/** Environment variables that override single keys, for containers and quick experiments. */
const ENV_OVERRIDES: readonly { name: string; path: readonly string[]; convert: (value: string) => unknown }[] = [
  { name: "NETFENCE_LISTEN_HOST", path: ["listen", "host"], convert: String },
  { name: "NETFENCE_LISTEN_PORT", path: ["listen", "port"], convert: number },
  { name: "NETFENCE_TLS_CERT_FILE", path: ["tls", "certFile"], convert: String },
  { name: "NETFENCE_TLS_KEY_FILE", path: ["tls", "keyFile"], convert: String },
  { name: "NETFENCE_LOG_LEVEL", path: ["logLevel"], convert: String },
  { name: "NETFENCE_BODY_LIMIT_BYTES", path: ["bodyLimitBytes"], convert: number },
  { name: "NETFENCE_ALLOWED_INGRESS_NAMESPACES", path: ["allowedIngressNamespaces"], convert: list },
  { name: "NETFENCE_ISOLATED_NAMESPACES", path: ["isolatedNamespaces"], convert: list },
  { name: "NETFENCE_RECONCILE", path: ["reconcile"], convert: boolean },
];

const CONFIG_ENV = "NETFENCE_CONFIG";

function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(path, [
      `cannot read the file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    ]);
  }
  try {
    return parseYaml(text) ?? {};
  } catch (error) {
    throw new ConfigError(path, [`not valid YAML: ${(error as Error).message.split("\n")[0]}`]);
  }
}

/** Reads the file (if any), applies environment overrides, and parses the result once. */
export function loadConfig(options: { file?: string | undefined; env?: Env } = {}): Config {
  const env = options.env ?? process.env;
  const file = options.file ?? env[CONFIG_ENV];
  const raw = file !== undefined && file !== "" ? readConfigFile(file) : {};
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(file ?? "config", ["(root): must be a mapping of config keys"]);
  }
  const merged = structuredClone(raw) as Record<string, unknown>;
  for (const override of ENV_OVERRIDES) {
    const value = env[override.name];
    if (value === undefined) continue;
    let target = merged;
    for (const key of override.path.slice(0, -1)) {
      const next = target[key];
      target =
        next !== null && typeof next === "object" && !Array.isArray(next)
          ? (next as Record<string, unknown>)
          : (target[key] = {});
    }
    target[override.path.at(-1)!] = override.convert(value);
  }
  return parseConfig(merged, file ?? "defaults and environment");
}
