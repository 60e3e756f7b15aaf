// The one way netfence talks to the API server: plain JSON over HTTPS, typed at the edge with the zod
// schemas, one error type. Plain JSON because client-node's typed models rename fields (`from`
// becomes `_from`) and its serializer silently drops what it does not know, which would lose the
// peers of a server-side apply; the KubeConfig from client-node still supplies the credentials.
import { request, type RequestOptions } from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";
import { z } from "zod";

/** Every failure of a call: `status` is the HTTP status, undefined for transport and decoding errors. */
export class KubeApiError extends Error {
  override name = "KubeApiError";
  readonly status: number | undefined;
  constructor(status: number | undefined, message: string) {
    super(message);
    this.status = status;
  }
}

export const statusOf = (error: unknown): number | undefined =>
  error instanceof KubeApiError ? error.status : undefined;

export type WatchEvent<T> =
  { type: "ADDED" | "MODIFIED" | "DELETED"; object: T } | { type: "BOOKMARK"; resourceVersion: string };

export interface WatchOptions<T> {
  resourceVersion: string;
  schema: z.ZodType<T>;
  onEvent: (event: WatchEvent<T>) => void;
  signal?: AbortSignal | undefined;
  /** The server ends the watch after this long; the caller re-watches from the last resourceVersion. */
  timeoutSeconds?: number;
}

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

/** The calls netfence makes. Paths are API paths (`/api/v1/namespaces`); bodies are plain JSON. */
export interface KubeClient {
  get<T>(path: string, schema: z.ZodType<T>): Promise<T>;
  /** One page of a collection, for callers that report progress; `continue` is the next page's token. */
  listPage(
    path: string,
    options: { limit: number; continue?: string | undefined; labelSelector?: string },
  ): Promise<{
    items: unknown[];
    continue: string | undefined;
    resourceVersion: string;
    kind: string;
    apiVersion: string;
  }>;
  /** Resolves when the watch ends normally; rejects with KubeApiError (410 when the version is too old). */
  watch<T>(path: string, options: WatchOptions<T>): Promise<void>;
  create(path: string, body: unknown): Promise<unknown>;
  /** PUT: the whole object; a `metadata.resourceVersion` in it makes it conditional (409 on conflict). */
  replace<T>(path: string, body: unknown, schema: z.ZodType<T>, fieldManager: string): Promise<T>;
  /** Server-side apply; `created` is true when the object did not exist (HTTP 201). */
  apply(path: string, body: unknown, fieldManager: string): Promise<{ created: boolean }>;
  /** JSON merge patch; a `metadata.resourceVersion` in the patch makes it conditional (409 on conflict). */
  mergePatch(path: string, patch: unknown, fieldManager: string): Promise<void>;
  delete(path: string): Promise<void>;
}

const ListSchema = z
  .object({
    apiVersion: z.string().optional(),
    kind: z.string().optional(),
    metadata: z.object({ resourceVersion: z.string().optional(), continue: z.string().optional() }).loose().optional(),
    items: z.array(z.unknown()).nullish(),
  })
  .loose();

const WatchLineSchema = z.object({ type: z.string(), object: z.unknown() }).loose();
const StatusSchema = z
  .object({
    code: z.number().optional(),
    message: z.string().optional(),
    metadata: z.object({ resourceVersion: z.string().optional() }).loose().optional(),
  })
  .loose();

/** Every item of a collection with its resourceVersion, page by page, each item checked by `schema`. */
export async function listAll<T>(
  client: KubeClient,
  path: string,
  schema: z.ZodType<T>,
  options: { labelSelector?: string; pageSize?: number } = {},
): Promise<ListResult<T>> {
  const items: T[] = [];
  const resourceVersion = await listEach(client, path, schema, (item) => items.push(item), options);
  return { items, resourceVersion };
}

/**
 * Each item of a collection handed to `each` as its page arrives; returns the list's resourceVersion.
 * For caches that keep a compact record of each object: only the records outlive their page, so
 * listing thousands of large objects never holds them all at once.
 */
