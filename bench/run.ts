// `npm run bench`: what netfence costs on the admission path, against the floor of an empty Fastify
// HTTPS handler measured in the same run on the same machine. A benchmark, not a test: it prints and
// records figures and never fails on them (it fails only when a server misbehaves).
//
// Both servers run at once, as child processes started the same way (the same node, no flags, the
// same environment): `netfence serve --config <tmp>` with its real config, and bench/baseline-server.ts.
// The load generator is a third process (bench/load.ts, forked once). Runs alternate between the two
// servers (baseline, netfence, netfence, baseline, ...) and the report takes medians, so that the
// machine's own drift falls on both alike; throughput ratios are the median of per-round ratios.
//
//   npm run bench                       the full run (about 2 minutes)
//   npm run bench -- --quick            one round of each, shorter: a smoke test of the benchmark
//   npm run bench -- --profile          also write V8 CPU profiles of both servers (--cpu-prof)
//   npm run bench -- --scenario closed-no-1mb   only the named scenario(s): closed-no-1mb, open-no-1mb,
//                                               closed-mix, open-mix (repeatable)
//   npm run bench -- --rounds N --connections N --rate N
import { fork, spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { cpus, release, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { connect } from "node:tls";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { loadConfig } from "../src/config.ts";
import { generateCertificates } from "../src/server/certificates.ts";
import { largeReviewBody } from "./fixtures/large.ts";
import type { Latency, LoadResult, LoadSpec, MixEntry } from "./load.ts";

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
  },
});

const PLAN = args.quick
  ? { warmupSeconds: 2, closedRounds: 1, closedSeconds: 3, openRounds: 1, openSeconds: 3 }
  : { warmupSeconds: 3, closedRounds: 5, closedSeconds: 3, openRounds: 3, openSeconds: 4 };
if (args.rounds !== undefined) PLAN.closedRounds = PLAN.openRounds = Number(args.rounds);
const CONNECTIONS = Number(args.connections);
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
  name: "baseline" | "netfence";
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

function spawnServer(
  name: Server["name"],
  script: string,
  scriptArgs: string[],
  port: number,
  profileDir: string | undefined,
): Server {
  const flags =
    profileDir !== undefined
      ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${name}.cpuprofile`]
      : [];
  const child = spawn(NODE, [...flags, script, ...scriptArgs], { env: serverEnv(), stdio: ["ignore", "pipe", "pipe"] });
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
    stringify({
      listen: { host: "127.0.0.1", port: netfencePort },
      tls: { certFile, keyFile },
      // warn, not info: at info netfence writes one JSON line per denied or warned request (10% of the
      // mix), which a benchmark would measure as much as the decisions; the floor logs nothing at all.
      logLevel: "warn",
      isolatedNamespaces: ["bench-isolated"],
      allowedIngressNamespaces: ["monitoring"],
    }),
  );
  const config = loadConfig({ file: configFile, env: {} });

  const servers = {
    netfence: spawnServer(
      "netfence",
      join(REPO, "src/cli.ts"),
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
    const report = buildReport(selected, records, memory, memoryAfter, checks, tls);
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

function buildReport(
  scenarios: { id: string; title: string; rounds: number }[],
  records: RunRecord[],
  memory: Record<"baseline" | "netfence", { peakRssMb: number; rssMb: number }>,
  memoryAfter: Record<string, Record<"baseline" | "netfence", { peakRssMb: number; rssMb: number }>>,
  checks: unknown,
  tls: unknown,
) {
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
  const closedRatio = results["closed-mix"]?.ratios.throughput.median ?? Number.NaN;
  const openP99 = results["open-mix"]?.netfence.p99 ?? Number.NaN;
  const openSmallP99 = results["open-no-1mb"]?.netfence.p99 ?? Number.NaN;
  const errors = records.reduce((sum, r) => sum + (r.server === "netfence" ? r.result.errors.total : 0), 0);
  return {
    date: new Date().toISOString(),
    machine: machine(),
    command: `npm run bench${args.quick ? " -- --quick" : ""}`,
    plan: { ...PLAN, connections: CONNECTIONS, rate: RATE, openLoopConnectionPool: 64 },
    mix: checks,
    tls,
    results,
    memory,
    memoryAfterScenario: memoryAfter,
    targets: {
      throughputRatio: { target: ">= 0.90", value: closedRatio, met: closedRatio >= 0.9 },
      p99At1000: { target: "<= 5 ms", value: openP99, met: openP99 <= 5 },
      p99At1000No1mb: { target: "<= 5 ms", value: openSmallP99, met: openSmallP99 <= 5 },
      errors: { target: "0", value: errors, met: errors === 0 },
      rssAfterRun: { target: "< 150 MB", value: memory.netfence.rssMb, met: memory.netfence.rssMb < 150 },
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
  const t = report.targets;
  const mark = (met: boolean) => (met ? "met" : "NOT met");
  out.write(`\ntargets (reported, not enforced)\n`);
  out.write(
    `  throughput on the mix >= 0.90x baseline: ${fmt(t.throughputRatio.value, 2)}x, ${mark(t.throughputRatio.met)}\n`,
  );
  out.write(
    `  p99 at ${RATE} req/s <= 5 ms: ${fmt(t.p99At1000.value, 2)} ms, ${mark(t.p99At1000.met)}; without the 1 MB object: ${fmt(t.p99At1000No1mb.value, 2)} ms, ${mark(t.p99At1000No1mb.met)}\n`,
  );
  out.write(`  zero errors: ${t.errors.value}, ${mark(t.errors.met)}\n`);
  out.write(`  RSS after the run < 150 MB: ${fmt(t.rssAfterRun.value, 0)} MB, ${mark(t.rssAfterRun.met)}\n`);
}

await main();
