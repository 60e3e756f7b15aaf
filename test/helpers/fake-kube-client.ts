// An in-memory API server behind netfence's own KubeClient interface, for unit tests of the caches,
// the reconciler and leader election. It keeps objects by their API path, numbers every write with
// a resourceVersion, streams watch events, honours resourceVersion preconditions (409) and can be
// taken down (every call fails as if the connection were refused) and brought back.
import { decode, KubeApiError, type KubeClient, type WatchOptions } from "../../src/kube/client.ts";

type Json = Record<string, any>;

interface Watcher {
  path: string;
  onEvent: (type: "ADDED" | "MODIFIED" | "DELETED", object: Json) => void;
  end: (error?: KubeApiError) => void;
}

export interface Call {
  method: "get" | "list" | "watch" | "create" | "replace" | "apply" | "mergePatch" | "delete";
  path: string;
  body?: unknown;
  at: number;
}

/** Is the object at `objectPath` a member of the collection at `listPath` (namespaced or cluster-wide)? */
function inCollection(objectPath: string, listPath: string): boolean {
  if (objectPath.startsWith(`${listPath}/`) && !objectPath.slice(listPath.length + 1).includes("/")) return true;
  const resource = listPath.slice(listPath.lastIndexOf("/") + 1);
  const prefix = listPath.slice(0, listPath.lastIndexOf("/"));
  return new RegExp(`^${prefix.replaceAll(".", "\\.")}/namespaces/[^/]+/${resource}/[^/]+$`).test(objectPath);
}

function deepMerge(target: any, source: any): any {
  if (source === null || typeof source !== "object" || Array.isArray(source)) return source;
  const result: Json = target !== null && typeof target === "object" && !Array.isArray(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(source)) result[key] = deepMerge(result[key], value);
  return result;
}

