// The end-to-end harness: real etcd, real kube-apiserver (built from source by build-binaries.sh),
// kubectl, and netfence serve registered as validating and mutating webhook with a real caBundle.
// Everything listens on 127.0.0.1; every process logs to .e2e/<run>/ and is stopped on teardown.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parse, stringify } from "yaml";
import { generateCertificates } from "../../src/server/certificates.ts";

export const REPO = resolve(import.meta.dirname, "../..");
const TOKEN = "netfence-e2e-admin-token";

export function binDir(): string {
  // Binaries built elsewhere (or while a build of the others is still running): use them as they are.
  if (process.env.NETFENCE_E2E_BIN_DIR) return process.env.NETFENCE_E2E_BIN_DIR;
  const out = execFileSync("bash", [join(REPO, "test/e2e/build-binaries.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  return out.trim().split("\n").at(-1)!;
}

export async function freePort(): Promise<number> {
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

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

interface Managed {
  name: string;
  child: ChildProcess;
}

/** A second netfence process against the same API server (its own port, the same certificate). */
export interface NetfenceReplica {
  port: number;
  pid: number;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

async function httpOk(url: string, headers: Record<string, string> = {}): Promise<boolean> {
  const res = await fetch(url, { headers });
  return res.ok;
}

export interface NetfenceOptions {
  allowedIngressNamespaces?: string[];
  extraConfig?: Record<string, unknown>;
  /** Leave StrictIPCIDRValidation at its 1.36 default (on) instead of the pre-1.36 behaviour. */
  strictCidrs?: boolean;
}

export class Cluster {
  readonly dir: string;
  readonly bin: string;
  readonly kubeconfig: string;
  apiserverUrl = "";
  netfencePort = 0;
  netfenceCaBundle = "";
  private readonly processes: Managed[] = [];
  private netfence: Managed | undefined;
  private netfenceArgs: string[] = [];
  private apiserver: Managed | undefined;
  private apiserverArgs: string[] = [];
  readonly token = TOKEN;

  constructor() {
    this.bin = binDir();
    this.dir = join(REPO, ".e2e", new Date().toISOString().replace(/[:.]/g, "-"));
    mkdirSync(this.dir, { recursive: true });
    this.kubeconfig = join(this.dir, "kubeconfig");
  }

  private start(name: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): Managed {
    const log = createWriteStream(join(this.dir, `${name}.log`), { flags: "a" });
    const child = spawn(command, args, {
      env: { ...process.env, NO_PROXY: "127.0.0.1,localhost", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    const managed = { name, child };
    this.processes.push(managed);
    return managed;
  }

  async up(options: NetfenceOptions = {}): Promise<void> {
    const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
    this.start("etcd", join(this.bin, "etcd"), [
      `--data-dir=${join(this.dir, "etcd")}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
      "--unsafe-no-fsync",
    ]);
    await waitFor("etcd", () => httpOk(`http://127.0.0.1:${etcdClient}/health`), 30_000);

    const serving = await generateCertificates({ dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
    const files = {
      tlsCert: join(this.dir, "apiserver.crt"),
      tlsKey: join(this.dir, "apiserver.key"),
      tokens: join(this.dir, "tokens.csv"),
      saPublic: join(this.dir, "sa.pub"),
      saPrivate: join(this.dir, "sa.key"),
    };
    writeFileSync(files.tlsCert, serving.cert);
    writeFileSync(files.tlsKey, serving.key);
    writeFileSync(files.tokens, `${TOKEN},admin,uid-admin,"system:masters"\n`);
    const sa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    writeFileSync(files.saPublic, sa.publicKey.export({ type: "spki", format: "pem" }));
    writeFileSync(files.saPrivate, sa.privateKey.export({ type: "pkcs8", format: "pem" }));
    this.apiserverUrl = `https://127.0.0.1:${apiPort}`;
    this.apiserverArgs = [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      `--secure-port=${apiPort}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--cert-dir=${join(this.dir, "apiserver-certs")}`,
      `--tls-cert-file=${files.tlsCert}`,
      `--tls-private-key-file=${files.tlsKey}`,
      `--token-auth-file=${files.tokens}`,
      "--authorization-mode=RBAC",
      "--service-cluster-ip-range=10.0.0.0/24",
      `--service-account-issuer=${this.apiserverUrl}/`,
      `--service-account-key-file=${files.saPublic}`,
      `--service-account-signing-key-file=${files.saPrivate}`,
      "--disable-admission-plugins=ServiceAccount",
      // Clusters before 1.36 store sloppy CIDRs; turning the gate off proves netfence's own CIDR rules.
      ...(options.strictCidrs ? [] : ["--feature-gates=StrictIPCIDRValidation=false"]),
    ];
    writeFileSync(
      this.kubeconfig,
      stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [
          {
            name: "e2e",
            cluster: {
              server: this.apiserverUrl,
              "certificate-authority-data": Buffer.from(serving.caCert).toString("base64"),
            },
          },
        ],
        users: [{ name: "admin", user: { token: TOKEN } }],
        contexts: [{ name: "e2e", context: { cluster: "e2e", user: "admin" } }],
        "current-context": "e2e",
      }),
    );
    await this.startApiserver();
    await waitFor(
      "the default namespace",
      async () => (await this.kubectl(["get", "namespace", "default"])).code === 0,
      30_000,
    );
    await this.startNetfence(options);
    await this.registerWebhooks();
  }

  async startApiserver(): Promise<void> {
    this.apiserver = this.start("kube-apiserver", join(this.bin, "kube-apiserver"), this.apiserverArgs);
    await waitFor(
      "kube-apiserver /readyz",
      async () => (await this.kubectl(["get", "--raw", "/readyz"])).code === 0,
      90_000,
    );
  }

  async stopApiserver(): Promise<void> {
    if (this.apiserver !== undefined) await this.stopProcess(this.apiserver);
    this.apiserver = undefined;
  }

  private async stopProcess(managed: Managed, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    const { child } = managed;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill(signal);
      await exited;
    }
    this.processes.splice(this.processes.indexOf(managed), 1);
  }

  /** A request straight to netfence over HTTPS (the apiserver may be down). */
  async netfenceRequest(path: string, body?: unknown): Promise<{ status: number; json: any }> {
    const { request } = await import("node:https");
    const ca = Buffer.from(this.netfenceCaBundle, "base64").toString();
    return new Promise((resolveRequest, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: this.netfencePort,
          path,
          method: body === undefined ? "GET" : "POST",
          ca,
          agent: false,
          headers: { "content-type": "application/json" },
        },
        (res) => {
          let data = "";
          res.on("data", (chunk) => (data += chunk));
          res.on("end", () =>
            resolveRequest({ status: res.statusCode ?? 0, json: data.startsWith("{") ? JSON.parse(data) : data }),
          );
        },
      );
      req.on("error", reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  async startNetfence(options: NetfenceOptions = {}): Promise<void> {
    if (this.netfenceArgs.length === 0) {
      this.netfencePort = await freePort();
      const certs = await generateCertificates({ dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
      this.netfenceCaBundle = Buffer.from(certs.caCert).toString("base64");
      writeFileSync(join(this.dir, "netfence.crt"), certs.cert);
      writeFileSync(join(this.dir, "netfence.key"), certs.key);
      const config = {
        listen: { host: "127.0.0.1", port: this.netfencePort },
        tls: { certFile: join(this.dir, "netfence.crt"), keyFile: join(this.dir, "netfence.key") },
        logLevel: "debug",
        allowedIngressNamespaces: options.allowedIngressNamespaces ?? ["monitoring"],
        resyncSeconds: 5,
        ...options.extraConfig,
      };
      writeFileSync(join(this.dir, "netfence.yaml"), stringify(config));
      this.netfenceArgs = [
        join(REPO, "src/cli.ts"),
        "serve",
        "--config",
        join(this.dir, "netfence.yaml"),
        "--kubeconfig",
        this.kubeconfig,
      ];
    }
    this.netfence = this.start("netfence", process.execPath, this.netfenceArgs, { KUBECONFIG: "" });
    const ca = Buffer.from(this.netfenceCaBundle, "base64").toString();
    // Generous: on a loaded 2-core machine, starting Node and loading the sources alone took 30 s.
    await waitFor("netfence /readyz", () => this.netfenceReady(ca), 90_000);
  }

  /** The process id of the netfence started by up()/startNetfence(), while it runs. */
  get netfencePid(): number | undefined {
    return this.netfence?.child.pid;
  }

  /** Stops the netfence of up()/startNetfence() with `signal` (SIGKILL: no clean shutdown at all). */
  async killNetfence(signal: NodeJS.Signals): Promise<void> {
    if (this.netfence !== undefined) await this.stopProcess(this.netfence, signal);
    this.netfence = undefined;
  }

  /** Another netfence with the same config, certificate and API server, on a port of its own. */
  async startNetfenceReplica(name: string): Promise<NetfenceReplica> {
    if (this.netfenceArgs.length === 0) throw new Error("start the first netfence before a replica");
    const port = await freePort();
    const configFile = join(this.dir, `netfence-${name}.yaml`);
    const config = parse(readFileSync(join(this.dir, "netfence.yaml"), "utf8"));
    writeFileSync(configFile, stringify({ ...config, listen: { ...config.listen, port } }));
    const args = this.netfenceArgs.map((arg) => (arg === join(this.dir, "netfence.yaml") ? configFile : arg));
    const managed = this.start(`netfence-${name}`, process.execPath, args, { KUBECONFIG: "" });
    const ca = Buffer.from(this.netfenceCaBundle, "base64").toString();
    await waitFor(`netfence ${name} /readyz`, () => this.netfenceReady(ca, port), 90_000);
    return { port, pid: managed.child.pid!, stop: (signal) => this.stopProcess(managed, signal) };
  }

  /** A GET straight to the API server as admin, without the cost of starting kubectl (for timings). */
  async apiGet(path: string): Promise<{ status: number; json: any }> {
    const response = await new Promise<{ status: number; body: string }>((resolveGet, reject) => {
      import("node:https").then(({ request }) => {
        const kubeconfig = parse(readFileSync(this.kubeconfig, "utf8"));
        const ca = Buffer.from(kubeconfig.clusters[0].cluster["certificate-authority-data"], "base64").toString();
        const req = request(
          `${this.apiserverUrl}${path}`,
          { ca, headers: { authorization: `Bearer ${this.token}`, accept: "application/json" } },
          (res) => {
            let body = "";
            res.on("data", (chunk) => (body += chunk));
            res.on("end", () => resolveGet({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on("error", reject);
        req.end();
      }, reject);
    });
    return { status: response.status, json: response.body.startsWith("{") ? JSON.parse(response.body) : response.body };
  }

  private async netfenceReady(ca: string, port = this.netfencePort): Promise<boolean> {
    const { request } = await import("node:https");
    return new Promise((resolveReady) => {
      const req = request({ host: "127.0.0.1", port, path: "/readyz", ca, agent: false }, (res) => {
        res.resume();
        resolveReady(res.statusCode === 200);
      });
      req.on("error", () => resolveReady(false));
      req.end();
    });
  }

  async stopNetfence(): Promise<void> {
    if (this.netfence !== undefined) await this.stopProcess(this.netfence);
    this.netfence = undefined;
  }

  webhookConfigurations(failurePolicy: "Fail" | "Ignore" = "Fail") {
    const url = (path: string) => `https://127.0.0.1:${this.netfencePort}${path}`;
    const common = {
      admissionReviewVersions: ["v1"],
      sideEffects: "None",
      timeoutSeconds: 5,
      matchPolicy: "Equivalent",
    };
    const notSystem = {
      matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system"] }],
    };
    const rules = [
      {
        apiGroups: ["networking.k8s.io"],
        apiVersions: ["v1"],
        operations: ["CREATE", "UPDATE"],
        resources: ["networkpolicies"],
      },
      { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["services"] },
    ];
    return [
      {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingWebhookConfiguration",
        metadata: { name: "netfence" },
        webhooks: [
          {
            name: "validate.netfence.io",
            clientConfig: { url: url("/validate"), caBundle: this.netfenceCaBundle },
            rules,
            namespaceSelector: notSystem,
            failurePolicy,
            ...common,
          },
          {
            name: "namespaces.validate.netfence.io",
            clientConfig: { url: url("/validate"), caBundle: this.netfenceCaBundle },
            rules: [
              {
                apiGroups: [""],
                apiVersions: ["v1"],
                operations: ["CREATE", "UPDATE"],
                resources: ["namespaces"],
                scope: "Cluster",
              },
            ],
            failurePolicy: "Ignore",
            ...common,
          },
          {
            name: "kube-proxy.validate.netfence.io",
            clientConfig: { url: url("/validate"), caBundle: this.netfenceCaBundle },
            rules: [
              { apiGroups: [""], apiVersions: ["v1"], operations: ["CREATE", "UPDATE"], resources: ["configmaps"] },
            ],
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
            matchConditions: [{ name: "kube-proxy-only", expression: "object.metadata.name == 'kube-proxy'" }],
            failurePolicy: "Ignore",
            ...common,
          },
        ],
      },
      {
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "MutatingWebhookConfiguration",
        metadata: { name: "netfence" },
        webhooks: [
          {
            name: "mutate.netfence.io",
            clientConfig: { url: url("/mutate"), caBundle: this.netfenceCaBundle },
            rules: [rules[0]],
            namespaceSelector: notSystem,
            failurePolicy: "Ignore",
            reinvocationPolicy: "IfNeeded",
            ...common,
          },
        ],
      },
    ];
  }

  async registerWebhooks(failurePolicy: "Fail" | "Ignore" = "Fail"): Promise<void> {
    const result = await this.kubectlApply(this.webhookConfigurations(failurePolicy));
    if (result.code !== 0) throw new Error(`registering the webhooks failed: ${result.stderr}`);
    // A new webhook configuration takes a moment to be enforced: retry a known-bad policy until denied.
    // NP003 passes the apiserver's own validation, so only netfence can refuse it.
    const marker = {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "marker", namespace: "default" },
      spec: { podSelector: {}, policyTypes: ["Ingress"], egress: [{}] },
    };
    await waitFor(
      "the webhook to be enforced",
      async () => /denied the request/.test((await this.kubectlApply([marker], ["--dry-run=server"])).stderr),
      30_000,
    );
  }

  kubectl(args: string[], stdin?: string): Promise<KubectlResult> {
    return new Promise((resolveRun) => {
      const child = spawn(join(this.bin, "kubectl"), args, {
        env: { ...process.env, KUBECONFIG: this.kubeconfig, NO_PROXY: "127.0.0.1" },
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      child.on("close", (code) => resolveRun({ code: code ?? -1, stdout, stderr }));
      // kubectl may exit before reading all of stdin (EPIPE): that is its answer, not a crash of ours.
      child.stdin.on("error", () => {});
      child.stdin.end(stdin ?? "");
    });
  }

  kubectlApply(objects: unknown[], extraArgs: string[] = []): Promise<KubectlResult> {
    return this.kubectl(["apply", "-f", "-", ...extraArgs], objects.map((o) => stringify(o)).join("---\n"));
  }

  async getJson(args: string[]): Promise<any> {
    const result = await this.kubectl(["get", ...args, "-o", "json"]);
    if (result.code !== 0) throw new Error(`kubectl get ${args.join(" ")}: ${result.stderr}`);
    return JSON.parse(result.stdout);
  }

  async eventually<T>(
    what: string,
    probe: () => Promise<T>,
    accept: (value: T) => boolean,
    timeoutMs = 30_000,
  ): Promise<T> {
    let last: T | undefined;
    await waitFor(what, async () => accept((last = await probe())), timeoutMs);
    return last as T;
  }

  async down(): Promise<void> {
    for (const { child } of this.processes.reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, sleep(10_000).then(() => child.kill("SIGKILL"))]);
    }
    this.processes.length = 0;
  }
}
