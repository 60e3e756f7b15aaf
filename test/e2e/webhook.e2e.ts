// kubectl apply against a real kube-apiserver that calls netfence over TLS. Each case asserts what a
// user sees: the exit code, the stderr text, `Warning:` lines and the stored object.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { parse, parseAllDocuments } from "yaml";
import { REPO } from "./harness.ts";
import { startCluster } from "./start-cluster.ts";

const cluster = await startCluster({ allowedIngressNamespaces: ["monitoring", "ingress-nginx"] });

const namespace = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, labels },
});
const policy = (ns: string, name: string, spec: Record<string, unknown>) => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name, namespace: ns },
  spec: { podSelector: {}, ...spec },
});
const service = (
  ns: string,
  name: string,
  spec: Record<string, unknown>,
  annotations: Record<string, string> = {},
) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace: ns, annotations },
  spec: { ports: [{ port: 80 }], ...spec },
});

await cluster.kubectlApply([namespace("open"), namespace("iso"), namespace("monitoring")]);

t.test("a NetworkPolicy with 10.0.0.1/8 is refused by netfence, naming the field and the network", async (t) => {
  const result = await cluster.kubectlApply([
    policy("open", "host-bits", { ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.1/8" } }] }] }),
  ]);
  t.not(result.code, 0);
  t.match(result.stderr, /admission webhook "validate\.netfence\.io" denied the request/);
  t.match(result.stderr, "spec.ingress[0].from[0].ipBlock.cidr");
  t.match(result.stderr, "`10.0.0.0/8`");
  t.equal((await cluster.kubectl(["get", "networkpolicy", "host-bits", "-n", "open"])).code, 1, "nothing stored");
});

t.test("egress rules without Egress in policyTypes are refused", async (t) => {
  const result = await cluster.kubectlApply([
    policy("open", "ignored-egress", {
      policyTypes: ["Ingress"],
      egress: [{ ports: [{ protocol: "UDP", port: 53 }] }],
    }),
  ]);
  t.not(result.code, 0);
  t.match(result.stderr, /NP003 spec\.egress: .*add `Egress` to `spec\.policyTypes`/);
});

t.test("every correct policy from the source documents is accepted; the 0.0.0.0/0 recipe warns NP024", async (t) => {
  const dir = join(REPO, "test/fixtures/seeds");
  const expected = parse(readFileSync(join(dir, "expected.yaml"), "utf8")) as Record<
    string,
    { findings?: { rule: string; action: string }[] }
  >;
  let accepted = 0;
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".yaml") && f !== "expected.yaml")) {
    const findings = (expected[file] ?? expected[file.replace(/\.yaml$/, "")])?.findings ?? [];
    if (findings.some((f) => f.action === "deny")) continue;
    const object = parseAllDocuments(readFileSync(join(dir, file), "utf8"))[0]!.toJS();
    object.metadata.namespace = "open";
    if (object.apiVersion !== "networking.k8s.io/v1") continue;
    const result = await cluster.kubectlApply([object]);
    t.equal(result.code, 0, `${file} accepted: ${result.stderr}`);
    // NP040 depends on the namespace being isolated; "open" is not.
    for (const f of findings.filter((f) => f.rule !== "NP040"))
      t.match(result.stderr, new RegExp(`Warning: ${f.rule} `), `${file}: warns ${f.rule}`);
    accepted++;
  }
  t.ok(accepted >= 5, `${accepted} seed policies applied`);
});

t.test("isolation on: netfence-isolation appears, with the allowed namespaces", async (t) => {
  t.equal((await cluster.kubectl(["label", "namespace", "iso", "netfence.io/isolation=enabled"])).code, 0);
  const managed = await cluster.eventually(
    "netfence-isolation in iso",
    () => cluster.getJson(["networkpolicy", "netfence-isolation", "-n", "iso"]).catch(() => undefined),
    (p) => p !== undefined,
  );
  t.same(managed.spec.ingress[0], { from: [{ podSelector: {} }] }, JSON.stringify(managed.spec));
  t.same(managed.spec.ingress[1].from[0].namespaceSelector.matchExpressions[0].values, ["ingress-nginx", "monitoring"]);
  t.equal(managed.metadata.labels["app.kubernetes.io/managed-by"], "netfence");
  const events = await cluster.eventually(
    "an Event for the new policy",
    () => cluster.getJson(["events", "-n", "iso"]),
    (list) => list.items.some((e: { reason: string }) => e.reason === "IsolationPolicyCreated"),
  );
  t.match(
    events.items.find((e: { reason: string }) => e.reason === "IsolationPolicyCreated").message,
    /ingress only from this namespace and ingress-nginx, monitoring/,
  );
});