export async function listEach<T>(
  client: KubeClient,
  path: string,
  schema: z.ZodType<T>,
  each: (item: T) => void,
  options: { labelSelector?: string; pageSize?: number } = {},
): Promise<string> {
  let token: string | undefined;
  let resourceVersion = "";
  do {
    const page = await client.listPage(path, {
      limit: options.pageSize ?? 500,
      continue: token,
      ...(options.labelSelector ? { labelSelector: options.labelSelector } : {}),
    });
    for (const item of page.items) each(decode(schema, item, `${path} item`));
    // The list's resourceVersion is the one of its first page: the watch starts there.
    if (token === undefined) resourceVersion = page.resourceVersion;
    token = page.continue;
  } while (token);
  return resourceVersion;
}

/**
 * A collection's items page by page (limit/continue, so thousands of objects stay bounded per
 * request), each with the apiVersion and kind that items of a list do not carry: for the commands
 * that hand live objects to the same code as manifests (`audit`, `explain`).
 */
export async function* objectPages(client: KubeClient, path: string, pageSize: number): AsyncGenerator<object[]> {
  let token: string | undefined;
  do {
    const page = await client.listPage(path, { limit: pageSize, continue: token });
    const kind = page.kind.replace(/List$/, "");
    yield page.items.map((item) => ({ ...(item as object), apiVersion: page.apiVersion, kind }));
    token = page.continue;
  } while (token);
}

export function decode<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KubeApiError(
      undefined,
      `${what}: unexpected shape at ${issue?.path.join(".") || "(root)"}: ${issue?.message}`,
    );
  }
  return parsed.data;
}

type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

