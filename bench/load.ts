// The load generator, run by bench/run.ts in a process of its own so that it never shares an event
// loop with the server it measures (forked once, one run per IPC message); standalone,
// `node bench/load.ts SPEC.json` prints one JSON result line.
//
// closed: autocannon, N keep-alive connections, each sending its next request as soon as the answer
//   to the previous one arrives: the maximum throughput. Each connection starts at a different point
//   of the mix, so that the connections do not all send the 1 MB request at the same moment.
// open: a fixed arrival rate, independent of how fast the server answers (wrk2-style open loop), on a
//   pool of keep-alive connections (node:https Agent). autocannon's `overallRate` is not used for
//   this: it gives each connection a budget of requests per second that it spends back to back at the
//   start of every second, then idles; that is bursts, not a fixed rate, and its coordinated-omission
//   correction assumes a 1 ms interval and adds synthetic samples.
import autocannon from "autocannon";
import { readFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { performance } from "node:perf_hooks";

export interface MixEntry {
  /** The request class: the fixture and the endpoint, e.g. `np-create-valid /validate`. */
  name: string;
  path: string;
  body: string;
}

export interface LoadSpec {
  mode: "closed" | "open";
  host: string;
  port: number;
  ca: string;
  /** A JSON file holding MixEntry[], cycled in order. */
  mixFile: string;
  durationSeconds: number;
  /** closed: connections; open: the most connections the pool may open. */
  connections: number;
  /** open only: requests per second. */
  rate?: number;
  /** open only: seconds at the rate before recording starts. */
  warmupSeconds?: number;
  /**
   * open only: a request not answered this long after it was sent counts as a timeout, and the run
   * waits at most this long after its last send (an overloaded server would otherwise keep it going
   * for as long as its backlog lasts). 5 s, the end-to-end harness's webhook timeoutSeconds.
   */
  timeoutSeconds?: number;
  /** Request classes reported on their own (latency only), e.g. the 1 MB object. */
  separateClasses?: string[];
}

export interface Latency {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  mode: "closed" | "open";
  seconds: number;
  responses: number;
  rps: number;
  latency: Latency;
  /** Latency of every class except `separateClasses` (these requests still queue behind the others). */
  latencyOthers: Latency;
  /** Latency of each of `separateClasses`. */
  latencySeparate: Record<string, Latency>;
  errors: { total: number; connection: number; timeouts: number; non2xx: number; badBody: number };
  /** open only: the latency counted from when the request was due rather than from when it was sent. */
  latencyFromSchedule?: Latency;
  /** open only: how late the generator sent its requests (its own timer slack), ms. */
  sendLagP99?: number;
  /** CPU the generator itself used, ms: near `seconds * 1000` means the generator, not the server, was the limit. */
  generatorCpuMs?: number;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export function summarize(samples: readonly number[]): Latency {
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    max: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
    mean: sorted.length > 0 ? sum / sorted.length : Number.NaN,
  };
}

/** A valid answer is an AdmissionReview with a response; anything else counts as an error. */
const looksLikeReview = (body: string) => body.includes('"kind":"AdmissionReview"') && body.includes('"response"');

function splitLatencies(latencies: number[], classes: string[], separate: string[]) {
  const others: number[] = [];
  const bySeparate: Record<string, number[]> = Object.fromEntries(separate.map((name) => [name, []]));
  latencies.forEach((ms, i) => {
    const name = classes[i]!;
    if (name in bySeparate) bySeparate[name]!.push(ms);
    else others.push(ms);
  });
  return {
    latencyOthers: summarize(others),
    latencySeparate: Object.fromEntries(Object.entries(bySeparate).map(([name, values]) => [name, summarize(values)])),
  };
}

async function closedLoop(spec: LoadSpec, mix: MixEntry[]): Promise<LoadResult> {
  const requests = mix.map((entry) => ({
    method: "POST" as const,
    path: entry.path,
    headers: { "content-type": "application/json", accept: "application/json" },
    body: entry.body,
    mixName: entry.name,
  }));
  let clientIndex = 0;
  const latencies: number[] = [];
  const classes: string[] = [];
  let badBody = 0;
  const instance = autocannon({
    url: `https://${spec.host}:${spec.port}`,
    connections: spec.connections,
    pipelining: 1,
    duration: spec.durationSeconds,
    timeout: 10,
    requests,
    // Connection i starts at entry i * (mix length / connections) of the same cycle.
    setupClient(client: autocannon.Client & { setRequests?: (r: unknown[]) => void }) {
      const offset = Math.floor((clientIndex++ * requests.length) / spec.connections) % requests.length;
      client.setRequests?.([...requests.slice(offset), ...requests.slice(0, offset)]);
    },
    verifyBody: (body: string) => {
      const ok = looksLikeReview(body);
      if (!ok) badBody++;
      return ok;
    },
    tlsOptions: { ca: spec.ca },
  } as autocannon.Options);
  const started = performance.now();
  instance.on(
    "response",
    (
      client: { requestIterator?: { currentRequest?: { mixName?: string } } },
      statusCode: number,
      _bytes: number,
      ms: number,
    ) => {
      if (statusCode >= 200 && statusCode < 300) {
        latencies.push(ms);
        classes.push(client.requestIterator?.currentRequest?.mixName ?? "?");
      }
    },
  );
  const result = await instance;
  const seconds = (performance.now() - started) / 1000;
  const non2xx = result.non2xx;
  return {
    mode: "closed",
    seconds,
    responses: latencies.length,
    rps: latencies.length / seconds,
    latency: summarize(latencies),
    ...splitLatencies(latencies, classes, spec.separateClasses ?? []),
    errors: {
      total: result.errors + result.timeouts + non2xx + badBody,
      connection: result.errors,
      timeouts: result.timeouts,
      non2xx,
      badBody,
    },
  };
}

async function openLoop(spec: LoadSpec, mix: MixEntry[]): Promise<LoadResult> {
  const rate = spec.rate ?? 1000;
  const warmup = spec.warmupSeconds ?? 1;
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections, ca: spec.ca });
  const bodies = mix.map((entry) => Buffer.from(entry.body));
  const total = Math.round(rate * (warmup + spec.durationSeconds));
  const recordFrom = Math.round(rate * warmup);
  const interval = 1000 / rate;
  const latencies: number[] = [];
  const fromSchedule: number[] = [];
  const lags: number[] = [];
  const classes: string[] = [];
  const errors = { total: 0, connection: 0, timeouts: 0, non2xx: 0, badBody: 0 };
  const timeoutMs = (spec.timeoutSeconds ?? 5) * 1000;
  let closed = false;
  const pending = new Set<number>();
  let firstRecordedSend = 0;
  let lastRecordedEnd = 0;

  const send = (i: number, due: number) =>
    new Promise<void>((resolveSend) => {
      const k = i % mix.length;
      const sent = performance.now();
      const record = i >= recordFrom;
      if (record && firstRecordedSend === 0) firstRecordedSend = sent;
      if (record) pending.add(i);
      const fail = (kind: "connection" | "timeouts" | "non2xx" | "badBody") => {
        if (record && !closed && pending.delete(i)) {
          errors[kind]++;
          errors.total++;
        }
        resolveSend();
      };
      const req = request(
        {
          host: spec.host,
          port: spec.port,
          method: "POST",
          path: mix[k]!.path,
          agent,
          timeout: timeoutMs,
          headers: {
            "content-type": "application/json",
            accept: "application/json",
            "content-length": bodies[k]!.length,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const end = performance.now();
            if (res.statusCode !== 200) return fail("non2xx");
            if (!looksLikeReview(Buffer.concat(chunks).toString())) return fail("badBody");
            if (record && !closed && pending.delete(i)) {
              latencies.push(end - sent);
              fromSchedule.push(end - due);
              lags.push(sent - due);
              classes.push(mix[k]!.name);
              lastRecordedEnd = end;
            }
            resolveSend();
          });
          res.on("error", () => fail("connection"));
        },
      );
      req.on("timeout", () => {
        req.destroy(new Error("timeout"));
      });
      req.on("error", (error) => fail(error.message === "timeout" ? "timeouts" : "connection"));
      req.end(bodies[k]);
    });

  const start = performance.now() + 20;
  const inflight: Promise<void>[] = [];
  await new Promise<void>((resolveAll) => {
    let i = 0;
    const tick = () => {
      const now = performance.now();
      while (i < total && start + i * interval <= now) {
        inflight.push(send(i, start + i * interval));
        i++;
      }
      if (i < total) setTimeout(tick, Math.max(0, start + i * interval - performance.now()));
      else resolveAll();
    };
    setTimeout(tick, 20);
  });
  // Whatever is still unanswered when the last request has had its full timeout is a timeout.
  await Promise.race([Promise.all(inflight), new Promise((r) => setTimeout(r, timeoutMs + 100))]);
  closed = true;
  agent.destroy();
  errors.timeouts += pending.size;
  errors.total += pending.size;
  const seconds = (lastRecordedEnd - firstRecordedSend) / 1000;
  return {
    mode: "open",
    seconds,
    responses: latencies.length,
    rps: latencies.length / seconds,
    latency: summarize(latencies),
    ...splitLatencies(latencies, classes, spec.separateClasses ?? []),
    errors,
    latencyFromSchedule: summarize(fromSchedule),
    sendLagP99: summarize(lags).p99,
  };
}

export async function runSpec(spec: LoadSpec): Promise<LoadResult> {
  const mix = JSON.parse(readFileSync(spec.mixFile, "utf8")) as MixEntry[];
  const cpu = process.cpuUsage();
  const result = spec.mode === "closed" ? await closedLoop(spec, mix) : await openLoop(spec, mix);
  const used = process.cpuUsage(cpu);
  result.generatorCpuMs = (used.user + used.system) / 1000;
  return result;
}

if (import.meta.main) {
  if (process.send !== undefined) {
    // Forked by bench/run.ts: one process for the whole run, one spec per message.
    process.on("message", (spec: LoadSpec) => {
      runSpec(spec).then(
        (result) => process.send!({ result }),
        (error: Error) => process.send!({ error: error.stack ?? error.message }),
      );
    });
  } else {
    const spec = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as LoadSpec;
    process.stdout.write(`${JSON.stringify(await runSpec(spec))}\n`);
  }
}
