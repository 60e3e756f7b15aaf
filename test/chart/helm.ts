// Helm for the chart tests: finding a helm binary, rendering the chart, and reading the result.
// `npm test` renders with it when one is available; the end-to-end suite builds one and also installs.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { generateCertificates } from "../../src/server/certificates.ts";

export type Obj = Record<string, any>;

export const REPO = resolve(import.meta.dirname, "../..");
export const CHART = join(REPO, "charts/netfence");
export const RELEASE = "netfence";
export const NAMESPACE = "netfence";

/** A module's version as required in a go.mod, as test/e2e/build-binaries.sh reads it. */
function modVersion(goMod: string, module: string): string | undefined {
  for (const line of readFileSync(goMod, "utf8").split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] === "replace" || fields[1] === "=>") continue;
    const i = fields.indexOf(module);
    if (i >= 0 && /^v[0-9]/.test(fields[i + 1] ?? "")) return fields[i + 1];
  }
  return undefined;
}

/**
 * `$HELM`, else the helm that test/e2e/build-binaries.sh built into its cache (the same directory it
 * prints, from the same pinned versions), else undefined. Never builds anything.
 */
export function findHelm(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.HELM) return existsSync(env.HELM) ? env.HELM : undefined;
  const tools = join(REPO, "test/e2e/tools");
  const versions = [
    modVersion(join(tools, "kube/go.mod"), "k8s.io/kubernetes"),
    modVersion(join(tools, "etcd/go.mod"), "go.etcd.io/etcd/server/v3"),
    modVersion(join(tools, "helm/go.mod"), "helm.sh/helm/v3"),
  ];
  if (versions.includes(undefined)) return undefined;
  const root =
    env.NETFENCE_E2E_BIN_CACHE || join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), ".cache"), "netfence-e2e");
  const helm = join(root, versions.join("-"), "helm");
  return existsSync(helm) ? helm : undefined;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export const setArgs = (values: Record<string, string>) =>
  Object.entries(values).flatMap(([key, value]) => ["--set", `${key}=${value}`]);

export interface Rendered {
  yaml: string;
  objects: Obj[];
  /** Kinds rendered by each template file. */
  kindsBySource: Map<string, Set<string>>;
}

export interface Helm {
  run(args: string[], kubeconfig?: string): Promise<Run>;
  template(values?: Record<string, string>, extra?: string[]): Promise<Run>;
  render(values?: Record<string, string>, extra?: string[]): Promise<Rendered>;
  /** Removes helm's cache, config and data directories. */
  cleanup(): void;
}

export function helmAt(bin: string): Helm {
  // Helm's cache, config and data stay out of the user's home.
  const home = mkdtempSync(join(tmpdir(), "netfence-helm-"));
  // Asynchronous on purpose: a blocked event loop would stop draining a test cluster's log pipes.
  const run = (args: string[], kubeconfig = "/nonexistent"): Promise<Run> => {
    const child = spawn(bin, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        KUBECONFIG: kubeconfig,
        NO_PROXY: "127.0.0.1,localhost",
        HELM_CACHE_HOME: join(home, "cache"),
        HELM_CONFIG_HOME: join(home, "config"),
        HELM_DATA_HOME: join(home, "data"),
      },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    return new Promise((resolve) => child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr })));
  };
  const template = (values: Record<string, string> = {}, extra: string[] = []) =>
    run(["template", RELEASE, CHART, "--namespace", NAMESPACE, ...setArgs(values), ...extra]);
  const render = async (values: Record<string, string> = {}, extra: string[] = []): Promise<Rendered> => {
    const result = await template(values, extra);
    if (result.code !== 0) throw new Error(`helm template ${JSON.stringify(values)} failed: ${result.stderr}`);
    const objects: Obj[] = [];
    const kindsBySource = new Map<string, Set<string>>();
    for (const document of result.stdout.split(/^---$/m)) {
      const object = parseYaml(document) as Obj | null;
      if (object === null || object === undefined) continue;
      objects.push(object);
      const source = /^# Source: (.+)$/m.exec(document)?.[1] ?? "(unknown)";
      kindsBySource.set(source, (kindsBySource.get(source) ?? new Set()).add(object.kind));
    }
    return { yaml: result.stdout, objects, kindsBySource };
  };
  return { run, template, render, cleanup: () => rmSync(home, { recursive: true, force: true }) };
}

export const ofKind = (r: Rendered, kind: string) => r.objects.filter((o) => o.kind === kind);
export function one(r: Rendered, kind: string, name?: string): Obj {
  const found = ofKind(r, kind).filter((o) => name === undefined || o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ""}, found ${found.length}`);
  return found[0]!;
}
export const webhooksOf = (r: Rendered): Obj[] =>
  [...ofKind(r, "ValidatingWebhookConfiguration"), ...ofKind(r, "MutatingWebhookConfiguration")].flatMap(
    (c) => c.webhooks,
  );
export const webhook = (r: Rendered, name: string): Obj => {
  const found = webhooksOf(r).find((w) => w.name === name);
  if (found === undefined) throw new Error(`no webhook ${name}`);
  return found;
};

/** Kubernetes label selector semantics (matchLabels AND matchExpressions), for namespace labels. */
export function selects(selector: Obj | undefined, labels: Record<string, string>): boolean {
  if (selector === undefined) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const { key, operator, values } of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, key);
    const ok =
      operator === "In"
        ? has && values.includes(labels[key])
        : operator === "NotIn"
          ? !has || !values.includes(labels[key])
          : operator === "Exists"
            ? has
            : operator === "DoesNotExist"
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}
export const namespaceLabels = (name: string, extra: Record<string, string> = {}) => ({
  "kubernetes.io/metadata.name": name,
  ...extra,
});

// A CA bundle for the existing-Secret mode.
const existing = await generateCertificates({ dnsNames: [`${RELEASE}.${NAMESPACE}.svc`] });
export const EXISTING_CA_BUNDLE = Buffer.from(existing.caCert).toString("base64");

export const MODES: Record<string, Record<string, string>> = {
  helm: {},
  "cert-manager": { "tls.mode": "cert-manager" },
  secret: {
    "tls.mode": "secret",
    "tls.existingSecret.name": "my-netfence-tls",
    "tls.existingSecret.caBundle": EXISTING_CA_BUNDLE,
  },
};
/** Every template in every certificate mode, with the reconciler on and off. */
export const COMBINATIONS = Object.entries(MODES).flatMap(([mode, values]) =>
  [true, false].map((reconciler) => ({
    mode,
    reconciler,
    values: { ...values, "reconciler.enabled": String(reconciler) },
  })),
);
