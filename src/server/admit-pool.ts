// Large AdmissionReviews are answered by a small pool of worker threads, so that a 1.4 MB policy
// (a few hundred milliseconds of rules, seconds on a busy node) never holds the event loop: the
// probes and the small requests behind it are answered meanwhile. Piscina keeps the pool; its
// threads start with the first large request and stop with the app.
import { MessageChannel } from "node:worker_threads";
import { Piscina } from "piscina";
import { answerQuestions } from "../admission/ask-main-thread.ts";
import type { Webhook, WorkerAnswer, WorkerOutcome, WorkerQuestion } from "../admission/handle.ts";
import type { RuleActions } from "../rules/registry.ts";

export interface AdmitPool {
  /** Decides `body` in a worker thread; `answer` is called on this thread with the parsed request. */
  run(
    task: { webhook: Webhook; body: Uint8Array; actions: RuleActions },
    answer: (question: WorkerQuestion) => WorkerAnswer,
  ): Promise<WorkerOutcome>;
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
    run: async (task, answer) => {
      pool ??= new Piscina({
        filename: WORKER.href,
        minThreads: 0,
        maxThreads: options.maxThreads,
        idleTimeout: 60_000,
      });
      const { port1, port2 } = new MessageChannel();
      const answered = new Int32Array(new SharedArrayBuffer(4));
      answerQuestions(port1, answered, answer);
      try {
        return (await pool.run(
          { ...task, channel: { port: port2, answered } },
          { transferList: [port2] },
        )) as WorkerOutcome;
      } finally {
        port1.close();
      }
    },
    close: async () => {
      await pool?.destroy();
    },
  };
}
