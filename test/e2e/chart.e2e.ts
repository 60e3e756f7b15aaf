// The Helm chart against a real kube-apiserver: the rendered manifests sent with --dry-run=server, the
// rendered webhook selectors exercised against that apiserver (what reaches netfence and what never
// does, and what still works while netfence is down), and a real helm install/upgrade/uninstall
// proving that the generated certificate survives upgrades. What `helm template` alone can show
// (every template, every mode, refused values) is in test/chart/render.test.ts, part of `npm test`.
import { X509Certificate } from "node:crypto";
import { request } from "node:https";
import t from "tap";
import { stringify } from "yaml";
import { CHART, COMBINATIONS, NAMESPACE, RELEASE, helmAt, ofKind, type Obj } from "../chart/helm.ts";
import { join } from "node:path";
import { binDir } from "./harness.ts";
import { startCluster } from "./start-cluster.ts";

const chartHelm = helmAt(join(binDir(), "helm"));
t.teardown(chartHelm.cleanup);
const { render } = chartHelm;
const helm = chartHelm.run;

// From here on: a real etcd + kube-apiserver (and the harness's own netfence process).
const cluster = await startCluster();
const kubectl = (args: string[], stdin?: string) => cluster.kubectl(args, stdin);
await kubectl(["create", "namespace", NAMESPACE]);

// The test apiserver has no cert-manager CRDs, so Issuer and Certificate (cert-manager mode) cannot be
// sent to it; their rendering is asserted above. Every other object is.
const WITHOUT_CRDS = new Set(["Issuer", "Certificate"]);

t.test("the real kube-apiserver accepts every rendered manifest (--dry-run=server)", async (t) => {
  // The PodSecurity admission plugin warns about workload templates that a namespace's level forbids.
  const labelled = await kubectl([
    "label",
    "namespace",
    NAMESPACE,
    "pod-security.kubernetes.io/warn=restricted",
    "pod-security.kubernetes.io/enforce=restricted",
  ]);
  t.equal(labelled.code, 0, labelled.stderr);
  const unhardened = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "unhardened", namespace: NAMESPACE },
    spec: {
      selector: { matchLabels: { a: "b" } },
      template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ name: "c", image: "x" }] } },
    },
  };
  t.match(
    (await cluster.kubectlApply([unhardened], ["--dry-run=server"])).stderr,
    /would violate PodSecurity "restricted/,
    "control: the apiserver checks Pod Security here",
  );
  for (const { mode, reconciler, values } of COMBINATIONS) {
    const r = await render(values);
    const objects = r.objects.filter((o) => !WITHOUT_CRDS.has(o.kind));
    // helm template's output as it is, unless cert-manager kinds had to be taken out.
    const manifests = objects.length === r.objects.length ? r.yaml : objects.map((o) => stringify(o)).join("---\n");
    const result = await kubectl(["apply", "--dry-run=server", "-f", "-"], manifests);
    t.equal(result.code, 0, `${mode}, reconciler ${reconciler}: ${result.stderr}`);
    t.equal(
      result.stdout
        .trim()
        .split("\n")
        .filter((line) => line.endsWith("(server dry run)")).length,
      objects.length,
      `${mode}, reconciler ${reconciler}: every object`,
    );
    t.notMatch(
      result.stderr,
      /PodSecurity/,
      `${mode}, reconciler ${reconciler}: the pods meet the restricted Pod Security Standard`,
    );
  }
  await kubectl([
    "label",
    "namespace",
    NAMESPACE,
    "pod-security.kubernetes.io/warn-",
    "pod-security.kubernetes.io/enforce-",
  ]);
});

async function netfenceMetric(name: string, labels: Record<string, string>): Promise<number> {
  const ca = Buffer.from(cluster.netfenceCaBundle, "base64").toString();
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: cluster.netfencePort, path: "/metrics", ca, agent: false },
      (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve(body));
      },
    );
    req.on("error", reject);
    req.end();
  });
  let sum = 0;
  for (const line of text.split("\n")) {
    const match = /^(\w+)\{(.*)\} (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const lineLabels = Object.fromEntries([...match[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => lineLabels[k] === v)) sum += Number(match[3]);
  }
  return sum;
}

const policy = (namespace: string, name: string, spec: Obj = {}) => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name, namespace },
  spec: { podSelector: {}, ...spec },
});
const hostBits = (namespace: string, name: string) =>
  policy(namespace, name, { ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.1/8" } }] }] });
const service = (namespace: string, name: string) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, namespace },
  spec: { selector: { app: name }, ports: [{ port: 80 }] },
});
const configMap = (namespace: string, name: string, data: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "ConfigMap",
  metadata: { name, namespace },
  data,
});
const namespace = (name: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}) => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, labels, annotations },
});

