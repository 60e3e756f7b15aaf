// `npm run bench`: what netfence costs on the admission path, against the floor of an empty Fastify
// HTTPS handler measured in the same run on the same machine. A benchmark, not a test: it prints and
// records figures and never fails on them (it fails only when a server misbehaves).
//
// Both servers run at once, as child processes started the same way (the same node, no flags, the
// same environment): netfence as production runs it, `npm run build` then `node dist/cli.js serve
// --config <tmp>` with its real config (the image runs dist/, never src/*.ts), and
// bench/baseline-server.ts.
// The load generator is a third process (bench/load.ts, forked once). Runs alternate between the two
// servers (baseline, netfence, netfence, baseline, ...) and the report takes medians, so that the
// machine's own drift falls on both alike; throughput ratios are the median of per-round ratios.
//
//   npm run bench                       the full run (about 5 minutes, the memory-limit run included)
//   npm run bench -- --quick            one round of each, shorter: a smoke test of the benchmark
//   npm run bench -- --profile          also write V8 CPU profiles of both servers (--cpu-prof)
//   npm run bench -- --scenario closed-no-1mb   only the named scenario(s): closed-no-1mb, open-no-1mb,
//                                               closed-mix, open-mix, memory-limit (repeatable)
//   npm run bench -- --memory-seconds N         length of the memory-limit run (default 60)
//   npm run bench -- --memory-mix large         the memory-limit run on the 1 MB request alone (a flood
//                                               of large policies) instead of the mix
//
// The memory-limit run (bench/memory-cgroup.ts) starts a third server, the same production build,
// inside a memory cgroup whose limit is the chart's default `resources.limits.memory` and with the
// NODE_OPTIONS the chart gives, and drives the whole mix at it for a minute.
//   npm run bench -- --rounds N --connections N --rate N
import { execFileSync, fork, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { cpus, release, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { connect } from "node:tls";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { parse as parseYaml, stringify } from "yaml";
import { loadConfig } from "../src/config.ts";
import { generateCertificates } from "../src/server/certificates.ts";
import { largeReviewBody } from "./fixtures/large.ts";
import type { Latency, LoadResult, LoadSpec, MixEntry } from "./load.ts";
import { createMemoryCgroup, quantityBytes, type CgroupReading } from "./memory-cgroup.ts";

const BENCH = import.meta.dirname;
const REPO = resolve(BENCH, "..");
const started = performance.now();

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    profile: { type: "boolean", default: false },
    rounds: { type: "string" },
    connections: { type: "string", default: "16" },
    rate: { type: "string", default: "1000" },
    scenario: { type: "string", multiple: true },
    "memory-seconds": { type: "string" },
    "memory-mix": { type: "string", default: "mix" },
  },
});

const PLAN = args.quick
  ? { warmupSeconds: 2, closedRounds: 1, closedSeconds: 3, openRounds: 1, openSeconds: 3 }
  : { warmupSeconds: 3, closedRounds: 5, closedSeconds: 3, openRounds: 3, openSeconds: 4 };
if (args.rounds !== undefined) PLAN.closedRounds = PLAN.openRounds = Number(args.rounds);
const CONNECTIONS = Number(args.connections);
const MEMORY_SECONDS = Number(args["memory-seconds"] ?? (args.quick ? 15 : 60));
if (args["memory-mix"] !== "mix" && args["memory-mix"] !== "large")
  throw new Error(`--memory-mix is mix or large, not ${args["memory-mix"]}`);
const MEMORY_MIX = args["memory-mix"] === "large" ? "the 1 MB request alone" : "the mix";
const RATE = Number(args.rate);
const LARGE = "large-1mb /validate";

// ---------------------------------------------------------------------------------------------
// The request mix: 100 requests, cycled. NetworkPolicies go to /mutate and to /validate, as
// kube-apiserver sends them (mutating webhooks first, then validating); Services, Namespaces and the
// kube-proxy ConfigMap only to /validate (see test/e2e/harness.ts webhookConfigurations()).

type Decision = "allowed" | "denied" | "patched" | "warned";

interface MixItem {
  fixture: string;
  path: "/validate" | "/mutate";
  weight: number;
  /** What netfence must answer; the benchmark refuses to measure a server that answers otherwise. */
  expect: Decision;
  what: string;
}

const WHAT: Record<string, string> = {
  "np-create-valid": "NetworkPolicy CREATE, valid (kubectl apply: last-applied annotation)",
  "np-update-managed-fields": "NetworkPolicy UPDATE with oldObject and managedFields",
  "np-create-invalid": "NetworkPolicy CREATE, invalid: NP003, NP020, NP021",
  "np-create-isolated": "NetworkPolicy CREATE in isolated namespace bench-isolated",
  "service-create": "Service CREATE (LoadBalancer) in bench-isolated",
  "configmap-kube-proxy": "kube-system/kube-proxy ConfigMap UPDATE, masqueradeAll on (KP001)",
  "large-1mb": `NetworkPolicy CREATE, an egress allowlist of ${largeReviewBody().peers.toLocaleString("en-US")} ipBlocks`,
};

const MIX: MixItem[] = (
  [
    ["np-create-valid", "/mutate", 10, "allowed"],
    ["np-create-valid", "/validate", 10, "allowed"],
    ["np-update-managed-fields", "/mutate", 15, "allowed"],
    ["np-update-managed-fields", "/validate", 15, "allowed"],
    ["np-create-invalid", "/mutate", 5, "allowed"],
    ["np-create-invalid", "/validate", 5, "denied"],
    ["np-create-isolated", "/mutate", 8, "patched"],
    ["np-create-isolated", "/validate", 8, "allowed"],
    ["service-create", "/validate", 21, "allowed"],
    ["configmap-kube-proxy", "/validate", 2, "warned"],
    ["large-1mb", "/validate", 1, "allowed"],
  ] as const
).map(([fixture, path, weight, expect]) => ({ fixture, path, weight, expect, what: WHAT[fixture]! }));

