// A list+watch cache of one kind of object, kept as compact records (only what netfence reads), so
// that the admission path and the reconciler answer from memory without an API call. It lists, then
// watches from the list's resourceVersion; a watch that ends is resumed where it stopped, a watch
// whose version is too old (410) is replaced by a fresh list, and an error is retried with
// exponential backoff while the cache keeps answering and reports itself stale after a while.
import type { Logger } from "pino";
import type { Metrics } from "../metrics.ts";
import { abortableSleep } from "./abortable-sleep.ts";
import type { z } from "zod";
import { listEach, statusOf, type KubeClient } from "../kube/client.ts";

export type CacheListener<R> = (key: string, record: R | undefined, previous: R | undefined) => void;

/** What every cache of netfence is given. */
export interface CacheOptions {
  log: Logger;
  metrics: Metrics;
  staleAfterMs: number;
  backoff?: { initialMs: number; maxMs: number };
  now?: () => number;
}

export interface WatchCacheOptions<T, R> {
  /** What the cache holds, for logs and messages ("namespace", "NetworkPolicy"). */
  what: string;
  client: KubeClient;
  /** The collection path, cluster-wide (`/api/v1/namespaces`). */
  path: string;
  schema: z.ZodType<T>;
  /** The compact record of an object, or undefined for an object the cache does not keep. */
  toRecord: (object: T) => R | undefined;
  keyOf: (object: T) => string | undefined;
  log: Logger;
  staleAfterMs: number;
  backoff?: { initialMs: number; maxMs: number };
  now?: () => number;
  /** Told when the cache becomes synced (true) or loses contact with the API server (false). */
  onSyncedChange?: (synced: boolean) => void;
  onRestart?: () => void;
}

export class WatchCache<T, R> {
  private readonly records = new Map<string, R>();
  private readonly listeners: CacheListener<R>[] = [];
  private readonly syncWaiters: (() => void)[] = [];
  private synced = false;
  private disconnectedSince: number | undefined;
  private abort: AbortController | undefined;
  private running: Promise<void> | undefined;
  private readonly options: WatchCacheOptions<T, R>;

  constructor(options: WatchCacheOptions<T, R>) {
    this.options = options;
  }

  private get now() {
    return (this.options.now ?? Date.now)();
  }

  start(): void {
    if (this.running !== undefined) return;
    const abort = new AbortController();
    this.abort = abort;
    this.running = this.run(abort.signal);
  }

  async stop(): Promise<void> {
    this.abort?.abort();
    await this.running;
    this.running = undefined;
  }

  onChange(listener: CacheListener<R>): void {
    this.listeners.push(listener);
  }

  get(key: string): R | undefined {
    return this.records.get(key);
  }

  values(): IterableIterator<R> {
    return this.records.values();
  }

  get size(): number {
    return this.records.size;
  }

  /** Resolves once the first list has been loaded. */
  whenSynced(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  readiness(): { ready: boolean; reason?: string } {
    if (!this.synced) return { ready: false, reason: `${this.options.what} cache has not synced yet` };
    if (this.disconnectedSince !== undefined && this.now - this.disconnectedSince > this.options.staleAfterMs) {
      return {
        ready: false,
        reason: `${this.options.what} cache stale: no contact with the API server for ${Math.round((this.now - this.disconnectedSince) / 1000)} s`,
      };
    }
    return { ready: true };
  }

  private async run(signal: AbortSignal): Promise<void> {
    const initialMs = this.options.backoff?.initialMs ?? 1000;
    let backoffMs = initialMs;
    while (!signal.aborted) {
      try {
        let version = await this.list(signal);
        backoffMs = initialMs;
        for (;;) {
          const started = this.now;
          version = await this.watch(version, signal);
          if (signal.aborted) return;
          // A server that ends every watch at once must not turn this loop into a busy one.
          if (this.now - started < 1000) await abortableSleep(1000, signal);
        }
      } catch (error) {
        if (signal.aborted) return;
        // 410 Gone: the version we watched from was compacted away; a fresh list catches up at once.
        if (statusOf(error) === 410) continue;
        this.disconnectedSince ??= this.now;
        this.options.onSyncedChange?.(false);
        this.options.onRestart?.();
        this.options.log.warn(
          { err: { message: (error as Error).message.split("\n")[0] }, retryInMs: backoffMs },
          `${this.options.what} watch failed; answering from the cache and retrying`,
        );
        await abortableSleep(backoffMs, signal);
        backoffMs = Math.min(backoffMs * 2, this.options.backoff?.maxMs ?? 30_000);
      }
    }
  }

  private async list(signal: AbortSignal): Promise<string> {
    // Records as each page arrives: a page's objects are garbage once their records are made.
    const listed = new Map<string, R>();
    const resourceVersion = await listEach(this.options.client, this.options.path, this.options.schema, (object) => {
      const key = this.options.keyOf(object);
      const record = this.options.toRecord(object);
      if (key !== undefined && record !== undefined) listed.set(key, record);
    });
    if (signal.aborted) return resourceVersion;
    for (const key of [...this.records.keys()]) if (!listed.has(key)) this.set(key, undefined);
    for (const [key, record] of listed) this.set(key, record);
    if (!this.synced) this.options.log.info({ objects: listed.size }, `${this.options.what} cache synced`);
    else if (this.disconnectedSince !== undefined)
      this.options.log.info(`${this.options.what} cache reconnected to the API server`);
    this.synced = true;
    this.disconnectedSince = undefined;
    this.options.onSyncedChange?.(true);
    for (const resolve of this.syncWaiters.splice(0)) resolve();
    return resourceVersion;
  }

  /** Watches until the server ends the watch; returns the last resourceVersion seen. */
  private async watch(from: string, signal: AbortSignal): Promise<string> {
    let version = from;
    await this.options.client.watch(this.options.path, {
      resourceVersion: from,
      schema: this.options.schema,
      signal,
      // Spread the re-watches of many replicas over time, as client-go's reflector does.
      timeoutSeconds: 240 + Math.floor(Math.random() * 120),
      onEvent: (event) => {
        if (event.type === "BOOKMARK") {
          version = event.resourceVersion;
          return;
        }
        const key = this.options.keyOf(event.object);
        if (key === undefined) return;
        version = (event.object as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion ?? version;
        this.set(key, event.type === "DELETED" ? undefined : this.options.toRecord(event.object));
      },
    });
    return version;
  }

  private set(key: string, record: R | undefined) {
    const previous = this.records.get(key);
    if (record === undefined) {
      if (previous === undefined) return;
      this.records.delete(key);
    } else {
      this.records.set(key, record);
    }
    for (const listener of this.listeners) listener(key, record, previous);
  }
}