/** RFC 7386 JSON merge patch, as the API server applies `application/merge-patch+json`. */
export function mergePatch(target: any, patch: any): any {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const result: Json = target !== null && typeof target === "object" && !Array.isArray(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

export class FakeKubeClient implements KubeClient {
  readonly objects = new Map<string, Json>();
  readonly calls: Call[] = [];
  private version = 1;
  private readonly watchers = new Set<Watcher>();
  private down = false;
  private generated = 0;

  /** Every call fails (and open watches end with an error) until `up()`. */
  takeDown(): void {
    this.down = true;
    for (const watcher of this.watchers) watcher.end(new KubeApiError(undefined, "connect ECONNREFUSED"));
  }

  up(): void {
    this.down = false;
  }

  /** Ends every open watch with 410 Gone, as after an etcd compaction. */
  expireWatches(): void {
    for (const watcher of this.watchers) watcher.end(new KubeApiError(410, "too old resource version"));
  }

  /** Stores an object as a user would (no precondition), notifying watches. */
  put(path: string, object: Json): Json {
    const existed = this.objects.has(path);
    const stored = structuredClone(object);
    stored.metadata = { ...stored.metadata, resourceVersion: String(++this.version) };
    this.objects.set(path, stored);
    this.notify(path, existed ? "MODIFIED" : "ADDED", stored);
    return stored;
  }

  remove(path: string): boolean {
    const object = this.objects.get(path);
    if (object === undefined) return false;
    this.objects.delete(path);
    this.notify(path, "DELETED", {
      ...object,
      metadata: { ...object.metadata, resourceVersion: String(++this.version) },
    });
    return true;
  }

  callsOf(method: Call["method"]): Call[] {
    return this.calls.filter((call) => call.method === method);
  }

  private notify(path: string, type: "ADDED" | "MODIFIED" | "DELETED", object: Json) {
    for (const watcher of this.watchers)
      if (inCollection(path, watcher.path)) watcher.onEvent(type, structuredClone(object));
  }

  private record(method: Call["method"], path: string, body?: unknown) {
    this.calls.push({ method, path, ...(body === undefined ? {} : { body: structuredClone(body) }), at: Date.now() });
    if (this.down) throw new KubeApiError(undefined, `${method} ${path}: connect ECONNREFUSED`);
  }

  private existing(path: string): Json {
    const object = this.objects.get(path);
    if (object === undefined) throw new KubeApiError(404, `${path}: 404 not found`);
    return object;
  }

  private checkVersion(path: string, wanted: unknown) {
    const current = this.existing(path).metadata?.resourceVersion;
    if (wanted !== undefined && wanted !== current)
      throw new KubeApiError(409, `${path}: 409 the object has been modified`);
  }

  async get<T>(path: string, schema: import("zod").ZodType<T>): Promise<T> {
    this.record("get", path);
    return decode(schema, structuredClone(this.existing(path)), path);
  }

  async listPage(path: string, options: { limit: number; continue?: string | undefined }) {
    this.record("list", path);
    const all = [...this.objects]
      .filter(([objectPath]) => inCollection(objectPath, path))
      .map(([, object]) => structuredClone(object));
    const start = Number(options.continue ?? 0);
    const next = start + options.limit;
    return {
      items: all.slice(start, next),
      continue: next < all.length ? String(next) : undefined,
      resourceVersion: String(this.version),
      kind: "List",
      apiVersion: "v1",
    };
  }

  watch<T>(path: string, options: WatchOptions<T>): Promise<void> {
    this.record("watch", path);
    return new Promise((resolve, reject) => {
      const watcher: Watcher = {
        path,
        onEvent: (type, object) => options.onEvent({ type, object: decode(options.schema, object, path) }),
        end: (error) => {
          this.watchers.delete(watcher);
          if (error) reject(error);
          else resolve();
        },
      };
      this.watchers.add(watcher);
      options.signal?.addEventListener("abort", () => watcher.end(new KubeApiError(undefined, "stopped")), {
        once: true,
      });
    });
  }

  async create(path: string, body: unknown): Promise<unknown> {
    this.record("create", path, body);
    const object = body as Json;
    let name = object.metadata?.name;
    while (name === undefined || (object.metadata?.name === undefined && this.objects.has(`${path}/${name}`)))
      name = `${object.metadata?.generateName ?? ""}${++this.generated}`;
    const objectPath = `${path}/${name}`;
    if (this.objects.has(objectPath)) throw new KubeApiError(409, `${objectPath}: 409 already exists`);
    return structuredClone(this.put(objectPath, { ...object, metadata: { ...object.metadata, name } }));
  }

  async replace<T>(path: string, body: unknown, schema: import("zod").ZodType<T>, _fieldManager: string): Promise<T> {
    this.record("replace", path, body);
    this.checkVersion(path, (body as Json).metadata?.resourceVersion);
    return decode(schema, structuredClone(this.put(path, body as Json)), path);
  }

  async apply(path: string, body: unknown): Promise<{ created: boolean }> {
    this.record("apply", path, body);
    const created = !this.objects.has(path);
    // Server-side apply with force: the applied fields win, and fields another manager set stay
    // (modelled as a deep merge of maps with lists replaced whole, as NetworkPolicy's atomic lists are).
    this.put(path, deepMerge(this.objects.get(path) ?? {}, body));
    return { created };
  }

  async mergePatch(path: string, patch: unknown): Promise<void> {
    this.record("mergePatch", path, patch);
    this.checkVersion(path, (patch as Json).metadata?.resourceVersion);
    const patched = mergePatch(this.existing(path), patch);
    if (patched.metadata.annotations && Object.keys(patched.metadata.annotations).length === 0)
      delete patched.metadata.annotations;
    this.put(path, patched);
  }

  async delete(path: string): Promise<void> {
    this.record("delete", path);
    if (!this.remove(path)) throw new KubeApiError(404, `${path}: 404 not found`);
  }
}

/** Polls `check` every 5 ms until it holds (at most 2 s), for state that settles through async callbacks. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`never: ${what}`);
}