/** The chart's webhook configurations, pointed at the harness's netfence process instead of the Service. */
async function chartWebhooksAtHarness(): Promise<Obj[]> {
  const r = await render({ "config.allowedIngressNamespaces": "{monitoring}" });
  const configurations = [...ofKind(r, "ValidatingWebhookConfiguration"), ...ofKind(r, "MutatingWebhookConfiguration")];
  for (const c of configurations) {
    for (const w of c.webhooks) {
      w.clientConfig = {
        url: `https://127.0.0.1:${cluster.netfencePort}${w.clientConfig.service.path}`,
        caBundle: cluster.netfenceCaBundle,
      };
    }
  }
  return configurations;
}

t.test("the rendered webhooks on a real apiserver: what reaches netfence, and what never does", async (t) => {
  // Replace the harness's hand-written webhooks with the chart's (same names).
  await kubectl([
    "delete",
    "validatingwebhookconfiguration,mutatingwebhookconfiguration",
    "netfence",
    "--ignore-not-found",
  ]);
  const applied = await cluster.kubectlApply(await chartWebhooksAtHarness());
  t.equal(applied.code, 0, applied.stderr);
  await cluster.kubectlApply([
    namespace("team"),
    namespace("opted-out", { "netfence.io/ignore": "true" }),
    namespace("iso", { "netfence.io/isolation": "enabled" }),
  ]);
  await cluster.eventually(
    "the chart's webhooks to be enforced",
    async () => (await cluster.kubectlApply([hostBits("team", "probe")], ["--dry-run=server"])).stderr,
    (stderr) => /denied the request/.test(stderr),
  );

  t.test("a NetworkPolicy with host bits is refused in an ordinary namespace", async (t) => {
    const result = await cluster.kubectlApply([hostBits("team", "host-bits")]);
    t.not(result.code, 0);
    t.match(result.stderr, /admission webhook "validate\.netfence\.io" denied the request: .*NP021/);
  });
  t.test("...but never checked in the release namespace, kube-system, or an opted-out namespace", async (t) => {
    for (const ns of [NAMESPACE, "kube-system", "opted-out"]) {
      const result = await cluster.kubectlApply([hostBits(ns, "host-bits")], ["--dry-run=server"]);
      t.equal(result.code, 0, `${ns}: ${result.stderr}`);
    }
  });
  t.test("the mutating webhook injects the allowed namespaces in an isolated namespace", async (t) => {
    const result = await cluster.kubectlApply(
      [policy("iso", "web", { ingress: [{ from: [{ podSelector: {} }] }] })],
      ["--dry-run=server", "-o", "json"],
    );
    t.equal(result.code, 0, result.stderr);
    t.equal(JSON.parse(result.stdout).metadata.annotations?.["netfence.io/injected-ingress-namespaces"], "monitoring");
  });
  t.test("the namespaces webhook warns about a malformed legacy annotation", async (t) => {
    const result = await cluster.kubectlApply(
      [namespace("legacy", {}, { "net.beta.kubernetes.io/network-policy": "not json" })],
      ["--dry-run=server"],
    );
    t.equal(result.code, 0, result.stderr);
    t.match(result.stderr, /Warning: NS001 /);
  });
  t.test("of all ConfigMaps, only kube-system/kube-proxy reaches netfence", async (t) => {
    const configMaps = () => netfenceMetric("netfence_admission_requests_total", { kind: "ConfigMap" });
    const before = await configMaps();
    for (const cm of [
      configMap("kube-system", "coredns"),
      configMap("team", "kube-proxy"),
      configMap("team", "settings"),
      configMap(NAMESPACE, "kube-proxy"),
    ]) {
      const result = await cluster.kubectlApply([cm]);
      t.equal(result.code, 0, `${cm.metadata.namespace}/${cm.metadata.name}: ${result.stderr}`);
    }
    t.equal(await configMaps(), before, "no other ConfigMap was sent to netfence");
    const kubeProxy = configMap("kube-system", "kube-proxy", {
      "config.conf":
        "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\niptables:\n  masqueradeAll: true\n",
    });
    const result = await cluster.kubectlApply([kubeProxy]);
    t.equal(result.code, 0, result.stderr);
    t.match(result.stderr, /Warning: KP001 /);
    t.equal(await configMaps(), before + 1, "the kube-proxy ConfigMap was");
  });

  t.test("with netfence down, the cluster is not locked out", async (t) => {
    await cluster.stopNetfence();
    t.test(
      "NetworkPolicy and Service writes in ordinary namespaces wait for netfence (failurePolicy Fail)",
      async (t) => {
        const p = await cluster.kubectlApply([policy("team", "down")]);
        t.not(p.code, 0);
        t.match(p.stderr, /failed calling webhook "validate\.netfence\.io"/);
        const s = await cluster.kubectlApply([service("team", "down")]);
        t.not(s.code, 0);
      },
    );
    t.test("netfence's own namespace can be repaired: its Service, Secret, ConfigMap, Deployment", async (t) => {
      const deployment = {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "repair", namespace: NAMESPACE },
        spec: {
          selector: { matchLabels: { app: "repair" } },
          template: {
            metadata: { labels: { app: "repair" } },
            spec: { containers: [{ name: "c", image: "example.invalid/repair" }] },
          },
        },
      };
      const secret = {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "repair", namespace: NAMESPACE },
        stringData: { a: "b" },
      };
      const result = await cluster.kubectlApply([
        service(NAMESPACE, "repair"),
        policy(NAMESPACE, "repair"),
        configMap(NAMESPACE, "repair"),
        secret,
        deployment,
      ]);
      t.equal(result.code, 0, result.stderr);
    });
    t.test("kube-system keeps working", async (t) => {
      const result = await cluster.kubectlApply([service("kube-system", "dns-test"), policy("kube-system", "down")]);
      t.equal(result.code, 0, result.stderr);
    });
    t.test("namespaces can be created and the kube-proxy ConfigMap changed (failurePolicy Ignore)", async (t) => {
      t.equal((await cluster.kubectlApply([namespace("created-while-down")])).code, 0);
      const fixed = configMap("kube-system", "kube-proxy", {
        "config.conf": "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n",
      });
      const result = await cluster.kubectlApply([fixed]);
      t.equal(result.code, 0, result.stderr);
    });
    t.test(
      "NetworkPolicies are stored without injection rather than refused by the mutating webhook (Ignore)",
      async (t) => {
        // Only the validating webhook refuses; the message names it, not mutate.netfence.io.
        const result = await cluster.kubectlApply([policy("iso", "down")]);
        t.match(result.stderr, /failed calling webhook "validate\.netfence\.io"/);
        t.notMatch(result.stderr, /mutate\.netfence\.io/);
      },
    );
    t.test("the API server can keep its own Services", async (t) => {
      const result = await kubectl([
        "create",
        "service",
        "clusterip",
        "apiserver-owned",
        "-n",
        "team",
        "--tcp=443:6443",
        "--as=system:apiserver",
        "--as-group=system:masters",
      ]);
      t.equal(result.code, 0, result.stderr);
    });
    t.test("labelling a namespace netfence.io/ignore=true lets its writes through at once", async (t) => {
      t.equal((await kubectl(["label", "namespace", "team", "netfence.io/ignore=true"])).code, 0);
      const result = await cluster.kubectlApply([service("team", "after-opt-out")]);
      t.equal(result.code, 0, result.stderr);
      await kubectl(["label", "namespace", "team", "netfence.io/ignore-"]);
    });
    t.test("the webhook configurations themselves can always be deleted", async (t) => {
      const deleted = await kubectl([
        "delete",
        "validatingwebhookconfiguration,mutatingwebhookconfiguration",
        "netfence",
      ]);
      t.equal(deleted.code, 0, deleted.stderr);
      const result = await cluster.kubectlApply([policy("team", "after-delete")]);
      t.equal(result.code, 0, result.stderr);
    });
  });
});