/** The KubeClient over HTTPS with the credentials of a KubeConfig. */
export function httpKubeClient(config: KubeConfig): KubeClient {
  async function open(method: Method, path: string, headers: Record<string, string>, signal?: AbortSignal) {
    const server = config.getCurrentCluster()?.server;
    if (server === undefined) throw new KubeApiError(undefined, "the kubeconfig has no current cluster");
    const url = new URL(path, server);
    const options: RequestOptions = {
      method,
      headers: { accept: "application/json", ...headers },
      ...(signal ? { signal } : {}),
    };
    await config.applyToHTTPSOptions(options);
    return { url, options };
  }

  async function call(
    method: Method,
    path: string,
    body?: unknown,
    contentType = "application/json",
  ): Promise<{ status: number; json: unknown }> {
    const { url, options } = await open(method, path, body === undefined ? {} : { "content-type": contentType });
    const where = `${method} ${url.pathname}`;
    return new Promise((resolve, reject) => {
      const req = request(url, options, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", (error) => reject(new KubeApiError(undefined, `${where}: ${error.message}`)));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const status = res.statusCode ?? 0;
          let json: unknown;
          try {
            json = text === "" ? undefined : JSON.parse(text);
          } catch (error) {
            reject(
              new KubeApiError(
                status >= 400 ? status : undefined,
                `${where}: ${status}, not JSON (${(error as Error).message})`,
              ),
            );
            return;
          }
          if (status >= 400) {
            const message = StatusSchema.safeParse(json).data?.message ?? text.slice(0, 200);
            reject(new KubeApiError(status, `${where}: ${status} ${message}`));
            return;
          }
          resolve({ status, json });
        });
      });
      req.on("error", (error) => reject(new KubeApiError(undefined, `${where}: ${error.message}`)));
      req.setTimeout(30_000, () => req.destroy(new Error("timed out")));
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  return {
    async get(path, schema) {
      return decode(schema, (await call("GET", path)).json, `GET ${path}`);
    },
    async listPage(path, { limit, continue: token, labelSelector }) {
      const query = new URLSearchParams({ limit: String(limit) });
      if (token) query.set("continue", token);
      if (labelSelector) query.set("labelSelector", labelSelector);
      const page = decode(ListSchema, (await call("GET", `${path}?${query}`)).json, `GET ${path}`);
      return {
        items: page.items ?? [],
        continue: page.metadata?.continue || undefined,
        resourceVersion: page.metadata?.resourceVersion ?? "",
        kind: String(page.kind ?? ""),
        apiVersion: String(page.apiVersion ?? ""),
      };
    },
    async watch(path, { resourceVersion, schema, onEvent, signal, timeoutSeconds = 300 }) {
      const query = new URLSearchParams({
        watch: "1",
        resourceVersion,
        allowWatchBookmarks: "true",
        timeoutSeconds: String(timeoutSeconds),
      });
      const { url, options } = await open("GET", `${path}?${query}`, {}, signal);
      const where = `watch ${url.pathname}`;
      await new Promise<void>((resolve, reject) => {
        const fail = (error: KubeApiError) => {
          req.destroy();
          reject(error);
        };
        const req = request(url, options, (res) => {
          const status = res.statusCode ?? 0;
          let buffered = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            buffered += chunk;
            let newline: number;
            while ((newline = buffered.indexOf("\n")) >= 0) {
              const line = buffered.slice(0, newline);
              buffered = buffered.slice(newline + 1);
              if (line.trim() === "") continue;
              try {
                if (status >= 400)
                  throw new KubeApiError(
                    status,
                    `${where}: ${status} ${StatusSchema.safeParse(JSON.parse(line)).data?.message ?? ""}`,
                  );
                const event = decode(WatchLineSchema, JSON.parse(line), where);
                if (event.type === "ERROR") {
                  const code = StatusSchema.safeParse(event.object).data?.code;
                  throw new KubeApiError(
                    code,
                    `${where}: ${code} ${StatusSchema.safeParse(event.object).data?.message ?? ""}`,
                  );
                }
                if (event.type === "BOOKMARK") {
                  const version = StatusSchema.safeParse(event.object).data?.metadata?.resourceVersion;
                  if (version !== undefined) onEvent({ type: "BOOKMARK", resourceVersion: version });
                } else if (event.type === "ADDED" || event.type === "MODIFIED" || event.type === "DELETED") {
                  onEvent({ type: event.type, object: decode(schema, event.object, where) });
                }
              } catch (error) {
                fail(
                  error instanceof KubeApiError
                    ? error
                    : new KubeApiError(undefined, `${where}: ${(error as Error).message}`),
                );
                return;
              }
            }
          });
          res.on("end", () => (status >= 400 ? reject(new KubeApiError(status, `${where}: ${status}`)) : resolve()));
          res.on("error", (error) => reject(new KubeApiError(undefined, `${where}: ${error.message}`)));
        });
        req.on("error", (error) =>
          reject(
            signal?.aborted
              ? new KubeApiError(undefined, `${where}: stopped`)
              : new KubeApiError(undefined, `${where}: ${error.message}`),
          ),
        );
        // A watch that hears nothing (not even a bookmark) for longer than its own timeout is a dead connection.
        req.setTimeout((timeoutSeconds + 30) * 1000, () => req.destroy(new Error("no data")));
        req.end();
      });
    },
    async create(path, body) {
      return (await call("POST", path, body)).json;
    },
    async replace(path, body, schema, fieldManager) {
      return decode(
        schema,
        (await call("PUT", `${path}?${new URLSearchParams({ fieldManager })}`, body)).json,
        `PUT ${path}`,
      );
    },
    async apply(path, body, fieldManager) {
      const query = new URLSearchParams({ fieldManager, force: "true" });
      const { status } = await call("PATCH", `${path}?${query}`, body, "application/apply-patch+yaml");
      return { created: status === 201 };
    },
    async mergePatch(path, patch, fieldManager) {
      await call("PATCH", `${path}?${new URLSearchParams({ fieldManager })}`, patch, "application/merge-patch+json");
    },
    async delete(path) {
      await call("DELETE", path);
    },
  };
}

/** API paths, built in one place: every name is URL-encoded. */
export const paths = {
  namespaces: "/api/v1/namespaces",
  networkPolicies: "/apis/networking.k8s.io/v1/networkpolicies",
  services: "/api/v1/services",
  pods: "/api/v1/pods",
  networkPolicy: (namespace: string, name?: string) =>
    `/apis/networking.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/networkpolicies${name === undefined ? "" : `/${encodeURIComponent(name)}`}`,
  events: (namespace: string) => `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`,
  configMap: (namespace: string, name: string) =>
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps/${encodeURIComponent(name)}`,
  service: (namespace: string, name: string) =>
    `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(name)}`,
  lease: (namespace: string, name?: string) =>
    `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases${name === undefined ? "" : `/${encodeURIComponent(name)}`}`,
};
