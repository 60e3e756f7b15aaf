// `npm run bench:e2e` (node bench/e2e.ts): what netfence adds to a NetworkPolicy CREATE on a real
// kube-apiserver, the end-to-end harness's (test/e2e/harness.ts: etcd, kube-apiserver, netfence serve
// registered as mutating and validating webhook). It creates N policies one after the other through
// the REST API in four states, in blocks ordered A B C D D C B A:
//   netfence   the harness's webhook configurations, pointing at netfence
//   none       no webhook configuration
//   floor      the same configurations pointing at bench/baseline-server.ts (an empty handler, same
//              certificate): what any webhook costs the apiserver, netfence or not
//   cel        no webhook; the same guardrails as an in-process CEL ValidatingAdmissionPolicy
//              (bench/fixtures/vap-peer.yaml): Kubernetes' own alternative to a webhook
// and reports the median and p99 of each and the milliseconds added over `none`. Before and after
// every CEL block, a policy the CEL rules refuse must be refused by the ValidatingAdmissionPolicy, so
// that the CEL state is never an empty measurement.
//
// Requests go straight to the apiserver over one keep-alive HTTPS connection with the kubeconfig's
// token and CA; kubectl would add a process start (tens of ms) to every create and drown the figure.
// netfence keeps running in every state, so its reconciler's background traffic is the same in all.
// Not part of `npm run bench`: the apiserver and etcd binaries are built from source on first use
// (test/e2e/build-binaries.sh, ~16 minutes on 2 cores).
//
//   node bench/e2e.ts [--creates 200] [--keep-policies]
// --keep-policies keeps every block's policies instead of deleting them after each block (1,680 by
// the end with the defaults): each block's median is printed, so a cost that grows with the policies
// already in a namespace shows as a rising median across the blocks of one state.
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:https";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { Cluster, freePort } from "../test/e2e/harness.ts";
import { summarize, type Latency } from "./load.ts";

const started = performance.now();
const { values: args } = parseArgs({
  options: { creates: { type: "string", default: "200" }, "keep-policies": { type: "boolean", default: false } },
});
const CREATES = Number(args.creates);
const WARMUP = 5;
type State = "netfence" | "none" | "floor" | "cel";
const ORDER: State[] = ["netfence", "none", "floor", "cel", "cel", "floor", "none", "netfence"];
const STATES: State[] = ["none", "floor", "cel", "netfence"];
type Series = "plain" | "isolated";

interface Response {
  status: number;
  ms: number;
  json: any;
}

function apiClient(kubeconfigFile: string) {
  const kubeconfig = parseYaml(readFileSync(kubeconfigFile, "utf8")) as {
    clusters: { cluster: { server: string; "certificate-authority-data": string } }[];
    users: { user: { token: string } }[];
  };
  const ca = Buffer.from(kubeconfig.clusters[0]!.cluster["certificate-authority-data"], "base64").toString();
  const token = kubeconfig.users[0]!.user.token;
  const server = new URL(kubeconfig.clusters[0]!.cluster.server);
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca });
  const call = (method: string, path: string, body?: unknown): Promise<Response> => {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolveCall, reject) => {
      const t0 = performance.now();
      const req = request(
        {
          host: server.hostname,
          port: server.port,
          method,
          path,
          agent,
          headers: {
            authorization: `Bearer ${token}`,
            accept: "application/json",
            ...(payload ? { "content-type": "application/json", "content-length": payload.length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const ms = performance.now() - t0;
            const text = Buffer.concat(chunks).toString();
            let json: unknown = text;
            try {
              json = JSON.parse(text);
            } catch {}
            resolveCall({ status: res.statusCode ?? 0, ms, json });
          });
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  };
  return { call, close: () => agent.destroy() };
}

const BENCH_LABEL = "app.kubernetes.io/name=checkout";
const policy = (namespace: string, name: string) => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name, namespace, labels: { "app.kubernetes.io/name": "checkout" } },
  spec: {
    podSelector: { matchLabels: { "app.kubernetes.io/name": "checkout" } },
    policyTypes: ["Ingress", "Egress"],
    ingress: [
      {
        from: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "frontend" } } }],
        ports: [{ protocol: "TCP", port: 8080 }],
      },
    ],
    egress: [
      {
        to: [
          {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
            podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
          },
        ],
        ports: [
          { protocol: "UDP", port: 53 },
          { protocol: "TCP", port: 53 },
        ],
      },
      {
        to: [{ ipBlock: { cidr: "10.20.0.0/16", except: ["10.20.5.0/24"] } }],
        ports: [{ protocol: "TCP", port: 5432 }],
      },
    ],
  },
});

