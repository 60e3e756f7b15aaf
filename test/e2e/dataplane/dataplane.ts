// A real NetworkPolicy dataplane beside the e2e control plane (notes/dataplane.md): kube-router's
// network policy controller runs in a "node" network namespace and enforces the NetworkPolicies of
// the harness's kube-apiserver on "pods" that are network namespaces with routed veths in
// 198.18.0.0/16. There is no kubelet: the harness creates the Node and Pod objects and writes their
// status. Every pod runs pod-agent.ts (a TCP+UDP server answering with the pod's name, and a prober).
//
// Nothing leaves the namespaces this run creates: pods have routes to 198.18.0.0/16 only, kube-router
// keeps its iptables/ipset state in the node namespace, and everything is torn down by process group
// and `ip netns del`, also after a failed test (and a later run sweeps what a killed run left).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { connect } from "node:net";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { parse } from "yaml";
import type { Cluster } from "../harness.ts";

const run = promisify(execFile);
const NETNS_PREFIX = "nfdp";
const NODE_NAME = "dataplane-node";
/** The node side of every veth; also the Node's InternalIP and the pods' hostIP. */
const GATEWAY = "198.18.0.1";
const PROBE_TIMEOUT_MS = 1_000;
const SYNC_TIMEOUT_MS = 15_000;
const STARTUP_TIMEOUT_MS = 90_000;
const SENTINEL_NAMESPACE = "dataplane-sentinel";
const SENTINEL_POLICIES = `/apis/networking.k8s.io/v1/namespaces/${SENTINEL_NAMESPACE}/networkpolicies`;
/**
 * The sentinel server's ports, one per barrier generation in turn: a generation is observed as its
 * port turning open, which no connection tracked from an earlier generation can fake.
 */
const SENTINEL_PORTS = [9101, 9102, 9103, 9104];
const GENERATION_LABEL = "dataplane.netfence.test/generation";

export type Protocol = "TCP" | "UDP";
export type ProbeResult = { answer: string } | { error: string };

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: Protocol;
}

export interface PodSpec {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** Declared in the Pod spec (named ports resolve against these). */
  containerPorts?: ContainerPort[];
}

/** A pod's network: its namespace, veth and address, and its agent (which answers `answer`). */
export interface PodNetwork {
  ip: string;
  netns: string;
  controlSocket: string;
  answer: string;
}

/** A Pod object bound to a pod network. */
export interface Pod extends PodSpec, PodNetwork {
  /** namespace/name */
  id: string;
}

async function sh(command: string, args: string[]): Promise<string> {
  try {
    return (await run(command, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })).stdout;
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`${command} ${args.join(" ")}: ${stderr?.trim() || (error as Error).message}`);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function netnsList(): Promise<string[]> {
  return (await sh("ip", ["netns", "list"]))
    .split("\n")
    .map((line) => line.split(" ")[0]!)
    .filter((name) => name !== "");
}

/** Ends what a run left behind when it was killed before its teardown: netns `nfdp<pid>-*` of dead pids. */
async function sweepStaleRuns(): Promise<void> {
  for (const name of await netnsList()) {
    const owner = new RegExp(`^${NETNS_PREFIX}(\\d+)-`).exec(name);
    if (owner === null || processAlive(Number(owner[1]))) continue;
    const pids = (await sh("ip", ["netns", "pids", name]).catch(() => "")).split("\n").filter(Boolean).map(Number);
    for (const pid of pids) process.kill(pid, "SIGKILL");
    await sh("ip", ["netns", "del", name]).catch(() => {});
  }
}

/**
 * Why this machine cannot run the dataplane suites, or undefined when it can: root, the commands
 * kube-router needs, network namespaces, veths, iptables and ipset in a namespace of our own.
 */
export async function dataplaneUnavailable(): Promise<string | undefined> {
  if (process.platform !== "linux") return "needs Linux network namespaces";
  if (process.getuid?.() !== 0) return "needs root (network namespaces, iptables, ipset)";
  for (const command of ["ip", "iptables", "iptables-save", "iptables-restore", "ipset", "socat", "conntrack"]) {
    if ((await sh("sh", ["-c", `command -v ${command}`]).catch(() => "")) === "")
      return `needs \`${command}\` on PATH (.ci/run installs the Debian packages)`;
  }
  const probe = `${NETNS_PREFIX}${process.pid}-check`;
  try {
    await sh("ip", ["netns", "add", probe]);
    await sh("ip", ["-n", probe, "link", "add", "c0", "type", "veth", "peer", "name", "c1"]);
    await sh("ip", ["netns", "exec", probe, "iptables", "-w", "-A", "INPUT", "-j", "ACCEPT"]);
    await sh("ip", ["netns", "exec", probe, "ipset", "create", "netfence-check", "hash:ip"]);
    await sh("ip", ["netns", "exec", probe, "ipset", "destroy", "netfence-check"]);
    return undefined;
  } catch (error) {
    return `the kernel lacks a feature kube-router needs: ${(error as Error).message.split("\n")[0]}`;
  } finally {
    await sh("ip", ["netns", "del", probe]).catch(() => {});
  }
}