const itemName = (item: MixItem) => `${item.fixture} ${item.path}`;

function fixtureBody(fixture: string): string {
  if (fixture === "large-1mb") return largeReviewBody().body;
  // Stored pretty-printed for reading; sent compact, as kube-apiserver sends it.
  return JSON.stringify(JSON.parse(readFileSync(join(BENCH, "fixtures", `${fixture}.json`), "utf8")));
}

/** Spreads each item evenly over the cycle (smooth weighted round robin), deterministically. */
function interleave(items: MixItem[]): MixItem[] {
  const total = items.reduce((sum, item) => sum + item.weight, 0);
  const current = items.map(() => 0);
  const out: MixItem[] = [];
  for (let n = 0; n < total; n++) {
    items.forEach((item, i) => (current[i]! += item.weight));
    let best = 0;
    current.forEach((value, i) => {
      if (value > current[best]!) best = i;
    });
    current[best]! -= total;
    out.push(items[best]!);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Processes

interface Server {
  name: "baseline" | "netfence" | "netfence-limited";
  child: ChildProcess;
  port: number;
  log: string[];
}

const NODE = process.execPath;
// The same environment for both servers: no cluster (netfence runs standalone, its real admission
// path without the namespace informer), no inherited NODE_OPTIONS.
const serverEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: "" };
  delete env.NODE_OPTIONS;
  delete env.KUBERNETES_SERVICE_HOST;
  return env;
};

/** A command line that runs `argv` inside the cgroup: a shell enters it, then becomes `argv` (same pid). */
const enterCgroup = (procsFile: string, argv: string[]) => [
  "/bin/sh",
  "-c",
  'echo $$ > "$1" && shift && exec "$@"',
  "sh",
  procsFile,
  ...argv,
];

function spawnServer(
  name: Server["name"],
  script: string,
  scriptArgs: string[],
  port: number,
  profileDir: string | undefined,
  inCgroup?: { procsFile: string; nodeOptions: string | undefined },
): Server {
  const flags =
    profileDir !== undefined
      ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`]
      : [];
  const env = serverEnv();
  if (inCgroup?.nodeOptions !== undefined) env.NODE_OPTIONS = inCgroup.nodeOptions;
  // In a cgroup: a shell enters it and then becomes node (exec keeps the pid), so that node is inside
  // the limit from its first instruction; it sizes its heap from the limit at start.
  const [command, ...commandArgs] =
    inCgroup === undefined
      ? [NODE, ...flags, script, ...scriptArgs]
      : enterCgroup(inCgroup.procsFile, [NODE, ...flags, script, ...scriptArgs]);
  const child = spawn(command!, commandArgs, { env, stdio: ["ignore", "pipe", "pipe"] });
  const log: string[] = [];
  const keep = (chunk: Buffer) => {
    log.push(chunk.toString());
    if (log.length > 50) log.shift();
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  return { name, child, port, log };
}

function httpsGet(port: number, ca: string, path: string): Promise<number> {
  return new Promise((resolveGet) => {
    const req = request({ host: "127.0.0.1", port, path, ca, agent: false }, (res) => {
      res.resume();
      resolveGet(res.statusCode ?? 0);
    });
    req.on("error", () => resolveGet(0));
    req.end();
  });
}

function httpsPost(port: number, ca: string, path: string, body: string): Promise<{ status: number; json: any }> {
  return new Promise((resolvePost, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path,
        method: "POST",
        ca,
        agent: false,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString();
          try {
            resolvePost({ status: res.statusCode ?? 0, json: JSON.parse(text) });
          } catch {
            resolvePost({ status: res.statusCode ?? 0, json: text });
          }
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function waitReady(server: Server, ca: string, path: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (server.child.exitCode !== null)
      throw new Error(`${server.name} exited (${server.child.exitCode}):\n${server.log.join("")}`);
    if ((await httpsGet(server.port, ca, path)) === 200) return;
    await sleep(100);
  }
  throw new Error(`${server.name} not ready after 30 s:\n${server.log.join("")}`);
}

async function freePort(): Promise<number> {
  const { createServer } = await import("node:net");
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolvePort(address.port) : reject(new Error("no port")),
      );
    });
  });
}

/** utime + stime of a process, all threads, in ms (USER_HZ is 100 on Linux). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function memoryMb(pid: number): { peakRssMb: number; rssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  return { peakRssMb: kb("VmHWM") / 1024, rssMb: kb("VmRSS") / 1024 };
}

async function stopServer(server: Server): Promise<void> {
  if (server.child.exitCode !== null) return;
  const exited = new Promise((r) => server.child.once("exit", r));
  server.child.kill("SIGTERM");
  await Promise.race([exited, sleep(10_000, undefined, { ref: false }).then(() => server.child.kill("SIGKILL"))]);
}

// ---------------------------------------------------------------------------------------------
// Checks before measuring: the servers negotiate the same TLS, and netfence decides as expected.

function tlsHandshake(port: number, ca: string, maxVersion?: "TLSv1.1"): Promise<string> {
  return new Promise((resolveTls) => {
    const socket = connect(
      {
        host: "127.0.0.1",
        port,
        ca,
        servername: "localhost",
        ...(maxVersion ? { maxVersion, minVersion: "TLSv1" } : {}),
      },
      () => {
        const cipher = socket.getCipher();
        resolveTls(`${socket.getProtocol()} ${cipher.standardName}`);
        socket.end();
      },
    );
    socket.on("error", (error: NodeJS.ErrnoException) => resolveTls(`refused (${error.code ?? error.message})`));
  });
}

function decisionOf(json: any): Decision | "invalid" {
  const response = json?.response;
  if (json?.kind !== "AdmissionReview" || response === undefined) return "invalid";
  if (response.allowed === false) return "denied";
  if (response.patch !== undefined) return "patched";
  if ((response.warnings ?? []).length > 0) return "warned";
  return "allowed";
}

// ---------------------------------------------------------------------------------------------
// Running the load generator

interface RunRecord {
  scenario: string;
  round: number;
  server: Server["name"];
  result: LoadResult;
  serverCpuMs: number;
  serverCpuUsPerRequest: number;
}

/** The load generator: one process for the whole run, started once. */
class Generator {
  readonly #child: ChildProcess;
  #stderr = "";
  constructor() {
    this.#child = fork(join(BENCH, "load.ts"), [], {
      env: serverEnv(),
      execArgv: [],
      stdio: ["ignore", "ignore", "pipe", "ipc"],
    });
    this.#child.stderr!.on("data", (d) => (this.#stderr = (this.#stderr + d).slice(-4000)));
  }
  run(spec: LoadSpec): Promise<LoadResult> {
    return new Promise((resolveRun, reject) => {
      const onExit = (code: number | null) => reject(new Error(`load generator exited (${code}): ${this.#stderr}`));
      this.#child.once("exit", onExit);
      this.#child.once("message", (message: { result?: LoadResult; error?: string }) => {
        this.#child.off("exit", onExit);
        if (message.result !== undefined) resolveRun(message.result);
        else reject(new Error(`load generator failed: ${message.error}`));
      });
      this.#child.send(spec);
    });
  }
  stop() {
    if (this.#child.exitCode === null) this.#child.kill("SIGTERM");
  }
}

