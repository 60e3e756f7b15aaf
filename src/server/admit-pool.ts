// Large AdmissionReviews are answered by a small pool of worker threads, so that a 1.4 MB policy
// (a few hundred milliseconds of rules, seconds on a busy node) never holds the event loop: the
// probes and the small requests behind it are answered meanwhile. Piscina keeps the pool; its
// threads start with the first large request and stop with the app.
import { Piscina } from "piscina";
import type { Admission, AdmitTask } from "../admission/handle.ts";

export interface AdmitPool {
  run(task: AdmitTask): Promise<Admission>;
  close(): Promise<void>;
}

// The worker is a sibling module, named with this module's own extension: `.ts` when run from source,
// `.js` in the compiled tree the image runs (tsc rewrites import specifiers, not URLs).
const WORKER = new URL(
  `../admission/admit-worker${import.meta.url.slice(import.meta.url.lastIndexOf("."))}`,
  import.meta.url,
);

export function admitPool(options: { maxThreads: number }): AdmitPool {
  let pool: Piscina | undefined;
  return {
    run: (task) => {
      pool ??= new Piscina({
        filename: WORKER.href,
        minThreads: 0,
        maxThreads: options.maxThreads,
        idleTimeout: 60_000,
      });
      return pool.run(task) as Promise<Admission>;
    },
    close: async () => {
      await pool?.destroy();
    },
  };
}