t.test(
  "a policy applied in the isolated namespace is stored with the injected rule; re-applying changes nothing",
  async (t) => {
    const mine = policy("iso", "web", {
      podSelector: { matchLabels: { app: "web" } },
      ingress: [{ from: [{ podSelector: { matchLabels: { app: "api" } } }] }],
    });
    t.equal((await cluster.kubectlApply([mine])).code, 0);
    const stored = await cluster.getJson(["networkpolicy", "web", "-n", "iso"]);
    t.equal(stored.metadata.annotations["netfence.io/injected-ingress-namespaces"], "ingress-nginx,monitoring");
    t.equal(stored.spec.ingress.length, 2);
    t.same(stored.spec.ingress[1].from[0].namespaceSelector.matchExpressions, [
      { key: "kubernetes.io/metadata.name", operator: "In", values: ["ingress-nginx", "monitoring"] },
    ]);
    // kubectl sends its one-rule list again (it replaces lists without a merge key); the webhook
    // injects the same rule, so the apiserver finds nothing to store.
    t.equal((await cluster.kubectlApply([mine])).code, 0);
    const after = await cluster.getJson(["networkpolicy", "web", "-n", "iso"]);
    t.equal(after.metadata.resourceVersion, stored.metadata.resourceVersion, "no new resourceVersion");
    t.equal(after.spec.ingress.length, 2, "the rule is not injected twice");
  },
);

t.test(
  "Services: empty selector refused when isolated, accepted elsewhere, with the opt-out, and for ExternalName",
  async (t) => {
    const refused = await cluster.kubectlApply([service("iso", "no-selector", {})]);
    t.not(refused.code, 0);
    t.match(refused.stderr, /denied the request: .*SVC001/);
    t.equal(
      (await cluster.kubectlApply([service("open", "no-selector", {})])).code,
      0,
      "accepted in a namespace that is not isolated",
    );
    t.equal(
      (await cluster.kubectlApply([service("iso", "manual", {}, { "netfence.io/allow-empty-selector": "true" })])).code,
      0,
      "accepted with the opt-out",
    );
    t.equal(
      (
        await cluster.kubectlApply([
          service("iso", "db", { type: "ExternalName", externalName: "db.example.com", ports: undefined }),
        ])
      ).code,
      0,
      "ExternalName accepted",
    );
  },
);

t.test("a kube-proxy ConfigMap with masqueradeAll true is applied with a warning", async (t) => {
  const configMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "kube-proxy", namespace: "kube-system" },
    data: {
      "config.conf":
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\niptables:\n  masqueradeAll: true\n",
    },
  };
  const result = await cluster.kubectlApply([configMap]);
  t.equal(result.code, 0, result.stderr);
  t.match(result.stderr, /Warning: KP001 data\[config\.conf\]: `iptables\.masqueradeAll: true`/);
});