async function runLoad(
  generator: Generator,
  server: Server,
  spec: Omit<LoadSpec, "port">,
): Promise<{ result: LoadResult; serverCpuMs: number }> {
  const pid = server.child.pid!;
  const before = cpuMs(pid);
  const result = await generator.run({ ...spec, port: server.port });
  const serverCpu = cpuMs(pid) - before;
  if (server.child.exitCode !== null) throw new Error(`${server.name} died during the run:\n${server.log.join("")}`);
  return { result, serverCpuMs: serverCpu };
}

/** Waits (at most 20 s) until the server uses under 5% of a core. */
async function waitIdle(server: Server): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last = cpuMs(server.child.pid!);
  while (Date.now() < deadline) {
    await sleep(200);
    const now = cpuMs(server.child.pid!);
    if (now - last <= 10) return;
    last = now;
  }
}

const median = (values: number[]) => {
  const sorted = [...values].filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

interface Summary {
  rps: number;
  p50: number;
  p99: number;
  p999: number;
  cpuUsPerRequest: number;
  errors: number;
  responses: number;
  p99Others: number;
  largeP50: number;
  largeP99: number;
  generatorCpuShare: number;
  sendLagP99: number;
}

function summarizeRuns(runs: RunRecord[]): Summary {
  const m = (f: (r: RunRecord) => number) => median(runs.map(f));
  return {
    rps: m((r) => r.result.rps),
    p50: m((r) => r.result.latency.p50),
    p99: m((r) => r.result.latency.p99),
    p999: m((r) => r.result.latency.p999),
    cpuUsPerRequest: m((r) => r.serverCpuUsPerRequest),
    errors: runs.reduce((sum, r) => sum + r.result.errors.total, 0),
    responses: runs.reduce((sum, r) => sum + r.result.responses, 0),
    p99Others: m((r) => r.result.latencyOthers.p99),
    largeP50: m((r) => (r.result.latencySeparate[LARGE] as Latency | undefined)?.p50 ?? Number.NaN),
    largeP99: m((r) => (r.result.latencySeparate[LARGE] as Latency | undefined)?.p99 ?? Number.NaN),
    generatorCpuShare: m((r) => (r.result.generatorCpuMs ?? Number.NaN) / (r.result.seconds * 1000)),
    sendLagP99: m((r) => r.result.sendLagP99 ?? Number.NaN),
  };
}

/** The median over rounds of netfence/baseline within a round: pairs measured seconds apart share the noise. */
function pairedRatio(runs: RunRecord[], f: (r: RunRecord) => number): { median: number; min: number; max: number } {
  const rounds = [...new Set(runs.map((r) => r.round))];
  const ratios = rounds.flatMap((round) => {
    const b = runs.find((r) => r.round === round && r.server === "baseline");
    const n = runs.find((r) => r.round === round && r.server === "netfence");
    return b && n ? [f(n) / f(b)] : [];
  });
  return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
}

// ---------------------------------------------------------------------------------------------
// The memory-limit run: the production build in a memory cgroup sized as the chart's default limit.

interface ChartMemory {
  /** `resources.limits.memory` as written in the chart, e.g. 384Mi. */
  limit: string;
  /** NODE_OPTIONS of the netfence container; undefined when the chart sets none. */
  nodeOptions: string | undefined;
  /** Where the two came from. */
  source: string;
}

/**
 * The memory limit and NODE_OPTIONS the chart gives the netfence container by default: from the
 * Deployment `helm template` renders when a helm binary is at hand (what is deployed, exactly), else
 * from values.yaml and the rule deployment.yaml applies to `heapPercentOfMemoryLimit`.
 */
async function chartMemory(): Promise<ChartMemory> {
  const { findHelm, helmAt, one } = await import("../test/chart/helm.ts");
  const bin = findHelm();
  if (bin !== undefined) {
    const helm = helmAt(bin);
    try {
      const deployment = one(await helm.render(), "Deployment");
      const container = deployment.spec.template.spec.containers.find((c: { name: string }) => c.name === "netfence");
      const env = (container.env ?? []) as { name: string; value?: string }[];
      return {
        limit: String(container.resources.limits.memory),
        nodeOptions: env.find((e) => e.name === "NODE_OPTIONS")?.value,
        source: `the Deployment rendered by helm template (${bin})`,
      };
    } finally {
      helm.cleanup();
    }
  }
  const values = parseYaml(readFileSync(join(REPO, "charts/netfence/values.yaml"), "utf8"));
  const percent = Number(values.heapPercentOfMemoryLimit ?? 0);
  return {
    limit: String(values.resources.limits.memory),
    nodeOptions: percent > 0 ? `--max-old-space-size-percentage=${percent}` : undefined,
    source: "charts/netfence/values.yaml (no helm binary found to render the chart)",
  };
}

interface MemoryLimitResult {
  skipped?: string;
  chart: ChartMemory;
  mix: string;
  cgroupVersion?: 1 | 2;
  limitBytes?: number;
  seconds?: number;
  responses?: number;
  errors?: LoadResult["errors"];
  /** The server process was alive at the end (an OOM kill ends it). */
  survived?: boolean;
  cgroup?: CgroupReading;
  /** The server process's own peak RSS (VmHWM), MB. */
  processPeakRssMb?: number;
  /** V8's heap limit inside the cgroup, as the server process reports it, MB. */
  heapLimitMb?: number;
  latencyP50?: number;
  latencyP99?: number;
  largeP50?: number;
  /** After the load, each request of the mix once more: the decisions that differed from the expected one. */
  wrongDecisions?: string[];
}

async function memoryLimitRun(options: {
  work: string;
  caCert: string;
  certFile: string;
  keyFile: string;
  mixFile: string;
  generator: Generator;
  bodies: Map<string, string>;
}): Promise<MemoryLimitResult> {
  const chart = await chartMemory();
  const limitBytes = quantityBytes(chart.limit);
  const cgroup = createMemoryCgroup(limitBytes, `netfence-bench-${process.pid}`);
  if ("skipped" in cgroup) return { skipped: cgroup.skipped, chart, mix: MEMORY_MIX };
  let server: Server | undefined;
  try {
    const port = await freePort();
    const configFile = join(options.work, "netfence-limited.yaml");
    writeFileSync(configFile, stringify({ ...netfenceConfig(options), listen: { host: "127.0.0.1", port } }));
    // The heap limit node derives inside this cgroup with the chart's NODE_OPTIONS (process.constrainedMemory
    // is what node read from the cgroup).
    const [shell, ...shellArgs] = enterCgroup(cgroup.procsFile, [
      NODE,
      "-p",
      "require('v8').getHeapStatistics().heap_size_limit",
    ]);
    const probe = execFileSync(shell!, shellArgs, {
      env: { ...serverEnv(), ...(chart.nodeOptions ? { NODE_OPTIONS: chart.nodeOptions } : {}) },
      encoding: "utf8",
    });
    server = spawnServer(
      "netfence-limited",
      join(REPO, "dist/cli.js"),
      ["serve", "--config", configFile],
      port,
      undefined,
      {
        procsFile: cgroup.procsFile,
        nodeOptions: chart.nodeOptions,
      },
    );
    await waitReady(server, options.caCert, "/readyz");
    process.stderr.write(
      `  memory-limit: netfence in a cgroup v${cgroup.version} memory cgroup of ${chart.limit}, NODE_OPTIONS=${chart.nodeOptions ?? "(none)"}, ${MEMORY_SECONDS} s of ${MEMORY_MIX}\n`,
    );
    // Not runLoad: a server the OOM killer ended is a result here, not a failure of the benchmark.
    const result = await options.generator.run({
      host: "127.0.0.1",
      port,
      ca: options.caCert,
      separateClasses: [LARGE],
      mode: "closed",
      mixFile: options.mixFile,
      durationSeconds: MEMORY_SECONDS,
      connections: CONNECTIONS,
    });
    const survived = server.child.exitCode === null && server.child.signalCode === null;
    // Still deciding as before the load (a server short of memory could answer, but wrongly).
    const wrongDecisions: string[] = [];
    if (survived)
      for (const item of MIX) {
        const answer = await httpsPost(port, options.caCert, item.path, options.bodies.get(item.fixture)!);
        const decision = answer.status === 200 ? decisionOf(answer.json) : `HTTP ${answer.status}`;
        if (decision !== item.expect) wrongDecisions.push(`${itemName(item)}: ${decision}, expected ${item.expect}`);
      }
    const processPeakRssMb = survived ? memoryMb(server.child.pid!).peakRssMb : Number.NaN;
    return {
      chart,
      mix: MEMORY_MIX,
      cgroupVersion: cgroup.version,
      limitBytes: cgroup.limitBytes,
      seconds: result.seconds,
      responses: result.responses,
      errors: result.errors,
      survived,
      cgroup: cgroup.read(),
      processPeakRssMb,
      heapLimitMb: Number(probe.trim()) / 2 ** 20,
      latencyP50: result.latency.p50,
      latencyP99: result.latency.p99,
      largeP50: (result.latencySeparate[LARGE] as Latency | undefined)?.p50 ?? Number.NaN,
      wrongDecisions,
    };
  } finally {
    if (server !== undefined) await stopServer(server);
    cgroup.remove();
  }
}

/** netfence's config for the benchmark, as an operator would write it. */
function netfenceConfig(options: { certFile: string; keyFile: string }) {
  return {
    tls: { certFile: options.certFile, keyFile: options.keyFile },
    // warn, not info: at info netfence writes one JSON line per denied or warned request (10% of the
    // mix), which a benchmark would measure as much as the decisions; the floor logs nothing at all.
    logLevel: "warn",
    isolatedNamespaces: ["bench-isolated"],
    allowedIngressNamespaces: ["monitoring"],
  };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const work = mkdtempSync(join(tmpdir(), "netfence-bench-"));
  const resultsDir = join(BENCH, "results");
  mkdirSync(resultsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const profileDir = args.profile ? join(resultsDir, `profiles-${stamp}`) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });

  // Certificates and netfence's config, as an operator would write them.
  const certs = await generateCertificates({ dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
  const certFile = join(work, "tls.crt");
  const keyFile = join(work, "tls.key");
  writeFileSync(certFile, certs.cert);
  writeFileSync(keyFile, certs.key, { mode: 0o600 });
  const [netfencePort, baselinePort] = [await freePort(), await freePort()];
  const configFile = join(work, "netfence.yaml");
  writeFileSync(
    configFile,
    stringify({ listen: { host: "127.0.0.1", port: netfencePort }, ...netfenceConfig({ certFile, keyFile }) }),
  );
  const config = loadConfig({ file: configFile, env: {} });

  // What production runs: the JavaScript tsc emits (the image's `node dist/cli.js serve`).
  process.stderr.write("building: npm run build\n");
  execFileSync("npm", ["run", "--silent", "build"], { cwd: REPO, stdio: ["ignore", "ignore", "inherit"] });

  const servers = {
    netfence: spawnServer(
      "netfence",
      join(REPO, "dist/cli.js"),
      ["serve", "--config", configFile],
      netfencePort,
      profileDir,
    ),
    baseline: spawnServer(
      "baseline",
      join(BENCH, "baseline-server.ts"),
      [
        "--cert",
        certFile,
        "--key",
        keyFile,
        "--port",
        String(baselinePort),
        "--body-limit",
        String(config.bodyLimitBytes),
      ],
      baselinePort,
      profileDir,
    ),
  };
  const all = [servers.baseline, servers.netfence];
  let generatorStop = () => {};
  const cleanup = async () => {
    generatorStop();
    await Promise.all(all.map(stopServer));
    rmSync(work, { recursive: true, force: true });
  };
  process.on("SIGINT", () => void cleanup().then(() => process.exit(130)));

  try {
    await Promise.all([
      waitReady(servers.netfence, certs.caCert, "/readyz"),
      waitReady(servers.baseline, certs.caCert, "/healthz"),
    ]);
    // Idle: started and ready, settled for a few seconds, not one request yet.
    await sleep(3000);
    const idle = { baseline: memoryMb(servers.baseline.child.pid!), netfence: memoryMb(servers.netfence.child.pid!) };

    // Same TLS on both, for the record.
    const tls: Record<string, { negotiated: string; tls11: string }> = {};
    for (const server of all) {
      tls[server.name] = {
        negotiated: await tlsHandshake(server.port, certs.caCert),
        tls11: await tlsHandshake(server.port, certs.caCert, "TLSv1.1"),
      };
    }
    if (
      tls.baseline!.negotiated !== tls.netfence!.negotiated ||
      !tls.baseline!.tls11.startsWith("refused") ||
      !tls.netfence!.tls11.startsWith("refused")
    ) {
      throw new Error(`the servers' TLS differs: ${JSON.stringify(tls)}`);
    }

    // The mix, checked against both servers before it is measured.
    const bodies = new Map(MIX.map((item) => [item.fixture, fixtureBody(item.fixture)]));
    const checks: { name: string; what: string; bytes: number; weight: number; netfence: string; baseline: string }[] =
      [];
    for (const item of MIX) {
      const body = bodies.get(item.fixture)!;
      const n = await httpsPost(netfencePort, certs.caCert, item.path, body);
      const b = await httpsPost(baselinePort, certs.caCert, item.path, body);
      const nd = n.status === 200 ? decisionOf(n.json) : `HTTP ${n.status}`;
      const bd = b.status === 200 ? decisionOf(b.json) : `HTTP ${b.status}`;
      if (nd !== item.expect)
        throw new Error(
          `netfence answered ${itemName(item)} with ${nd}, expected ${item.expect}: ${JSON.stringify(n.json).slice(0, 500)}`,
        );
      if (bd !== "allowed") throw new Error(`baseline answered ${itemName(item)} with ${bd}`);
      checks.push({
        name: itemName(item),
        what: item.what,
        bytes: Buffer.byteLength(body),
        weight: item.weight,
        netfence: nd,
        baseline: bd,
      });
    }
    const mixFull: MixEntry[] = interleave(MIX).map((item) => ({
      name: itemName(item),
      path: item.path,
      body: bodies.get(item.fixture)!,
    }));
    const mixSmall = mixFull.filter((entry) => entry.name !== LARGE);
    writeFileSync(join(work, "mix.json"), JSON.stringify(mixFull));
    writeFileSync(join(work, "mix-small.json"), JSON.stringify(mixSmall));
    writeFileSync(join(work, "mix-large.json"), JSON.stringify(mixFull.filter((entry) => entry.name === LARGE)));

    printHeader(checks, tls.netfence!.negotiated);

    const generator = new Generator();
    generatorStop = () => generator.stop();
    const common = { host: "127.0.0.1", ca: certs.caCert, separateClasses: [LARGE] };
    const closed = (mixFile: string, seconds: number): Omit<LoadSpec, "port"> => ({
      ...common,
      mode: "closed",
      mixFile,
      durationSeconds: seconds,
      connections: CONNECTIONS,
    });
    const open = (mixFile: string): Omit<LoadSpec, "port"> => ({
      ...common,
      mode: "open",
      mixFile,
      durationSeconds: PLAN.openSeconds,
      warmupSeconds: 1,
      timeoutSeconds: 5,
      rate: RATE,
      connections: 64,
    });

    // JIT and caches warm on both before anything counts.
    // The small requests first, so that memory can be read before any 1 MB object has arrived.
    for (const server of all)
      await runLoad(generator, server, closed(join(work, "mix-small.json"), PLAN.warmupSeconds));

    const records: RunRecord[] = [];
    const scenarios: { id: string; title: string; spec: Omit<LoadSpec, "port">; rounds: number }[] = [
      {
        id: "closed-no-1mb",
        title: `closed loop, ${CONNECTIONS} connections, the mix without the 1 MB object`,
        spec: closed(join(work, "mix-small.json"), PLAN.closedSeconds),
        rounds: PLAN.closedRounds,
      },
      {
        id: "open-no-1mb",
        title: `open loop, ${RATE} req/s, the mix without the 1 MB object`,
        spec: open(join(work, "mix-small.json")),
        rounds: PLAN.openRounds,
      },
      {
        id: "closed-mix",
        title: `closed loop, ${CONNECTIONS} connections, the mix`,
        spec: closed(join(work, "mix.json"), PLAN.closedSeconds),
        rounds: PLAN.closedRounds,
      },
      {
        id: "open-mix",
        title: `open loop, ${RATE} req/s, the mix`,
        spec: open(join(work, "mix.json")),
        rounds: PLAN.openRounds,
      },
    ];
    const selected = scenarios.filter((s) => args.scenario === undefined || args.scenario.includes(s.id));
    let order = 0;
    const memoryAfter: Record<string, Record<"baseline" | "netfence", { peakRssMb: number; rssMb: number }>> = {};
    for (const scenario of selected) {
      for (let round = 1; round <= scenario.rounds; round++) {
        // baseline, netfence, netfence, baseline, ...: neither is always first after a pause.
        const pair = order++ % 2 === 0 ? [servers.baseline, servers.netfence] : [servers.netfence, servers.baseline];
        for (const server of pair) {
          const { result, serverCpuMs } = await runLoad(generator, server, scenario.spec);
          // A server that fell behind is still working off its backlog: let it finish first.
          await waitIdle(server);
          records.push({
            scenario: scenario.id,
            round,
            server: server.name,
            result,
            serverCpuMs,
            serverCpuUsPerRequest: (serverCpuMs * 1000) / Math.max(1, result.responses),
          });
          process.stderr.write(
            `  ${scenario.id} round ${round} ${server.name.padEnd(8)} ${fmt(result.rps, 0).padStart(6)} req/s  p50 ${fmt(result.latency.p50, 2)}  p99 ${fmt(result.latency.p99, 2)}  p99.9 ${fmt(result.latency.p999, 2)} ms  errors ${result.errors.total}\n`,
          );
        }
      }
      memoryAfter[scenario.id] = {
        baseline: memoryMb(servers.baseline.child.pid!),
        netfence: memoryMb(servers.netfence.child.pid!),
      };
    }

    const memory = { baseline: memoryMb(servers.baseline.child.pid!), netfence: memoryMb(servers.netfence.child.pid!) };
    const memoryLimit =
      args.scenario === undefined || args.scenario.includes("memory-limit")
        ? await memoryLimitRun({
            work,
            caCert: certs.caCert,
            certFile,
            keyFile,
            mixFile: join(work, args["memory-mix"] === "large" ? "mix-large.json" : "mix.json"),
            generator,
            bodies,
          })
        : undefined;
    const report = buildReport(selected, records, { idle, memory, memoryAfter, memoryLimit }, checks, tls);
    printReport(report);

    const file = join(resultsDir, `bench-${stamp}.json`);
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(join(resultsDir, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`\nresults: ${file}\n`);
  } finally {
    await cleanup();
  }
  if (profileDir)
    process.stdout.write(
      `CPU profiles: ${profileDir} (open in Chrome DevTools or https://www.speedscope.app; summary: node bench/profile.ts FILE)\n`,
    );
  process.stdout.write(`total time: ${fmt((performance.now() - started) / 1000, 0)} s\n`);
}

// ---------------------------------------------------------------------------------------------
// Report

const fmt = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : "-");

function machine() {
  const list = cpus();
  return {
    cpu: `${list.length} x ${list[0]?.model.trim() ?? "unknown"}`,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    fastify: JSON.parse(readFileSync(join(REPO, "node_modules/fastify/package.json"), "utf8")).version as string,
  };
}

type Memory = Record<"baseline" | "netfence", { peakRssMb: number; rssMb: number }>;

function buildReport(
  scenarios: { id: string; title: string; rounds: number }[],
  records: RunRecord[],
  memories: {
    idle: Memory;
    memory: Memory;
    memoryAfter: Record<string, Memory>;
    memoryLimit: MemoryLimitResult | undefined;
  },
  checks: unknown,
  tls: unknown,
) {
  const { idle, memory, memoryAfter, memoryLimit } = memories;
  const results = Object.fromEntries(
    scenarios.map((scenario) => {
      const runs = records.filter((r) => r.scenario === scenario.id);
      const baseline = summarizeRuns(runs.filter((r) => r.server === "baseline"));
      const netfence = summarizeRuns(runs.filter((r) => r.server === "netfence"));
      const throughputRatio = pairedRatio(runs, (r) => r.result.rps);
      const cpuRatio = pairedRatio(runs, (r) => r.serverCpuUsPerRequest);
      return [
        scenario.id,
        {
          title: scenario.title,
          rounds: scenario.rounds,
          baseline,
          netfence,
          ratios: {
            throughput: throughputRatio,
            cpuPerRequest: cpuRatio,
            p50: netfence.p50 / baseline.p50,
            p99: netfence.p99 / baseline.p99,
            p999: netfence.p999 / baseline.p999,
          },
        },
      ];
    }),
  );
  // The targets of issue 17, each against the floor measured in the same run.
  const smallRatio = results["closed-no-1mb"]?.ratios.throughput.median ?? Number.NaN;
  const mixRatio = results["closed-mix"]?.ratios.throughput.median ?? Number.NaN;
  const mix = results["closed-mix"];
  const largeP50Ratio = mix === undefined ? Number.NaN : mix.netfence.largeP50 / mix.baseline.largeP50;
  const openSmall = results["open-no-1mb"];
  const openSmallP99 = openSmall?.netfence.p99 ?? Number.NaN;
  const openSmallFloorP99 = openSmall?.baseline.p99 ?? Number.NaN;
  const errors = records.reduce((sum, r) => sum + (r.server === "netfence" ? r.result.errors.total : 0), 0);
  const limitRun = memoryLimit !== undefined && memoryLimit.skipped === undefined ? memoryLimit : undefined;
  return {
    date: new Date().toISOString(),
    machine: machine(),
    command: `npm run bench${args.quick ? " -- --quick" : ""}`,
    plan: { ...PLAN, connections: CONNECTIONS, rate: RATE, openLoopConnectionPool: 64 },
    mix: checks,
    tls,
    results,
    idleMemory: idle,
    memory,
    memoryAfterScenario: memoryAfter,
    memoryLimit,
    // NaN (a scenario not run) is never met.
    targets: {
      smallMixThroughput: { target: ">= 0.85x floor", value: smallRatio, met: smallRatio >= 0.85 },
      fullMixThroughput: { target: ">= 0.60x floor", value: mixRatio, met: mixRatio >= 0.6 },
      largeP50: { target: "<= 2x floor", value: largeP50Ratio, met: largeP50Ratio <= 2 },
      openSmallP99: {
        target: `<= floor p99 + 2 ms at ${RATE} req/s`,
        value: openSmallP99,
        floor: openSmallFloorP99,
        met: openSmallP99 <= openSmallFloorP99 + 2,
      },
      memoryLimit: {
        target: "0 OOM kills, 0 errors, survives",
        skipped: memoryLimit === undefined ? "not selected" : memoryLimit.skipped,
        met:
          limitRun !== undefined &&
          limitRun.survived === true &&
          limitRun.wrongDecisions?.length === 0 &&
          limitRun.cgroup?.oomKills === 0 &&
          limitRun.errors?.total === 0,
      },
      idleRss: { target: "<= 80 MB", value: idle.netfence.rssMb, met: idle.netfence.rssMb <= 80 },
      errors: { target: "0", value: errors, met: errors === 0 },
    },
    runs: records,
    elapsedSeconds: (performance.now() - started) / 1000,
  };
}

function printHeader(
  checks: { name: string; what: string; bytes: number; weight: number; netfence: string }[],
  tls: string,
) {
  const m = machine();
  const out = process.stdout;
  out.write(
    `netfence admission benchmark: ${m.cpu}, ${m.memoryGb} GB, Linux ${m.kernel}, Node ${m.node}, Fastify ${m.fastify}\n`,
  );
  out.write(`TLS: both servers negotiate ${tls} with one ECDSA P-256 certificate and refuse TLS 1.1\n`);
  out.write(
    `mix (${checks.reduce((s, c) => s + c.weight, 0)} requests, cycled; netfence's answer checked before measuring):\n`,
  );
  for (const c of checks)
    out.write(
      `  ${String(c.weight).padStart(3)} x ${c.name.padEnd(36)} ${fmtBytes(c.bytes).padStart(8)}  ${c.netfence.padEnd(8)} ${c.what}\n`,
    );
  out.write(
    `plan: ${PLAN.closedRounds} x ${PLAN.closedSeconds} s closed-loop and ${PLAN.openRounds} x ${PLAN.openSeconds} s open-loop runs per server and scenario, alternating servers; medians\n`,
  );
}

const fmtBytes = (n: number) =>
  n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(2)} MB` : `${(n / 1024).toFixed(1)} KB`;

function printReport(report: ReturnType<typeof buildReport>) {
  const out = process.stdout;
  const row = (label: string, b: string, n: string, r: string) =>
    out.write(`  ${label.padEnd(36)}${b.padStart(10)}${n.padStart(10)}${r.padStart(16)}\n`);
  for (const [id, s] of Object.entries(report.results)) {
    out.write(`\n${s.title} (${id})\n`);
    row("", "baseline", "netfence", "netfence/base");
    const ratio = (x: number) => `${fmt(x, 2)}x`;
    row("req/s", fmt(s.baseline.rps, 0), fmt(s.netfence.rps, 0), `${ratio(s.ratios.throughput.median)}`);
    if (s.rounds > 1)
      row(
        "  (per-round ratios, min-max)",
        "",
        "",
        `${fmt(s.ratios.throughput.min, 2)}-${fmt(s.ratios.throughput.max, 2)}`,
      );
    row("latency p50 ms", fmt(s.baseline.p50, 2), fmt(s.netfence.p50, 2), ratio(s.ratios.p50));
    row("latency p99 ms", fmt(s.baseline.p99, 2), fmt(s.netfence.p99, 2), ratio(s.ratios.p99));
    row("latency p99.9 ms", fmt(s.baseline.p999, 2), fmt(s.netfence.p999, 2), ratio(s.ratios.p999));
    if (!id.endsWith("no-1mb")) {
      row(
        "p99 ms, requests other than 1 MB",
        fmt(s.baseline.p99Others, 2),
        fmt(s.netfence.p99Others, 2),
        ratio(s.netfence.p99Others / s.baseline.p99Others),
      );
      row(
        "p50 ms of the 1 MB request",
        fmt(s.baseline.largeP50, 1),
        fmt(s.netfence.largeP50, 1),
        ratio(s.netfence.largeP50 / s.baseline.largeP50),
      );
    }
    row(
      "server CPU us per request",
      fmt(s.baseline.cpuUsPerRequest, 0),
      fmt(s.netfence.cpuUsPerRequest, 0),
      ratio(s.ratios.cpuPerRequest.median),
    );
    row("errors", String(s.baseline.errors), String(s.netfence.errors), "");
    if (id.startsWith("open"))
      row("generator send lag p99 ms", fmt(s.baseline.sendLagP99, 2), fmt(s.netfence.sendLagP99, 2), "");
  }
  out.write(`\nmemory of the server process: RSS (VmRSS) and peak RSS (VmHWM)\n`);
  row(
    "idle RSS MB (ready, no request yet)",
    fmt(report.idleMemory.baseline.rssMb, 0),
    fmt(report.idleMemory.netfence.rssMb, 0),
    `${fmt(report.idleMemory.netfence.rssMb / report.idleMemory.baseline.rssMb, 2)}x`,
  );
  const small = report.memoryAfterScenario["open-no-1mb"];
  if (small !== undefined && report.memoryAfterScenario["closed-mix"] !== undefined) {
    row(
      "peak RSS MB before any 1 MB object",
      fmt(small.baseline.peakRssMb, 0),
      fmt(small.netfence.peakRssMb, 0),
      `${fmt(small.netfence.peakRssMb / small.baseline.peakRssMb, 2)}x`,
    );
  }
  row(
    "RSS after the run MB",
    fmt(report.memory.baseline.rssMb, 0),
    fmt(report.memory.netfence.rssMb, 0),
    `${fmt(report.memory.netfence.rssMb / report.memory.baseline.rssMb, 2)}x`,
  );
  row(
    "peak RSS MB",
    fmt(report.memory.baseline.peakRssMb, 0),
    fmt(report.memory.netfence.peakRssMb, 0),
    `${fmt(report.memory.netfence.peakRssMb / report.memory.baseline.peakRssMb, 2)}x`,
  );

  const limit = report.memoryLimit;
  if (limit !== undefined) {
    out.write(`
memory-limit run: netfence (dist/cli.js) in a memory cgroup of the chart's default limit\n`);
    out.write(
      `  chart: resources.limits.memory ${limit.chart.limit}, NODE_OPTIONS ${limit.chart.nodeOptions ?? "(none)"}\n`,
    );
    out.write(`         from ${limit.chart.source}\n`);
    if (limit.skipped !== undefined) out.write(`  skipped: ${limit.skipped}\n`);
    else {
      const mb = (bytes: number | undefined) => fmt((bytes ?? Number.NaN) / 2 ** 20, 0);
      out.write(
        `  cgroup v${limit.cgroupVersion}, limit ${mb(limit.limitBytes)} MiB; V8 heap limit in it ${fmt(limit.heapLimitMb ?? Number.NaN, 0)} MiB per isolate\n`,
      );
      out.write(
        `  ${fmt(limit.seconds ?? Number.NaN, 0)} s closed loop, ${CONNECTIONS} connections, ${limit.mix}: ${limit.responses} answers, p50 ${fmt(limit.latencyP50 ?? Number.NaN, 2)} ms, p99 ${fmt(limit.latencyP99 ?? Number.NaN, 2)} ms, 1 MB p50 ${fmt(limit.largeP50 ?? Number.NaN, 1)} ms\n`,
      );
      out.write(
        `  errors ${limit.errors?.total} (connection ${limit.errors?.connection}, timeouts ${limit.errors?.timeouts}, non-2xx ${limit.errors?.non2xx}, not an AdmissionReview ${limit.errors?.badBody})\n`,
      );
      out.write(
        `  OOM kills ${limit.cgroup?.oomKills}, limit hits (memory.failcnt / max events) ${limit.cgroup?.limitHits}, server alive at the end: ${limit.survived ? "yes" : "NO"}\n`,
      );
      out.write(
        `  after the load, the ${MIX.length} requests of the mix once more: ${MIX.length - (limit.wrongDecisions?.length ?? MIX.length)} decided as expected${limit.wrongDecisions?.length ? ` (${limit.wrongDecisions.join("; ")})` : ""}\n`,
      );
      out.write(
        `  peak usage of the cgroup ${mb(limit.cgroup?.peakBytes)} MiB (RSS + page cache), peak RSS of the process ${fmt(limit.processPeakRssMb ?? Number.NaN, 0)} MB\n`,
      );
    }
  }

  const t = report.targets;
  const mark = (met: boolean) => (met ? "met" : "NOT met");
  out.write(`\ntargets of issue 17 (reported, not enforced)\n`);
  out.write(
    `  small-request mix, closed loop >= 0.85x floor: ${fmt(t.smallMixThroughput.value, 2)}x, ${mark(t.smallMixThroughput.met)}\n`,
  );
  out.write(
    `  full mix, closed loop >= 0.60x floor: ${fmt(t.fullMixThroughput.value, 2)}x, ${mark(t.fullMixThroughput.met)}\n`,
  );
  out.write(
    `  1 MB request p50 <= 2x floor's (full mix, closed loop): ${fmt(t.largeP50.value, 2)}x, ${mark(t.largeP50.met)}\n`,
  );
  out.write(
    `  open loop ${RATE} req/s, small mix, p99 <= floor p99 + 2 ms: ${fmt(t.openSmallP99.value, 2)} ms vs ${fmt(t.openSmallP99.floor, 2)} + 2 ms, ${mark(t.openSmallP99.met)}\n`,
  );
  if (t.memoryLimit.skipped !== undefined)
    out.write(`  memory-limit run, 0 OOM kills and 0 errors: skipped (${t.memoryLimit.skipped}), NOT met\n`);
  else
    out.write(
      `  memory-limit run (${limit?.chart.limit}, ${limit?.mix}), 0 OOM kills and 0 errors: ${limit?.cgroup?.oomKills} OOM kills, ${limit?.errors?.total} errors, peak RSS ${fmt(limit?.processPeakRssMb ?? Number.NaN, 0)} MB, ${mark(t.memoryLimit.met)}\n`,
    );
  out.write(`  idle RSS <= 80 MB: ${fmt(t.idleRss.value, 0)} MB, ${mark(t.idleRss.met)}\n`);
  out.write(`  zero errors in the scenarios: ${t.errors.value}, ${mark(t.errors.met)}\n`);
}

await main();
