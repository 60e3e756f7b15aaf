// Plain JSON reads from the API server. client-node's typed models rename fields (`from` becomes
// `_from`), so objects that the rule engine reads as written by users are fetched untyped.
import { request } from "node:https";
import type { KubeConfig } from "@kubernetes/client-node";

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export function getJson(config: KubeConfig, path: string): Promise<any> {
  return requestJson(config, "GET", path);
}

export function postJson(config: KubeConfig, path: string, body: unknown): Promise<any> {
  return requestJson(config, "POST", path, body);
}

async function requestJson(config: KubeConfig, method: "GET" | "POST", path: string, body?: unknown): Promise<any> {
  const server = config.getCurrentCluster()?.server;
  if (server === undefined) throw new Error("the kubeconfig has no current cluster");
  const url = new URL(path, server);
  const options: import("node:https").RequestOptions = { method, headers: { accept: "application/json", ...(body !== undefined ? { "content-type": "application/json" } : {}) } };
  await config.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = request(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        if ((res.statusCode ?? 0) >= 400) {
          let message = body;
          try {
            message = JSON.parse(body).message ?? body;
          } catch {}
          reject(new ApiError(res.statusCode ?? 0, `${method} ${url.pathname}: ${res.statusCode} ${message}`));
          return;
        }
        try {
          resolve(JSON.parse(body));
        } catch (error) {
          reject(new Error(`${method} ${url.pathname}: not JSON (${(error as Error).message})`));
        }
      });
    });
    req.on("error", reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${url.pathname}: timed out`)));
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Every item of a list, page by page (limit/continue), so thousands of objects stay bounded. */
export async function* listAll(config: KubeConfig, path: string, pageSize = 500): AsyncGenerator<unknown[]> {
  let token: string | undefined;
  do {
    const query = new URLSearchParams({ limit: String(pageSize) });
    if (token) query.set("continue", token);
    const page = await getJson(config, `${path}?${query}`);
    yield (page.items ?? []).map((item: Record<string, unknown>) => ({ ...item, apiVersion: page.apiVersion, kind: String(page.kind).replace(/List$/, "") }));
    token = page.metadata?.continue || undefined;
  } while (token);
}