interface Started {
  name: string;
  child: ChildProcess;
}

export class Dataplane {
  /** Network namespaces of this run start with this; its pids make stale ones recognisable. */
  readonly prefix = `${NETNS_PREFIX}${process.pid}`;
  readonly nodeNetns = `${this.prefix}-node`;
  private readonly netnses: string[] = [];
  private readonly processes: Started[] = [];
  /** Control sockets of the pod agents, removed on teardown. */
  private readonly networks: string[] = [];
  private readonly socketDir: string;
  /** Each run its own /20 of 198.18.0.0/16 (the gateway's 198.18.0.x stays outside every run's range). */
  private readonly subnetBase = 16 + (process.pid % 15) * 16;
  private podCount = 0;
  private sentinel: { client: Pod; server: Pod; generation: number } | undefined;
  private caCert: string | undefined;

  readonly cluster: Cluster;
  /** Every pod serves TCP and UDP on each of these ports, declared in its spec or not (notes #11). */
  readonly ports: number[];

  constructor(cluster: Cluster, ports: number[]) {
    this.cluster = cluster;
    this.ports = ports;
    this.socketDir = join(cluster.dir, "dataplane");
  }

  private start(
    name: string,
    netns: string | undefined,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv = {},
  ): ChildProcess {
    const log = createWriteStream(join(this.socketDir, `${name.replace(/\//g, "_")}.log`), { flags: "a" });
    const argv = netns === undefined ? [command, ...args] : ["ip", "netns", "exec", netns, command, ...args];
    // A process group of its own: teardown signals the group, so nothing it forked (socat) survives.
    const child = spawn(argv[0]!, argv.slice(1), {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    child.stdout!.pipe(log);
    child.stderr!.pipe(log);
    this.processes.push({ name, child });
    return child;
  }

  private async addNetns(name: string): Promise<void> {
    await sh("ip", ["netns", "add", name]);
    this.netnses.push(name);
    await sh("ip", ["-n", name, "link", "set", "lo", "up"]);
  }

  async up(): Promise<void> {
    await sweepStaleRuns();
    mkdirSync(this.socketDir, { recursive: true });
    await this.addNetns(this.nodeNetns);
    // icmp_ratelimit=0: a REJECT's port-unreachable is otherwise rate-limited per destination and
    // blocked probes would look like timeouts (notes/dataplane.md #1).
    await sh("ip", [
      "netns",
      "exec",
      this.nodeNetns,
      "sysctl",
      "-q",
      "-w",
      "net.ipv4.ip_forward=1",
      "net.ipv4.icmp_ratelimit=0",
    ]);

    // The API server stays on the host's loopback; the node namespace reaches it at the same address
    // through a relay over a Unix socket, so kube-router can use the harness's kubeconfig as it is.
    const apiPort = new URL(this.cluster.apiserverUrl).port;
    const relaySocket = join(this.socketDir, "apiserver.sock");
    this.start("relay-host", undefined, "socat", [
      `UNIX-LISTEN:${relaySocket},fork,unlink-early`,
      `TCP:127.0.0.1:${apiPort}`,
    ]);
    this.start("relay-node", this.nodeNetns, "socat", [
      `TCP-LISTEN:${apiPort},bind=127.0.0.1,fork,reuseaddr`,
      `UNIX-CONNECT:${relaySocket}`,
    ]);

    await this.api("POST", "/api/v1/nodes", {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: NODE_NAME, labels: { "kubernetes.io/hostname": NODE_NAME } },
    });
    await this.writeStatus(`/api/v1/nodes/${NODE_NAME}`, {
      addresses: [
        { type: "InternalIP", address: GATEWAY },
        { type: "Hostname", address: NODE_NAME },
      ],
    });

    const kubeRouter = join(this.cluster.bin, "kube-router");
    if (!existsSync(kubeRouter)) throw new Error(`${kubeRouter} is missing: test/e2e/build-binaries.sh builds it`);
    // NODE_NAME first: kube-router would otherwise pick a Node named like the machine (notes #Topology).
    this.start(
      "kube-router",
      this.nodeNetns,
      kubeRouter,
      [
        "--run-firewall=true",
        "--run-router=false",
        "--run-service-proxy=false",
        `--kubeconfig=${this.cluster.kubeconfig}`,
        `--hostname-override=${NODE_NAME}`,
        "--health-port=0",
        "--service-cluster-ip-range=10.0.0.0/24",
        // Each watch event and each sync with its timings, for reading a failure against the log.
        "--v=2",
      ],
      { NODE_NAME },
    );

    await this.api("POST", "/api/v1/namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: SENTINEL_NAMESPACE },
    });
    const [client, server] = await Promise.all([
      this.addPod({ namespace: SENTINEL_NAMESPACE, name: "client", labels: { role: "client" } }, SENTINEL_PORTS),
      this.addPod({ namespace: SENTINEL_NAMESPACE, name: "server", labels: { role: "server" } }, SENTINEL_PORTS),
    ]);
    this.sentinel = { client: client!, server: server!, generation: 0 };
    const sentinelOpen = async (port: number) => this.isOpen(await this.probe(client!, server!, port, "TCP"), server!);
    await this.until("the sentinel pods to answer each other", () => sentinelOpen(SENTINEL_PORTS[0]!), 30_000);
    // The sentinel server is isolated for good; each barrier generation then opens one port of it.
    // Open proves only the servers: kube-router is up once it enforces the isolation.
    await this.api("POST", SENTINEL_POLICIES, {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "sentinel-isolation", namespace: SENTINEL_NAMESPACE },
      spec: { podSelector: { matchLabels: { role: "server" } }, policyTypes: ["Ingress"] },
    });
    await this.until(
      `kube-router to isolate the sentinel server; see ${join(this.socketDir, "kube-router.log")}`,
      async () => !(await sentinelOpen(SENTINEL_PORTS[0]!)),
      STARTUP_TIMEOUT_MS,
    );
    await this.barrier();
  }

  /**
   * One call to the API server over HTTPS with the harness's admin token. Much cheaper than a kubectl
   * process, which matters for the hundreds of objects a differential run writes. Throws on an error
   * status unless `allowFailure`, then returns it.
   */
  async api(
    method: string,
    path: string,
    body?: unknown,
    options: { patch?: boolean; allowFailure?: boolean } = {},
  ): Promise<{ status: number; json: any }> {
    this.caCert ??= Buffer.from(
      parse(readFileSync(this.cluster.kubeconfig, "utf8")).clusters[0].cluster["certificate-authority-data"],
      "base64",
    ).toString();
    const url = new URL(path, this.cluster.apiserverUrl);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const response = await new Promise<{ status: number; json: any }>((resolveCall, reject) => {
      const call = request(
        url,
        {
          method,
          ca: this.caCert,
          headers: {
            authorization: `Bearer ${this.cluster.token}`,
            accept: "application/json",
            ...(payload === undefined
              ? {}
              : { "content-type": options.patch ? "application/merge-patch+json" : "application/json" }),
          },
        },
        (res) => {
          let data = "";
          res.on("data", (chunk) => (data += chunk));
          res.on("end", () => resolveCall({ status: res.statusCode ?? 0, json: data === "" ? {} : JSON.parse(data) }));
        },
      );
      call.on("error", reject);
      call.end(payload);
    });
    if (response.status >= 300 && !options.allowFailure)
      throw new Error(`${method} ${path}: ${response.status} ${response.json.message ?? ""}`);
    return response;
  }

  private async writeStatus(path: string, status: Record<string, unknown>): Promise<void> {
    await this.api("PATCH", `${path}/status`, { status }, { patch: true });
  }

  private nextAddress(): string {
    const n = this.podCount++;
    if (n >= 16 * 250) throw new Error("this run has used up its 198.18 sub-range");
    return `198.18.${this.subnetBase + Math.floor(n / 250)}.${(n % 250) + 2}`;
  }

  /** A pod whose agent answers with its `namespace/name` (on `ports`, by default the dataplane's). */
  async addPod(spec: PodSpec, ports = this.ports): Promise<Pod> {
    return this.createPodObject(await this.addPodNetwork(`${spec.namespace}/${spec.name}`, ports), spec);
  }

  /** Network namespace, routed veth and agent of a pod, without the Pod object. */
  async addPodNetwork(answer: string, ports = this.ports): Promise<PodNetwork> {
    const index = this.podCount;
    const ip = this.nextAddress();
    const netns = `${this.prefix}-p${index}`;
    const veth = `p${index}`;
    await this.addNetns(netns);
    const node = ["-n", this.nodeNetns];
    await sh("ip", [...node, "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns]);
    await sh("ip", [...node, "addr", "add", `${GATEWAY}/32`, "dev", veth]);
    await sh("ip", [...node, "link", "set", veth, "up"]);
    await sh("ip", [...node, "route", "add", `${ip}/32`, "dev", veth]);
    const pod = ["-n", netns];
    await sh("ip", [...pod, "addr", "add", `${ip}/32`, "dev", "eth0"]);
    await sh("ip", [...pod, "link", "set", "eth0", "up"]);
    await sh("ip", [...pod, "route", "add", `${GATEWAY}/32`, "dev", "eth0"]);
    // No default route: nothing a pod sends can leave 198.18.0.0/16.
    await sh("ip", [...pod, "route", "add", "198.18.0.0/16", "via", GATEWAY, "dev", "eth0"]);

    const controlSocket = join(this.socketDir, `${veth}.sock`);
    const agent = this.start(`pod-${veth}`, netns, process.execPath, [
      join(import.meta.dirname, "pod-agent.ts"),
      answer,
      controlSocket,
      ports.join(","),
    ]);
    await new Promise<void>((resolveReady, reject) => {
      agent.stdout!.on("data", (chunk: Buffer) => chunk.toString().includes("ready") && resolveReady());
      agent.once("exit", (code) => reject(new Error(`the agent of ${answer} exited with ${code}`)));
    });
    this.networks.push(controlSocket);
    return { ip, netns, controlSocket, answer };
  }

  /** The Pod object on a pod network, with the status a kubelet would write (kube-router reads it). */
  async createPodObject(network: PodNetwork, spec: PodSpec): Promise<Pod> {
    const containerPorts = (spec.containerPorts ?? []).map((p) => ({ protocol: "TCP", ...p }));
    const manifest = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: spec.name, namespace: spec.namespace, labels: spec.labels },
      spec: {
        nodeName: NODE_NAME,
        containers: [{ name: "agent", image: "netfence.invalid/pod-agent", ports: containerPorts }],
      },
    };
    const path = `/api/v1/namespaces/${spec.namespace}/pods`;
    await this.api("POST", path, manifest);
    await this.writeStatus(`${path}/${spec.name}`, {
      phase: "Running",
      hostIP: GATEWAY,
      hostIPs: [{ ip: GATEWAY }],
      podIP: network.ip,
      podIPs: [{ ip: network.ip }],
    });
    return { ...spec, ...network, id: `${spec.namespace}/${spec.name}` };
  }

  /** One fresh connection from `from` to `to` (never reused: established flows outlive new policies). */
  probe(from: PodNetwork, to: PodNetwork, port: number, protocol: Protocol): Promise<ProbeResult> {
    return new Promise((resolveProbe) => {
      const control = connect(from.controlSocket);
      let reply = "";
      control.on("data", (chunk) => (reply += chunk));
      control.on("end", () => resolveProbe(JSON.parse(reply) as ProbeResult));
      control.on("error", (error) => resolveProbe({ error: `agent of ${from.answer} unreachable: ${error.message}` }));
      control.end(`${JSON.stringify({ to: to.ip, port, protocol, timeoutMs: PROBE_TIMEOUT_MS })}\n`);
    });
  }

  /** Open means the destination pod itself answered; anything else (refused, timeout) is blocked. */
  isOpen(result: ProbeResult, to: PodNetwork): boolean {
    return "answer" in result && result.answer === to.answer;
  }

  /**
   * Returns once kube-router enforces every change made before the call (notes/dataplane.md #9).
   *
   * kube-router syncs from three informer caches (pods, namespaces, NetworkPolicies), each fed by its
   * own watch, so they lag the API server independently, and one sync lists them at different moments
   * (network_policy_controller.go fullPolicySync; the policies come out of the lister in no fixed
   * order). A sync that already shows the last write of a case can therefore still be missing an
   * earlier write on another stream, e.g. a pod whose IP is not yet in the pod cache gets no firewall
   * chain and is open to everyone. So a generation writes to all three streams: the sentinel
   * namespace and client pod get the generation's label and a policy admits, on the generation's own
   * port, only a client with that label in a namespace with that label. The port turns open only in
   * a sync whose reads saw all three writes, hence everything written before them on each stream.
   * Two generations: every read of the sync that shows the second one comes after the sync that
   * showed the first has finished, so none of its reads (in whatever order) predates this call's
   * writes. A sync that never comes (kube-router aborts a failed iptables-restore silently, #10)
   * fails here, loudly.
   */
  async barrier(timeoutMs = SYNC_TIMEOUT_MS): Promise<void> {
    for (let i = 0; i < 2; i++) await this.generation(timeoutMs);
  }

  private async generation(timeoutMs: number): Promise<void> {
    const sentinel = this.sentinel!;
    const generation = ++sentinel.generation;
    const port = SENTINEL_PORTS[generation % SENTINEL_PORTS.length]!;
    const label = { [GENERATION_LABEL]: String(generation) };
    await this.api(
      "PATCH",
      `/api/v1/namespaces/${SENTINEL_NAMESPACE}`,
      { metadata: { labels: label } },
      { patch: true },
    );
    await this.api(
      "PATCH",
      `/api/v1/namespaces/${SENTINEL_NAMESPACE}/pods/client`,
      { metadata: { labels: label } },
      { patch: true },
    );
    await this.api("POST", SENTINEL_POLICIES, {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: `sentinel-${generation}`, namespace: SENTINEL_NAMESPACE },
      spec: {
        podSelector: { matchLabels: { role: "server" } },
        policyTypes: ["Ingress"],
        ingress: [
          {
            from: [{ namespaceSelector: { matchLabels: label }, podSelector: { matchLabels: label } }],
            ports: [{ protocol: "TCP", port }],
          },
        ],
      },
    });
    if (generation > 1) await this.api("DELETE", `${SENTINEL_POLICIES}/sentinel-${generation - 1}`);
    await this.until(
      `kube-router to apply sentinel generation ${generation} (port ${port} open); look for "Aborting sync" in ${join(this.socketDir, "kube-router.log")}`,
      async () => this.isOpen(await this.probe(sentinel.client, sentinel.server, port, "TCP"), sentinel.server),
      timeoutMs,
    );
  }

  /**
   * Forgets every connection the node tracks. kube-router accepts RELATED,ESTABLISHED before any
   * policy, so a flow tracked in one case (a UDP one lives 30 s, a TCP one in TIME_WAIT 120 s) would
   * otherwise still pass in the next case, whatever its policies say, if a probe reuses its tuple.
   */
  async flushConntrack(): Promise<void> {
    // conntrack -F reports on stderr, and fails only when it cannot reach the kernel.
    await sh("ip", ["netns", "exec", this.nodeNetns, "conntrack", "-F"]);
  }

  /** What the node's netfilter holds for a flow: for a failure report. */
  async netfilterState(from: PodNetwork, to: PodNetwork, port: number, protocol: Protocol): Promise<string> {
    const inNode = (command: string, args: string[]) =>
      sh("ip", ["netns", "exec", this.nodeNetns, command, ...args]).catch((error: Error) => error.message);
    const tracked = await inNode("conntrack", [
      "-L",
      "-p",
      protocol.toLowerCase(),
      "-s",
      from.ip,
      "-d",
      to.ip,
      "--dport",
      String(port),
    ]);
    return [
      `conntrack -L for ${from.ip} -> ${to.ip} ${protocol}/${port}:\n${tracked.trim() || "(none)"}`,
      `iptables-save -t filter:\n${await inNode("iptables-save", ["-t", "filter"])}`,
      `ipset list:\n${await inNode("ipset", ["list"])}`,
    ].join("\n");
  }

  private async until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(50);
    }
  }

  private async stop({ child }: Started): Promise<void> {
    this.processes.splice(
      this.processes.findIndex((p) => p.child === child),
      1,
    );
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    const exited = new Promise((r) => child.once("exit", r));
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // the group is already gone
      }
    };
    signalGroup("SIGTERM");
    await Promise.race([exited, sleep(5_000).then(() => signalGroup("SIGKILL"))]);
  }

  /** Stops every process this dataplane started (by process group), then deletes its network namespaces. */
  async down(): Promise<void> {
    for (const started of [...this.processes].reverse()) await this.stop(started);
    for (const netns of this.netnses.reverse()) await sh("ip", ["netns", "del", netns]).catch(() => {});
    this.netnses.length = 0;
    for (const socket of this.networks) rmSync(socket, { force: true });
  }
}
