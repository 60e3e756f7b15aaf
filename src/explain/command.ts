// `netfence explain` and `netfence diff`: input like `lint` (files, directories, -, multi-document
// YAML, Lists) or a live cluster, the engine in between, the output formats of render.ts.
import { readFileSync } from "node:fs";
import type { Config } from "../config.ts";
import { clusterFromObjects, diffEngines, Engine, isEmptyDiff, type Protocol } from "../connectivity/index.ts";
import { InputError, readManifests } from "../manifests.ts";
import { UsageError } from "../user-error.ts";
import { liveObjects } from "./live.ts";
import { matrixView, renderDiff, renderExplanation, renderMatrix, type Context, type ExplainFormat } from "./render.ts";

export interface InputOptions {
  config: Config;
  isolatedNamespaces: string[];
  /** Namespace of objects that name none (default: `default`); for the matrix also the namespace shown. */
  namespace?: string | undefined;
}

/** The flags as commander hands them over. */
export interface ExplainFlags {
  from?: string;
  to?: string;
  port?: string;
  protocol: Protocol;
  namespace?: string;
  isolate: string[];
  config?: string;
  isolatedNamespace: string[];
  kubeconfig?: string;
  pageSize: number;
  output: ExplainFormat;
}

export interface ExplainOptions extends InputOptions {
  from?: string;
  to?: string;
  port?: string;
  protocol: Protocol;
  output: ExplainFormat;
  /** "What if": namespaces evaluated as isolated by netfence. */
  isolate: string[];
  kubeconfig?: string;
  pageSize: number;
}

const stdin = () => readFileSync(0, "utf8");

function context(objects: readonly unknown[], options: InputOptions, extraIsolated: readonly string[] = []): Context {
  const cluster = clusterFromObjects(objects, {
    defaultNamespace: options.namespace ?? "default",
    allowedIngressNamespaces: options.config.allowedIngressNamespaces,
    isolatedNamespaces: [...options.config.isolatedNamespaces, ...options.isolatedNamespaces, ...extraIsolated],
  });
  return { cluster, engine: new Engine(cluster) };
}

function parsePort(text: string): number {
  if (!/^[1-9]\d{0,4}$/.test(text) || Number(text) > 65535)
    throw new UsageError(`--port \`${text}\`: must be a port number from 1 to 65535`);
  return Number(text);
}

/** The objects of the manifests; a file that cannot be read or is no manifest fails the command (exit 2), as in lint. */
function manifestObjects(paths: string[]): unknown[] {
  const { documents, problems } = readManifests(paths, stdin);
  if (problems.length > 0) throw new InputError(problems.join("\n"));
  return documents.map((document) => document.object);
}

export async function explainCommand(paths: string[], options: ExplainOptions): Promise<number> {
  const flowFlags = [options.from, options.to, options.port].filter((v) => v !== undefined).length;
  if (flowFlags > 0 && flowFlags < 3)
    throw new UsageError("--from, --to and --port go together (one flow); leave all three out for the matrix");
  const objects: unknown[] = [];
  if (options.kubeconfig !== undefined) {
    const tty = process.stderr.isTTY === true;
    objects.push(
      ...(await liveObjects(
        options.kubeconfig,
        options.pageSize,
        (m) => tty && process.stderr.write(`\r\u001b[2K${m}`),
      )),
    );
    if (tty) process.stderr.write("\r\u001b[2K");
  }
  // Manifests given with --kubeconfig come after the cluster's objects: "what if I applied these?"
  if (paths.length > 0 || options.kubeconfig === undefined) objects.push(...manifestObjects(paths));
  const ctx = context(objects, options, options.isolate);
  if (options.from !== undefined && options.to !== undefined && options.port !== undefined) {
    if (options.output === "md" || options.output === "dot")
      throw new UsageError(`-o ${options.output} is for the matrix; one flow prints as text or json`);
    const explanation = ctx.engine.explain({
      from: options.from,
      to: options.to,
      protocol: options.protocol,
      port: parsePort(options.port),
    });
    process.stdout.write(renderExplanation(explanation, ctx, options.output));
    return 0;
  }
  process.stdout.write(renderMatrix(matrixView(ctx, options.namespace), ctx, options.output));
  return 0;
}

export interface DiffOptions extends InputOptions {
  output: "text" | "json" | "md";
}

/** Exit 0 when nothing changes, 1 when something does (like diff(1)); errors exit 2 in the CLI. */
export function diffCommand(before: string, after: string, options: DiffOptions): number {
  if (before === "-" && after === "-") throw new UsageError("only one of BEFORE and AFTER can be - (stdin)");
  const read = (path: string) => manifestObjects([path]);
  const result = diffEngines(context(read(before), options).engine, context(read(after), options).engine);
  process.stdout.write(renderDiff(result, options.output));
  return isEmptyDiff(result) ? 0 : 1;
}