// NP003 passes the apiserver's own validation, so only netfence refuses it (as the harness's marker).
const marker = {
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name: "bench-marker", namespace: "default" },
  spec: { podSelector: {}, policyTypes: ["Ingress"], egress: [{}] },
};

// The CEL peer: ValidatingAdmissionPolicies and their bindings, applied as they are written.
const CEL_OBJECTS = parseAllDocuments(readFileSync(join(import.meta.dirname, "fixtures/vap-peer.yaml"), "utf8")).map(
  (document) => document.toJS() as { kind: string; metadata: { name: string } },
);
// Host bits set: the CEL rule "ipBlock.cidr must be a canonical CIDR" refuses it (and so does netfence,
// NP021); kube-apiserver's own validation lets it through with StrictIPCIDRValidation off, as the
// harness runs it.
const celInvalid = {
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name: "bench-cel-sanity", namespace: "default" },
  spec: { podSelector: {}, policyTypes: ["Ingress"], ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.1/8" } }] }] },
};
const byCel = (json: any) =>
  typeof json?.message === "string" && json.message.includes("ValidatingAdmissionPolicy 'peer-netpol-guardrails'");

async function waitUntil(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function main() {
  const cluster = new Cluster();
  const samples: Record<Series, Record<State, number[]>> = {
    plain: { netfence: [], none: [], floor: [], cel: [] },
    isolated: { netfence: [], none: [], floor: [], cel: [] },
  };
  const celSanity: { when: string; status: number; message: string }[] = [];
  let clusterSeconds = 0;
  let floorServer: ReturnType<typeof spawn> | undefined;
  try {
    // logLevel warn as in `npm run bench`: the harness's debug level would log every decision.
    await cluster.up({ extraConfig: { logLevel: "warn" } });
    clusterSeconds = (performance.now() - started) / 1000;
    const api = apiClient(cluster.kubeconfig);

    // The floor: the empty handler, with netfence's certificate, so the same caBundle holds.
    const floorPort = await freePort();
    floorServer = spawn(
      process.execPath,
      [
        join(import.meta.dirname, "baseline-server.ts"),
        "--cert",
        join(cluster.dir, "netfence.crt"),
        "--key",
        join(cluster.dir, "netfence.key"),
        "--port",
        String(floorPort),
      ],
      { stdio: "ignore", env: { ...process.env, NODE_OPTIONS: "" } },
    );
    const ca = Buffer.from(cluster.netfenceCaBundle, "base64").toString();
    const floorAnswered = () =>
      new Promise<number>((resolveCount) => {
        const req = request({ host: "127.0.0.1", port: floorPort, path: "/answered", ca, agent: false }, (res) => {
          let text = "";
          res.on("data", (d) => (text += d));
          res.on("end", () =>
            resolveCount(res.statusCode === 200 ? (JSON.parse(text) as { answered: number }).answered : -1),
          );
        });
        req.on("error", () => resolveCount(-1));
        req.end();
      });
    await waitUntil("the floor server", async () => (await floorAnswered()) >= 0);
    const floorConfigurations = cluster.webhookConfigurations().map((configuration) => ({
      ...configuration,
      webhooks: configuration.webhooks.map((webhook) => ({
        ...webhook,
        clientConfig: {
          ...webhook.clientConfig,
          url: webhook.clientConfig.url.replace(`:${cluster.netfencePort}/`, `:${floorPort}/`),
        },
      })),
    }));

    const namespaces: Record<Series, string> = { plain: "bench-e2e", isolated: "bench-e2e-isolated" };
    await api.call("POST", "/api/v1/namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: namespaces.plain },
    });
    await api.call("POST", "/api/v1/namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: namespaces.isolated, labels: { "netfence.io/isolation": "enabled" } },
    });
    const dryRun = (namespace: string, body: unknown) =>
      api.call("POST", `/apis/networking.k8s.io/v1/namespaces/${namespace}/networkpolicies?dryRun=All`, body);
    // The namespace informer must have seen the isolation label before the isolated series counts.
    await waitUntil("netfence to see the isolated namespace", async () => {
      const { json } = await dryRun(namespaces.isolated, policy(namespaces.isolated, "probe"));
      return json?.metadata?.annotations?.["netfence.io/injected-ingress-namespaces"] !== undefined;
    });

    const celSanityCheck = async (when: string) => {
      const { status, json } = await dryRun("default", celInvalid);
      const refused = status === 422 && byCel(json);
      if (refused || when !== "") celSanity.push({ when, status, message: String(json?.message ?? "") });
      return refused;
    };
    const celApi = (kind: string) =>
      kind === "ValidatingAdmissionPolicy"
        ? "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies"
        : "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings";
    const removeCel = async () => {
      for (const object of CEL_OBJECTS) {
        const { status } = await api.call("DELETE", `${celApi(object.kind)}/${object.metadata.name}`);
        if (status !== 200 && status !== 404)
          throw new Error(`deleting ${object.kind}/${object.metadata.name}: HTTP ${status}`);
      }
      // The apiserver stops enforcing a deleted policy a moment later: wait until it no longer refuses.
      let quiet = 0;
      await waitUntil("the ValidatingAdmissionPolicy to be gone", async () => {
        const { json } = await dryRun("default", celInvalid);
        quiet = byCel(json) ? 0 : quiet + 1;
        return quiet >= 2;
      });
    };

    const enter = async (state: State, from: State) => {
      if (from === "cel") await removeCel();
      if (state === "netfence") return cluster.registerWebhooks();
      if (state === "floor") {
        const result = await cluster.kubectlApply(floorConfigurations);
        if (result.code !== 0) throw new Error(`registering the floor webhooks: ${result.stderr}`);
        return waitUntil("the floor webhook to be called", async () => {
          const before = await floorAnswered();
          await dryRun("default", marker);
          return (await floorAnswered()) > before;
        });
      }
      for (const kind of ["validatingwebhookconfigurations", "mutatingwebhookconfigurations"]) {
        const { status } = await api.call("DELETE", `/apis/admissionregistration.k8s.io/v1/${kind}/netfence`);
        if (status !== 200 && status !== 404) throw new Error(`deleting ${kind}/netfence: HTTP ${status}`);
      }
      // Neither netfence (the marker passes) nor the floor (its count stands still, twice) is called.
      let quiet = 0;
      await waitUntil("the webhooks to be gone", async () => {
        const before = await floorAnswered();
        const { status } = await dryRun("default", marker);
        quiet = status === 201 && (await floorAnswered()) === before ? quiet + 1 : 0;
        return quiet >= 2;
      });
      if (state === "cel") {
        const result = await cluster.kubectlApply(CEL_OBJECTS);
        if (result.code !== 0) throw new Error(`applying the ValidatingAdmissionPolicies: ${result.stderr}`);
        // A new policy is enforced once the apiserver has compiled it: the sanity request tells.
        await waitUntil("the ValidatingAdmissionPolicy to refuse an invalid policy", () => celSanityCheck(""));
        celSanity.at(-1)!.when = "before the block";
      }
    };

    let current: State = "netfence";
    const perBlock = Math.ceil(CREATES / 2);
    let serial = 0;
    for (const [block, state] of ORDER.entries()) {
      if (state !== current) await enter(state, current);
      current = state;
      for (const series of ["plain", "isolated"] as const) {
        for (let i = 0; i < perBlock + WARMUP; i++) {
          const name = `bench-${serial++}`;
          const { status, ms, json } = await api.call(
            "POST",
            `/apis/networking.k8s.io/v1/namespaces/${namespaces[series]}/networkpolicies`,
            policy(namespaces[series], name),
          );
          if (status !== 201)
            throw new Error(
              `creating ${namespaces[series]}/${name}: HTTP ${status} ${JSON.stringify(json).slice(0, 300)}`,
            );
          const injected = json?.metadata?.annotations?.["netfence.io/injected-ingress-namespaces"] !== undefined;
          if (series === "isolated" && injected !== (state === "netfence"))
            throw new Error(`${namespaces.isolated}/${name}: mutated ${injected} with ${state}`);
          if (i >= WARMUP) samples[series][state].push(ms);
        }
      }
      if (state === "cel" && !(await celSanityCheck(`after block ${block + 1}`)))
        throw new Error(`the ValidatingAdmissionPolicy stopped refusing: ${JSON.stringify(celSanity.at(-1))}`);
      const medians = (["plain", "isolated"] as const).map(
        (series) => `${series} ${summarize(samples[series][state].slice(-perBlock)).p50.toFixed(2)} ms`,
      );
      process.stderr.write(`  block ${block + 1}/${ORDER.length} (${state}) medians: ${medians.join(", ")}\n`);
      // By default every block starts from a namespace without the benchmark's policies, so that each
      // state is measured on the same namespace whatever ran before it.
      if (!args["keep-policies"])
        for (const namespace of Object.values(namespaces)) {
          const path = `/apis/networking.k8s.io/v1/namespaces/${namespace}/networkpolicies`;
          const { status } = await api.call("DELETE", `${path}?labelSelector=${encodeURIComponent(BENCH_LABEL)}`);
          if (status !== 200) throw new Error(`deleting the policies of ${namespace}: HTTP ${status}`);
          await waitUntil(`the policies of ${namespace} to be gone`, async () => {
            const { json } = await api.call("GET", `${path}?labelSelector=${encodeURIComponent(BENCH_LABEL)}`);
            return Array.isArray(json?.items) && json.items.length === 0;
          });
        }
    }
    api.close();
  } finally {
    floorServer?.kill("SIGTERM");
    await cluster.down();
  }

  type Added = Record<Exclude<State, "none">, { medianMs: number; p99Ms: number }>;
  const report = Object.fromEntries(
    (Object.keys(samples) as Series[]).map((series) => {
      const s = Object.fromEntries(STATES.map((state) => [state, summarize(samples[series][state])])) as Record<
        State,
        Latency
      >;
      const added = Object.fromEntries(
        STATES.filter((state) => state !== "none").map((state) => [
          state,
          { medianMs: s[state].p50 - s.none.p50, p99Ms: s[state].p99 - s.none.p99 },
        ]),
      ) as Added;
      // Issue 17: netfence adds at most 2 ms more than the CEL policy at the median.
      const target = {
        target: "netfence adds <= CEL + 2 ms at the median",
        netfenceAddsMs: added.netfence.medianMs,
        celAddsMs: added.cel.medianMs,
        met: added.netfence.medianMs <= added.cel.medianMs + 2,
      };
      return [series, { ...s, added, target }];
    }),
  ) as unknown as Record<
    Series,
    Record<State, Latency> & { added: Added; target: { met: boolean } & Record<string, unknown> }
  >;

  const out = process.stdout;
  const f = (x: number) => x.toFixed(2);
  const n = samples.plain.none.length;
  out.write(
    `\nNetworkPolicy CREATE through kube-apiserver, sequential on one keep-alive connection, ${n} creates per state and series\n`,
  );
  const header = ["no webhook", "floor", "CEL", "netfence", "floor adds", "CEL adds", "netfence adds"];
  const widths = [12, 9, 9, 10, 12, 10, 15];
  const line = (label: string, cells: string[]) =>
    out.write(`    ${label.padEnd(22)}${cells.map((c, i) => c.padStart(widths[i]!)).join("")}\n`);
  out.write(`  ${"".padEnd(24)}${header.map((h, i) => h.padStart(widths[i]!)).join("")}\n`);
  const titles: Record<Series, string> = { plain: "plain namespace", isolated: "isolated namespace (patched)" };
  for (const series of Object.keys(report) as Series[]) {
    const r = report[series];
    out.write(`  ${titles[series]}\n`);
    line("median ms", [
      ...STATES.map((state) => f(r[state].p50)),
      f(r.added.floor.medianMs),
      f(r.added.cel.medianMs),
      f(r.added.netfence.medianMs),
    ]);
    line("p99 ms", [
      ...STATES.map((state) => f(r[state].p99)),
      f(r.added.floor.p99Ms),
      f(r.added.cel.p99Ms),
      f(r.added.netfence.p99Ms),
    ]);
  }
  out.write(`\nCEL state sanity (a policy with ipBlock.cidr 10.0.0.1/8, dry run, in every CEL block):\n`);
  for (const check of celSanity) out.write(`  ${check.when}: HTTP ${check.status} ${check.message.slice(0, 240)}\n`);
  out.write(`\ntarget of issue 17 (reported, not enforced): netfence adds <= CEL + 2 ms at the median\n`);
  for (const series of Object.keys(report) as Series[]) {
    const r = report[series];
    out.write(
      `  ${titles[series]}: netfence adds ${f(r.added.netfence.medianMs)} ms, CEL adds ${f(r.added.cel.medianMs)} ms: ${r.target.met ? "met" : "NOT met"}\n`,
    );
  }
  const dir = join(import.meta.dirname, "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `e2e-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  const json = {
    date: new Date().toISOString(),
    creates: CREATES,
    order: ORDER,
    report,
    celSanity,
    samples,
    clusterStartSeconds: clusterSeconds,
    elapsedSeconds: (performance.now() - started) / 1000,
  };
  writeFileSync(file, `${JSON.stringify(json, null, 2)}\n`);
  writeFileSync(join(dir, "e2e-latest.json"), `${JSON.stringify(json, null, 2)}\n`);
  out.write(
    `\nresults: ${file}\ncluster start: ${clusterSeconds.toFixed(0)} s, total time: ${((performance.now() - started) / 1000).toFixed(0)} s\n`,
  );
}

await main();
// The harness's teardown leaves a 10 s kill timer armed; nothing else is left to wait for.
process.exit(0);