t.test("--dry-run=server gets the same verdicts and changes nothing", async (t) => {
  const denied = await cluster.kubectlApply(
    [policy("open", "dry-bad", { ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.1/8" } }] }] })],
    ["--dry-run=server"],
  );
  t.match(denied.stderr, /denied the request: .*NP021/);
  const dry = await cluster.kubectlApply([policy("iso", "dry-ok", {})], ["--dry-run=server", "-o", "json"]);
  t.equal(dry.code, 0);
  t.equal(
    JSON.parse(dry.stdout).metadata.annotations["netfence.io/injected-ingress-namespaces"],
    "ingress-nginx,monitoring",
    "mutated the same way",
  );
  t.equal((await cluster.kubectl(["get", "networkpolicy", "dry-ok", "-n", "iso"])).code, 1, "nothing stored");
});

t.test("isolation off: managed policies deleted, the user's own policy kept", async (t) => {
  t.equal((await cluster.kubectl(["label", "namespace", "iso", "netfence.io/isolation-"])).code, 0);
  await cluster.eventually(
    "netfence-isolation deleted",
    async () => (await cluster.kubectl(["get", "networkpolicy", "netfence-isolation", "-n", "iso"])).code,
    (code) => code !== 0,
  );
  t.equal((await cluster.kubectl(["get", "networkpolicy", "web", "-n", "iso"])).code, 0, "the user's policy stays");
  const events = await cluster.getJson(["events", "-n", "iso"]);
  t.ok(
    events.items.some((e: { reason: string }) => e.reason === "IsolationPolicyDeleted"),
    "an Event says why it vanished",
  );
});

t.test(
  "netfence stopped: Ignore lets requests pass, Fail refuses them clearly; restarted: enforcement resumes",
  async (t) => {
    const bad = policy("open", "while-down", { ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.1/8" } }] }] });
    await cluster.stopNetfence();
    const failClosed = await cluster.kubectlApply([bad], ["--dry-run=server"]);
    t.not(failClosed.code, 0, "failurePolicy Fail refuses");
    t.match(failClosed.stderr, /failed calling webhook "validate\.netfence\.io"/);
    await cluster.kubectlApply(cluster.webhookConfigurations("Ignore"));
    const failOpen = await cluster.eventually(
      "fail-open",
      () => cluster.kubectlApply([bad], ["--dry-run=server"]),
      (r) => r.code === 0,
    );
    t.equal(failOpen.code, 0, "failurePolicy Ignore lets it through");
    await cluster.startNetfence();
    await cluster.registerWebhooks("Fail");
    const enforced = await cluster.kubectlApply([bad], ["--dry-run=server"]);
    t.match(enforced.stderr, /denied the request: .*NP021/, "enforcement resumes");
  },
);

const netfence = (args: string[]) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolveRun) => {
    const child = spawn(process.execPath, [join(REPO, "src/cli.ts"), ...args], {
      env: { ...process.env, KUBECONFIG: cluster.kubeconfig, NETFENCE_CONFIG: "" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => resolveRun({ code: code ?? -1, stdout, stderr }));
  });

t.test("netfence audit lists the findings of the live cluster, page by page", async (t) => {
  const full = await netfence(["audit", "-o", "json"]);
  t.equal(full.code, 0, full.stderr);
  const report = JSON.parse(full.stdout);
  const rules = report.results.flatMap((r: { findings: { ruleId: string }[] }) => r.findings.map((f) => f.ruleId));
  t.ok(rules.includes("KP001"), "the kube-proxy ConfigMap's masqueradeAll");
  t.ok(rules.includes("NP024"), "the stored 0.0.0.0/0 recipe");
  t.ok(report.summary.objects > 20, `${report.summary.objects} objects`);
  const paged = JSON.parse((await netfence(["audit", "-o", "json", "--page-size", "2"])).stdout);
  t.same(paged.summary, report.summary, "limit/continue paging reads the same objects");
});

t.test(
  "netfence allow ... | kubectl apply -f - works for every allowlist flow, in an isolated namespace",
  async (t) => {
    // allow's policies are managed: the reconciler removes them wherever isolation is off.
    await cluster.kubectlApply([namespace("allowlisted", { "netfence.io/isolation": "enabled" })]);
    await cluster.kubectlApply([
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "nginx", namespace: "monitoring" },
        spec: { selector: { app: "nginx" }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    ]);
    const flows = [
      ["ingress", "-n", "allowlisted", "--from-namespace", "monitoring"],
      ["egress", "-n", "allowlisted", "--to-service", "monitoring/nginx"],
      [
        "egress",
        "-n",
        "allowlisted",
        "--to-service",
        "monitoring/nginx",
        "--selector",
        "app=nginx",
        "--port",
        "8080",
        "--name",
        "offline-service",
      ],
      ["ingress", "-n", "allowlisted", "--cidr", "192.168.1.1/32", "--port", "80", "--protocol", "TCP"],
      ["egress", "-n", "allowlisted", "--cidr", "10.1.0.1/32", "--port", "9000", "--protocol", "SCTP"],
    ];
    for (const flow of flows) {
      const printed = await netfence(["allow", ...flow]);
      t.equal(printed.code, 0, `allow ${flow.join(" ")}: ${printed.stderr}`);
      const applied = await cluster.kubectl(["apply", "-f", "-"], printed.stdout);
      t.equal(applied.code, 0, `kubectl apply: ${applied.stderr}`);
      t.notMatch(applied.stderr, /denied/);
    }
    const service = await cluster.getJson(["networkpolicy", "allow-egress-to-monitoring-nginx", "-n", "allowlisted"]);
    t.same(
      service.spec.egress[0].ports,
      [{ protocol: "TCP", port: 8080 }],
      "the Service's targetPort, read from the cluster",
    );
    t.equal((await cluster.kubectl(["label", "namespace", "allowlisted", "netfence.io/isolation-"])).code, 0);
    await cluster.eventually(
      "allowlist policies removed with isolation",
      async () => (await cluster.getJson(["networkpolicy", "-n", "allowlisted"])).items.length,
      (count) => count === 0,
    );
  },
);