t.test("helm install, upgrade and uninstall against the real apiserver (tls.mode helm)", async (t) => {
  const kubeconfig = cluster.kubeconfig;
  const tlsSecret = () => cluster.getJson(["secret", `${RELEASE}-tls`, "-n", NAMESPACE]);
  const caBundles = async () => {
    const validating = await cluster.getJson(["validatingwebhookconfiguration", RELEASE]);
    const mutating = await cluster.getJson(["mutatingwebhookconfiguration", RELEASE]);
    return new Set([...validating.webhooks, ...mutating.webhooks].map((w: Obj) => w.clientConfig.caBundle as string));
  };
  const certificatesIn = (bundle: string) =>
    Buffer.from(bundle, "base64")
      .toString()
      .match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)!
      .map((pem) => new X509Certificate(pem));
  // The chart's webhooks point at a Service with no pods here (nothing runs them), so no write
  // outside the excluded namespaces is made while the release is installed.

  const install = await helm(
    ["install", RELEASE, CHART, "--namespace", NAMESPACE, "--set", "config.allowedIngressNamespaces={monitoring}"],
    kubeconfig,
  );
  t.equal(install.code, 0, install.stderr);
  t.match(
    install.stdout,
    "kubectl label namespace NAME netfence.io/isolation=enabled",
    "NOTES say how to turn isolation on",
  );
  t.match(install.stdout, "allowedIngressNamespaces: monitoring");
  const first = await tlsSecret();
  const firstBundles = await caBundles();
  t.same(firstBundles, new Set([first.data["ca.crt"]]), "the webhooks trust the installed Secret's CA");

  const upgrade = await helm(
    ["upgrade", RELEASE, CHART, "--namespace", NAMESPACE, "--reuse-values", "--set", "config.logLevel=debug"],
    kubeconfig,
  );
  t.equal(upgrade.code, 0, upgrade.stderr);
  const second = await tlsSecret();
  t.equal(second.data["tls.crt"], first.data["tls.crt"], "an upgrade keeps the certificate (lookup)");
  t.equal(second.data["tls.key"], first.data["tls.key"]);
  t.same(await caBundles(), firstBundles, "...and the caBundle");

  // Near expiry (pretend: the recorded expiry is moved into the past), an upgrade issues a new CA and
  // certificate, and the webhooks trust the old CA too until the pods have reloaded.
  t.equal(
    (await kubectl(["annotate", "secret", `${RELEASE}-tls`, "-n", NAMESPACE, "--overwrite", "netfence.io/not-after=1"]))
      .code,
    0,
  );
  const renew = await helm(["upgrade", RELEASE, CHART, "--namespace", NAMESPACE, "--reuse-values"], kubeconfig);
  t.equal(renew.code, 0, renew.stderr);
  const renewed = await tlsSecret();
  t.not(renewed.data["tls.crt"], first.data["tls.crt"], "a certificate near expiry is renewed");
  const newCa = new X509Certificate(Buffer.from(renewed.data["ca.crt"], "base64"));
  const oldCa = new X509Certificate(Buffer.from(first.data["ca.crt"], "base64"));
  t.ok(new X509Certificate(Buffer.from(renewed.data["tls.crt"], "base64")).verify(newCa.publicKey));
  const [bundle, ...others] = [...(await caBundles())];
  t.equal(others.length, 0, "every webhook has the same caBundle");
  t.same(
    certificatesIn(bundle!).map((c) => c.fingerprint256),
    [newCa.fingerprint256, oldCa.fingerprint256],
    "the caBundle trusts the new CA and the old one",
  );

  const settle = await helm(["upgrade", RELEASE, CHART, "--namespace", NAMESPACE, "--reuse-values"], kubeconfig);
  t.equal(settle.code, 0, settle.stderr);
  t.equal(
    (await tlsSecret()).data["tls.crt"],
    renewed.data["tls.crt"],
    "the renewed certificate is kept by the next upgrade",
  );
  t.same(
    certificatesIn([...(await caBundles())][0]!).map((c) => c.fingerprint256),
    [newCa.fingerprint256],
    "...which trusts only the new CA",
  );

  const uninstall = await helm(["uninstall", RELEASE, "--namespace", NAMESPACE, "--wait"], kubeconfig);
  t.equal(uninstall.code, 0, uninstall.stderr);
  for (const kind of [
    "validatingwebhookconfiguration",
    "mutatingwebhookconfiguration",
    "clusterrole",
    "clusterrolebinding",
  ]) {
    t.equal((await kubectl(["get", kind, RELEASE])).code, 1, `${kind} removed`);
  }
  t.equal(
    (await kubectl(["get", "role", `${RELEASE}-kube-proxy`, "-n", "kube-system"])).code,
    1,
    "the kube-system Role removed",
  );
  t.equal((await cluster.kubectlApply([policy("team", "after-uninstall")])).code, 0, "writes work after uninstall");
});
