// The Helm chart: linted and rendered in every certificate mode with the reconciler on and off, every
// safety property asserted on the rendered objects, the manifests sent to a real kube-apiserver with
// --dry-run=server, the rendered webhook selectors exercised against that apiserver (what reaches
// netfence and what never does, and what still works while netfence is down), and a real helm
// install/upgrade/uninstall proving that the generated certificate survives upgrades.
import { spawn } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { parse as parseYaml, stringify } from "yaml";
import { parseConfig } from "../../src/config.ts";
import { generateCertificates } from "../../src/server/certificates.ts";
import { Cluster, REPO, binDir } from "./harness.ts";

type Obj = Record<string, any>;

const CHART = join(REPO, "charts/netfence");
const RELEASE = "netfence";
const NAMESPACE = "netfence";
const BIN = binDir();
// Helm's cache, config and data stay out of the user's home.
const HELM_HOME = mkdtempSync(join(tmpdir(), "netfence-helm-"));
t.teardown(() => rmSync(HELM_HOME, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

// Asynchronous on purpose: a blocked event loop would stop draining the test cluster's log pipes.
function helm(args: string[], kubeconfig = "/nonexistent"): Promise<Run> {
  const child = spawn(join(BIN, "helm"), args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      ...process.env,
      KUBECONFIG: kubeconfig,
      NO_PROXY: "127.0.0.1,localhost",
      HELM_CACHE_HOME: join(HELM_HOME, "cache"),
      HELM_CONFIG_HOME: join(HELM_HOME, "config"),
      HELM_DATA_HOME: join(HELM_HOME, "data"),
    },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

const setArgs = (values: Record<string, string>) => Object.entries(values).flatMap(([key, value]) => ["--set", `${key}=${value}`]);

function template(values: Record<string, string> = {}, extra: string[] = []): Promise<Run> {
  return helm(["template", RELEASE, CHART, "--namespace", NAMESPACE, ...setArgs(values), ...extra]);
}

interface Rendered {
  yaml: string;
  objects: Obj[];
  /** Kinds rendered by each template file. */
  kindsBySource: Map<string, Set<string>>;
}

async function render(values: Record<string, string> = {}, extra: string[] = []): Promise<Rendered> {
  const run = await template(values, extra);
  if (run.code !== 0) throw new Error(`helm template ${JSON.stringify(values)} failed: ${run.stderr}`);
  const objects: Obj[] = [];
  const kindsBySource = new Map<string, Set<string>>();
  for (const document of run.stdout.split(/^---$/m)) {
    const object = parseYaml(document) as Obj | null;
    if (object === null || object === undefined) continue;
    objects.push(object);
    const source = /^# Source: (.+)$/m.exec(document)?.[1] ?? "(unknown)";
    kindsBySource.set(source, (kindsBySource.get(source) ?? new Set()).add(object.kind));
  }
  return { yaml: run.stdout, objects, kindsBySource };
}

const ofKind = (r: Rendered, kind: string) => r.objects.filter((o) => o.kind === kind);
function one(r: Rendered, kind: string, name?: string): Obj {
  const found = ofKind(r, kind).filter((o) => name === undefined || o.metadata.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ""}, found ${found.length}`);
  return found[0]!;
}
const webhooksOf = (r: Rendered): Obj[] => [...ofKind(r, "ValidatingWebhookConfiguration"), ...ofKind(r, "MutatingWebhookConfiguration")].flatMap((c) => c.webhooks);
const webhook = (r: Rendered, name: string): Obj => {
  const found = webhooksOf(r).find((w) => w.name === name);
  if (found === undefined) throw new Error(`no webhook ${name}`);
  return found;
};

/** Kubernetes label selector semantics (matchLabels AND matchExpressions), for namespace labels. */
function selects(selector: Obj | undefined, labels: Record<string, string>): boolean {
  if (selector === undefined) return true;
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const { key, operator, values } of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, key);
    const ok =
      operator === "In" ? has && values.includes(labels[key]) :
      operator === "NotIn" ? !has || !values.includes(labels[key]) :
      operator === "Exists" ? has :
      operator === "DoesNotExist" ? !has :
      false;
    if (!ok) return false;
  }
  return true;
}
const namespaceLabels = (name: string, extra: Record<string, string> = {}) => ({ "kubernetes.io/metadata.name": name, ...extra });

// A CA bundle for the existing-Secret mode.
const existing = await generateCertificates({ dnsNames: [`${RELEASE}.${NAMESPACE}.svc`] });
const EXISTING_CA_BUNDLE = Buffer.from(existing.caCert).toString("base64");

const MODES: Record<string, Record<string, string>> = {
  helm: {},
  "cert-manager": { "tls.mode": "cert-manager" },
  secret: { "tls.mode": "secret", "tls.existingSecret.name": "my-netfence-tls", "tls.existingSecret.caBundle": EXISTING_CA_BUNDLE },
};
const COMBINATIONS = Object.entries(MODES).flatMap(([mode, values]) =>
  [true, false].map((reconciler) => ({ mode, reconciler, values: { ...values, "reconciler.enabled": String(reconciler) } })),
);
const WRITE_VERBS = ["create", "update", "patch", "delete", "deletecollection", "*"];

t.test("helm lint --strict passes in every certificate mode, with the reconciler on and off", async (t) => {
  for (const { mode, reconciler, values } of COMBINATIONS) {
    const run = await helm(["lint", CHART, "--strict", "--namespace", NAMESPACE, ...setArgs(values)]);
    t.equal(run.code, 0, `${mode}, reconciler ${reconciler}: ${run.stdout}${run.stderr}`);
  }
});

for (const { mode, reconciler, values } of COMBINATIONS) {
  t.test(`rendered objects: tls.mode ${mode}, reconciler ${reconciler ? "on" : "off"}`, async (t) => {
    const r = await render(values);

    t.test("one kind per template file", async (t) => {
      for (const [source, kinds] of r.kindsBySource) t.equal(kinds.size, 1, `${source} renders ${[...kinds].join(", ")}`);
    });

    const deployment = one(r, "Deployment");
    const pod = deployment.spec.template.spec;
    const container = pod.containers.find((c: Obj) => c.name === "netfence");
    const configMap = one(r, "ConfigMap");
    const config = parseConfig(parseYaml(configMap.data["config.yaml"]), "rendered ConfigMap");

    t.test("the ConfigMap's config parses with the server's own schema and matches the pod", async (t) => {
      t.equal(config.reconcile, reconciler, "reconcile follows reconciler.enabled");
      t.equal(config.listen.host, "0.0.0.0", "listens on the pod address, not loopback (probes and the Service)");
      t.equal(config.listen.port, container.ports.find((p: Obj) => p.name === "https").containerPort);
      const tlsMount = container.volumeMounts.find((m: Obj) => m.name === "tls");
      const configMount = container.volumeMounts.find((m: Obj) => m.name === "config");
      t.ok(config.tls, "tls is configured (no dev certificate written to a read-only filesystem)");
      t.equal(config.tls?.certFile, `${tlsMount.mountPath}/tls.crt`);
      t.equal(config.tls?.keyFile, `${tlsMount.mountPath}/tls.key`);
      t.notOk(tlsMount.subPath, "the certificate is mounted as a directory, so a rotated Secret reaches the pod");
      t.same(container.args, ["serve", "--config", `${configMount.mountPath}/config.yaml`]);
      t.equal(pod.volumes.find((v: Obj) => v.name === "config").configMap.name, configMap.metadata.name);
    });

    t.test("the checksum annotation is the hash of the rendered config", async (t) => {
      const checksum = deployment.spec.template.metadata.annotations["checksum/config"];
      t.match(checksum, /^[0-9a-f]{64}$/);
      const text = (configMap.data["config.yaml"] as string).replace(/\n$/, "");
      t.equal(checksum, createHash("sha256").update(text).digest("hex"));
    });

    t.test("Deployment: replicas, probes, preStop, resources, anti-affinity", async (t) => {
      t.equal(deployment.spec.replicas, 2);
      t.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0, "a rollout never removes a pod before its replacement is up");
      t.same(container.livenessProbe.httpGet, { path: "/healthz", port: "https", scheme: "HTTPS" });
      t.same(container.readinessProbe.httpGet, { path: "/readyz", port: "https", scheme: "HTTPS" });
      const sleep = container.lifecycle?.preStop?.sleep?.seconds;
      t.ok(sleep > 0, "a preStop sleep lets endpoints drain before SIGTERM");
      t.ok(pod.terminationGracePeriodSeconds >= sleep + config.shutdownGraceSeconds, "the grace period covers preStop plus the shutdown grace");
      t.ok(container.resources.requests.cpu && container.resources.requests.memory, "requests");
      t.ok(container.resources.limits.memory, "memory limit");
      const preferred = pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
      t.equal(pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution, undefined, "anti-affinity is preferred, never required");
      t.equal(preferred[0].podAffinityTerm.topologyKey, "kubernetes.io/hostname");
      t.ok(selects(preferred[0].podAffinityTerm.labelSelector, deployment.spec.template.metadata.labels), "the anti-affinity selects netfence's own pods");
      t.ok(selects(deployment.spec.selector, deployment.spec.template.metadata.labels));
    });

    t.test("securityContext: non-root, read-only root filesystem, no escalation, no capabilities, RuntimeDefault seccomp", async (t) => {
      t.equal(pod.securityContext.runAsNonRoot, true);
      t.equal(pod.securityContext.seccompProfile.type, "RuntimeDefault");
      t.ok(pod.securityContext.runAsUser > 0);
      const sc = container.securityContext;
      t.equal(sc.runAsNonRoot, true);
      t.equal(sc.readOnlyRootFilesystem, true);
      t.equal(sc.allowPrivilegeEscalation, false);
      t.equal(sc.privileged, false);
      t.same(sc.capabilities, { drop: ["ALL"] });
      t.equal(sc.seccompProfile.type, "RuntimeDefault");
      t.notOk(pod.hostNetwork || pod.hostPID || pod.hostIPC, "no host namespaces");
    });

    t.test("PodDisruptionBudget minAvailable 1 over netfence's pods", async (t) => {
      const pdb = one(r, "PodDisruptionBudget");
      t.equal(pdb.spec.minAvailable, 1);
      t.ok(selects(pdb.spec.selector, deployment.spec.template.metadata.labels));
    });

    t.test("Service: the webhook port and the metrics port reach the pod's https port", async (t) => {
      const service = one(r, "Service");
      t.ok(selects({ matchLabels: service.spec.selector }, deployment.spec.template.metadata.labels));
      t.same(service.spec.ports.map((p: Obj) => [p.name, p.port, p.targetPort]), [["https", 443, "https"], ["metrics", 9443, "https"]]);
    });

    t.test("webhooks: v1 reviews, no side effects, Equivalent, 5 s, failure policies, reinvocation", async (t) => {
      const all = webhooksOf(r);
      t.same(all.map((w) => w.name).sort(), ["delete.validate.netfence.io", "kube-proxy.validate.netfence.io", "mutate.netfence.io", "namespaces.validate.netfence.io", "validate.netfence.io"]);
      const service = one(r, "Service");
      for (const w of all) {
        t.same(w.admissionReviewVersions, ["v1"], w.name);
        t.equal(w.sideEffects, "None", w.name);
        t.equal(w.matchPolicy, "Equivalent", w.name);
        // DELETE (impact warnings only) gives up sooner: deleting a policy is how people repair a cluster.
        t.equal(w.timeoutSeconds, w.name === "delete.validate.netfence.io" ? 2 : 5, w.name);
        t.same(w.clientConfig.service, { name: service.metadata.name, namespace: NAMESPACE, path: w.name.startsWith("mutate") ? "/mutate" : "/validate", port: 443 }, w.name);
      }
      t.equal(webhook(r, "validate.netfence.io").failurePolicy, "Fail", "validating default Fail");
      t.equal(webhook(r, "mutate.netfence.io").failurePolicy, "Ignore", "mutating default Ignore");
      t.equal(webhook(r, "namespaces.validate.netfence.io").failurePolicy, "Ignore", "namespace writes never depend on netfence");
      t.equal(webhook(r, "kube-proxy.validate.netfence.io").failurePolicy, "Ignore", "kube-proxy fixes never depend on netfence");
      t.equal(webhook(r, "delete.validate.netfence.io").failurePolicy, "Ignore", "deleting a policy never depends on netfence");
      t.equal(webhook(r, "mutate.netfence.io").reinvocationPolicy, "IfNeeded");
    });

    t.test("rules: only the kinds netfence handles, only CREATE and UPDATE (and NetworkPolicy DELETE, for impact)", async (t) => {
      const resources = new Map<string, Set<string>>();
      for (const w of webhooksOf(r)) {
        for (const rule of w.rules) {
          t.same(rule.operations, w.name === "delete.validate.netfence.io" ? ["DELETE"] : ["CREATE", "UPDATE"], w.name);
          t.notOk([...rule.apiGroups, ...rule.apiVersions, ...rule.resources].some((x: string) => x.includes("*")), `${w.name}: no wildcards`);
          for (const resource of rule.resources) resources.set(resource, (resources.get(resource) ?? new Set()).add(w.name));
        }
      }
      t.same([...resources.keys()].sort(), ["configmaps", "namespaces", "networkpolicies", "services"]);
      t.same([...resources.get("configmaps")!], ["kube-proxy.validate.netfence.io"], "ConfigMaps go to one webhook only");
      t.same(webhook(r, "mutate.netfence.io").rules.flatMap((rule: Obj) => rule.resources), ["networkpolicies"]);
    });

    t.test("namespaceSelector: never the release namespace or kube-system; netfence.io/ignore opts out", async (t) => {
      for (const name of ["validate.netfence.io", "mutate.netfence.io", "namespaces.validate.netfence.io", "delete.validate.netfence.io"]) {
        const selector = webhook(r, name).namespaceSelector;
        t.notOk(selects(selector, namespaceLabels(NAMESPACE)), `${name}: skips the release namespace`);
        t.notOk(selects(selector, namespaceLabels("kube-system")), `${name}: skips kube-system`);
        t.notOk(selects(selector, namespaceLabels("team-a", { "netfence.io/ignore": "true" })), `${name}: honours netfence.io/ignore`);
        t.ok(selects(selector, namespaceLabels("team-a")), `${name}: applies to other namespaces`);
        t.ok(selects(selector, namespaceLabels("team-a", { "netfence.io/ignore": "false" })), `${name}: only "true" opts out`);
      }
    });

    t.test("the kube-proxy rule: kube-system only, and only the ConfigMap named kube-proxy", async (t) => {
      const w = webhook(r, "kube-proxy.validate.netfence.io");
      t.ok(selects(w.namespaceSelector, namespaceLabels("kube-system")));
      t.notOk(selects(w.namespaceSelector, namespaceLabels("team-a")));
      t.notOk(selects(w.namespaceSelector, namespaceLabels(NAMESPACE)));
      t.notOk(selects(w.namespaceSelector, namespaceLabels("kube-system", { "netfence.io/ignore": "true" })));
      t.same(w.rules.flatMap((rule: Obj) => rule.resources), ["configmaps"]);
      t.match(w.matchConditions.map((c: Obj) => c.expression).join(" && "), "object.metadata.name == 'kube-proxy'");
    });

    t.test("RBAC: least privilege", async (t) => {
      const roles = [...ofKind(r, "ClusterRole"), ...ofKind(r, "Role")];
      const rules = roles.flatMap((role) => role.rules.map((rule: Obj) => ({ role: `${role.kind}/${role.metadata.name}`, ...rule })));
      for (const rule of rules) {
        for (const field of ["apiGroups", "resources", "verbs", "resourceNames"]) {
          t.notOk((rule[field] ?? []).some((x: string) => x.includes("*")), `${rule.role}: no wildcard in ${field}`);
        }
        t.notOk(rule.resources.includes("secrets"), `${rule.role}: no access to Secrets`);
        t.notOk(rule.nonResourceURLs, `${rule.role}: no non-resource URLs`);
        t.notOk(rule.verbs.some((v: string) => ["escalate", "bind", "impersonate"].includes(v)), `${rule.role}: no escalation verbs`);
      }
      const verbsFor = (resource: string) => new Set(rules.filter((rule) => rule.resources.includes(resource)).flatMap((rule) => rule.verbs));
      // patch: the isolation preview's annotation (impact.enabled, the default, and the reconciler)
      t.same([...verbsFor("namespaces")].sort(), reconciler ? ["get", "list", "patch", "watch"] : ["get", "list", "watch"]);
      t.same([...verbsFor("pods")].sort(), ["list", "watch"], "pods: read only, for the impact warnings");
      t.same([...verbsFor("events")], ["create"]);
      const policyVerbs = verbsFor("networkpolicies");
      if (reconciler) t.same([...policyVerbs].sort(), ["create", "delete", "get", "list", "patch", "update", "watch"]);
      else t.notOk([...policyVerbs].some((v) => WRITE_VERBS.includes(v)), `no NetworkPolicy write verbs without the reconciler (got ${[...policyVerbs]})`);
      t.same([...verbsFor("configmaps")], ["get"]);

      const kubeProxyRole = one(r, "Role");
      t.equal(kubeProxyRole.metadata.namespace, "kube-system");
      t.same(kubeProxyRole.rules, [{ apiGroups: [""], resources: ["configmaps"], resourceNames: ["kube-proxy"], verbs: ["get"] }]);
      t.notOk(ofKind(r, "ClusterRole").some((role) => role.rules.some((rule: Obj) => rule.resources.includes("configmaps"))), "no cluster-wide ConfigMap access");

      const chartRoles = new Set(roles.map((role) => `${role.kind}/${role.metadata.name}`));
      const serviceAccount = one(r, "ServiceAccount");
      for (const binding of [...ofKind(r, "ClusterRoleBinding"), ...ofKind(r, "RoleBinding")]) {
        t.ok(chartRoles.has(`${binding.roleRef.kind}/${binding.roleRef.name}`), `${binding.metadata.name} binds a role of the chart, not ${binding.roleRef.name}`);
        t.same(binding.subjects, [{ kind: "ServiceAccount", name: serviceAccount.metadata.name, namespace: NAMESPACE }]);
      }
      t.equal(pod.serviceAccountName, serviceAccount.metadata.name);
    });

    t.test(`certificates (${mode})`, async (t) => {
      const tlsVolume = pod.volumes.find((v: Obj) => v.name === "tls").secret.secretName;
      const caBundles = webhooksOf(r).map((w) => w.clientConfig.caBundle);
      if (mode === "helm") {
        const secret = one(r, "Secret");
        t.equal(secret.type, "kubernetes.io/tls");
        t.equal(tlsVolume, secret.metadata.name);
        const pem = (key: string) => Buffer.from(secret.data[key], "base64").toString();
        const ca = new X509Certificate(pem("ca.crt"));
        const cert = new X509Certificate(pem("tls.crt"));
        t.ok(cert.verify(ca.publicKey), "the serving certificate is signed by the CA");
        t.equal(cert.checkHost(`${RELEASE}.${NAMESPACE}.svc`), `${RELEASE}.${NAMESPACE}.svc`, "valid for the name the API server calls");
        t.ok(Number(secret.metadata.annotations["netfence.io/not-after"]) > Date.now() / 1000 + 365 * 86400, "expiry recorded for renewal");
        t.same(new Set(caBundles), new Set([secret.data["ca.crt"]]), "every webhook trusts the CA of the same render");
        t.equal(ofKind(r, "Certificate").length + ofKind(r, "Issuer").length, 0);
      } else if (mode === "cert-manager") {
        t.equal(ofKind(r, "Secret").length, 0, "cert-manager writes the Secret");
        t.same(caBundles, caBundles.map(() => undefined), "no caBundle rendered: cainjector writes it");
        const serving = one(r, "Certificate", `${RELEASE}`);
        t.equal(serving.spec.secretName, tlsVolume);
        t.ok(serving.spec.dnsNames.includes(`${RELEASE}.${NAMESPACE}.svc`));
        const caCert = one(r, "Certificate", `${RELEASE}-ca`);
        t.equal(caCert.spec.isCA, true);
        t.same(one(r, "Issuer", `${RELEASE}-selfsigned`).spec, { selfSigned: {} }, "a self-signed Issuer bootstraps the CA");
        t.equal(caCert.spec.issuerRef.name, `${RELEASE}-selfsigned`);
        t.equal(one(r, "Issuer", `${RELEASE}-ca`).spec.ca.secretName, caCert.spec.secretName);
        t.equal(serving.spec.issuerRef.name, `${RELEASE}-ca`, "the serving certificate is signed by the CA, so renewing it keeps the caBundle");
        for (const c of [...ofKind(r, "ValidatingWebhookConfiguration"), ...ofKind(r, "MutatingWebhookConfiguration")]) {
          t.equal(c.metadata.annotations["cert-manager.io/inject-ca-from"], `${NAMESPACE}/${serving.metadata.name}`, `${c.kind}: cainjector annotation`);
        }
      } else {
        t.equal(ofKind(r, "Secret").length + ofKind(r, "Certificate").length + ofKind(r, "Issuer").length, 0, "nothing issued");
        t.equal(tlsVolume, "my-netfence-tls");
        t.same(new Set(caBundles), new Set([EXISTING_CA_BUNDLE]));
      }
    });
  });
}

t.test("values change what they should", async (t) => {
  t.test("reconciler off: no NetworkPolicy writes (reads only for impact), and with impact off no access at all", async (t) => {
    const policyVerbs = (r: Rendered) => ofKind(r, "ClusterRole").flatMap((role) => role.rules.filter((rule: Obj) => rule.resources.includes("networkpolicies")).flatMap((rule: Obj) => rule.verbs));
    const r = await render({ "reconciler.enabled": "false" });
    t.same(policyVerbs(r).sort(), ["list", "watch"]);
    t.notOk(ofKind(r, "ClusterRoleBinding").some((b) => b.metadata.name.endsWith("-reconciler")));
    t.same(policyVerbs(await render({ "reconciler.enabled": "false", "impact.enabled": "false" })), []);
  });
  t.test("impact off: no pod access, no namespace patch, no DELETE webhook, and the config says so", async (t) => {
    const r = await render({ "impact.enabled": "false" });
    const rules = [...ofKind(r, "ClusterRole"), ...ofKind(r, "Role")].flatMap((role) => role.rules);
    t.notOk(rules.some((rule: Obj) => rule.resources.includes("pods")));
    t.notOk(rules.some((rule: Obj) => rule.resources.includes("namespaces") && rule.verbs.includes("patch")));
    t.notOk(webhooksOf(r).some((w) => w.rules.some((rule: Obj) => rule.operations.includes("DELETE"))));
    t.same(parseYaml(one(r, "ConfigMap").data["config.yaml"]).impact, { enabled: false, deadlineMs: 100 });
  });
  t.test("impact on: NetworkPolicy DELETE goes to its own webhook, failurePolicy Ignore, a short timeout", async (t) => {
    const r = await render({ "impact.deadlineMs": "250", "impact.deleteTimeoutSeconds": "3" });
    const w = webhook(r, "delete.validate.netfence.io");
    t.same(w.rules, [{ apiGroups: ["networking.k8s.io"], apiVersions: ["v1"], operations: ["DELETE"], resources: ["networkpolicies"], scope: "Namespaced" }]);
    t.equal(w.failurePolicy, "Ignore");
    t.equal(w.timeoutSeconds, 3);
    t.equal(w.clientConfig.service.path, "/validate");
    t.same(parseYaml(one(r, "ConfigMap").data["config.yaml"]).impact, { enabled: true, deadlineMs: 250 });
  });
  t.test("failure policies and timeout come from values", async (t) => {
    const r = await render({ "webhook.validating.failurePolicy": "Ignore", "webhook.mutating.failurePolicy": "Fail", "webhook.timeoutSeconds": "10" });
    t.equal(webhook(r, "validate.netfence.io").failurePolicy, "Ignore");
    t.equal(webhook(r, "mutate.netfence.io").failurePolicy, "Fail");
    t.ok(webhooksOf(r).every((w) => w.timeoutSeconds === (w.name === "delete.validate.netfence.io" ? 2 : 10)));
  });
  t.test("extra excluded namespaces add to the release namespace and kube-system", async (t) => {
    const r = await render({ "webhook.excludedNamespaces": "{gatekeeper-system}" });
    const selector = webhook(r, "validate.netfence.io").namespaceSelector;
    for (const ns of [NAMESPACE, "kube-system", "gatekeeper-system"]) t.notOk(selects(selector, namespaceLabels(ns)), ns);
  });
  t.test("installed in another namespace, that namespace is the excluded one", async (t) => {
    const run = await helm(["template", RELEASE, CHART, "--namespace", "security"]);
    const objects = run.stdout.split(/^---$/m).map((d) => parseYaml(d) as Obj | null).filter((o): o is Obj => o !== null);
    const w = objects.find((o) => o.kind === "ValidatingWebhookConfiguration")!.webhooks[0];
    t.notOk(selects(w.namespaceSelector, namespaceLabels("security")));
    t.ok(selects(w.namespaceSelector, namespaceLabels(NAMESPACE)));
    t.equal(w.clientConfig.service.namespace, "security");
  });
  t.test("a config change changes the checksum; other values do not", async (t) => {
    const checksum = async (values: Record<string, string>) => one(await render(values), "Deployment").spec.template.metadata.annotations["checksum/config"];
    const base = await checksum({});
    t.not(await checksum({ "config.allowedIngressNamespaces": "{monitoring}" }), base);
    t.not(await checksum({ "reconciler.enabled": "false" }), base);
    t.equal(await checksum({ replicaCount: "3" }), base);
  });
  t.test("config values reach the ConfigMap and still parse", async (t) => {
    const r = await render({
      "config.allowedIngressNamespaces": "{monitoring,ingress-nginx}",
      "config.podCIDRs": "{10.244.0.0/16}",
      "config.services.emptySelector": "all",
      "config.rules.NP024": "off",
      "config.logLevel": "debug",
    });
    const config = parseConfig(parseYaml(one(r, "ConfigMap").data["config.yaml"]));
    t.same(config.allowedIngressNamespaces, ["monitoring", "ingress-nginx"]);
    t.same(config.podCIDRs.map((c) => c.network), ["10.244.0.0/16"]);
    t.equal(config.services.emptySelector, "all");
    t.same(config.rules, { NP024: "off" });
    t.equal(config.logLevel, "debug");
  });
  t.test("one replica: no PodDisruptionBudget that would block every drain", async (t) => {
    t.equal(ofKind(await render({ replicaCount: "1" }), "PodDisruptionBudget").length, 0);
  });
  t.test("priorityClassName and topology spread are optional and rendered when set", async (t) => {
    const plain = one(await render(), "Deployment").spec.template.spec;
    t.equal(plain.priorityClassName, undefined);
    t.equal(plain.topologySpreadConstraints, undefined);
    const r = await render({ priorityClassName: "system-cluster-critical" }, [
      "--set-json",
      'topologySpreadConstraints=[{"maxSkew":1,"topologyKey":"topology.kubernetes.io/zone","whenUnsatisfiable":"ScheduleAnyway"}]',
    ]);
    const pod = one(r, "Deployment").spec.template;
    t.equal(pod.spec.priorityClassName, "system-cluster-critical");
    t.equal(pod.spec.topologySpreadConstraints[0].topologyKey, "topology.kubernetes.io/zone");
    t.ok(selects(pod.spec.topologySpreadConstraints[0].labelSelector, pod.metadata.labels), "a missing labelSelector gets the pods' labels");
  });
  t.test("ServiceMonitor: off by default; when on, scrapes the metrics port over HTTPS", async (t) => {
    t.equal(ofKind(await render(), "ServiceMonitor").length, 0);
    const monitor = one(await render({ "metrics.serviceMonitor.enabled": "true" }), "ServiceMonitor");
    t.equal(monitor.spec.endpoints[0].port, "metrics");
    t.equal(monitor.spec.endpoints[0].scheme, "https");
    t.equal(monitor.spec.endpoints[0].tlsConfig.serverName, `${RELEASE}.${NAMESPACE}.svc`);
  });
  t.test("cert-manager with an existing issuer: no Issuer or CA created", async (t) => {
    const r = await render({ "tls.mode": "cert-manager", "tls.certManager.issuerRef.name": "corp-ca", "tls.certManager.issuerRef.kind": "ClusterIssuer" });
    t.equal(ofKind(r, "Issuer").length, 0);
    t.same(one(r, "Certificate").spec.issuerRef, { name: "corp-ca", kind: "ClusterIssuer" });
  });
});

t.test("wrong values are refused before anything is rendered", async (t) => {
  const refused: [string, Record<string, string>, RegExp][] = [
    ["replicaCount as a string", { replicaCount: "two" }, /replicaCount/],
    ["a boolean as a string", { "reconciler.enabled": "yes" }, /reconciler/],
    ["timeoutSeconds above the API server's 30", { "webhook.timeoutSeconds": "31" }, /timeoutSeconds/],
    ["a failurePolicy in the wrong case", { "webhook.validating.failurePolicy": "fail" }, /failurePolicy/],
    ["an unknown certificate mode", { "tls.mode": "openssl" }, /mode/],
    ["an allowed namespace that is not a namespace name", { "config.allowedIngressNamespaces": "{Monitoring}" }, /allowedIngressNamespaces/],
    ["an unknown rule action", { "config.rules.NP024": "block" }, /NP024/],
    ["a misspelt top-level value", { replicas: "3" }, /replicas/],
    ["mode secret without the Secret", { "tls.mode": "secret" }, /existingSecret/],
  ];
  for (const [why, values, message] of refused) {
    const run = await template(values);
    t.not(run.code, 0, why);
    t.match(run.stderr, message, `${why}: ${run.stderr.trim()}`);
  }
  const grace = await template({ terminationGracePeriodSeconds: "15" });
  t.not(grace.code, 0, "a grace period shorter than preStop + shutdown grace is refused");
  t.match(grace.stderr, /terminationGracePeriodSeconds/);
});

// From here on: a real etcd + kube-apiserver (and the harness's own netfence process).
const cluster = new Cluster();
t.teardown(() => cluster.down());
try {
  await cluster.up();
} catch (error) {
  await cluster.down();
  throw new Error(`the cluster did not come up (logs: ${cluster.dir}): ${(error as Error).message}`);
}
t.comment(`cluster logs: ${cluster.dir}`);
const kubectl = (args: string[], stdin?: string) => cluster.kubectl(args, stdin);
await kubectl(["create", "namespace", NAMESPACE]);

// The test apiserver has no cert-manager CRDs, so Issuer and Certificate (cert-manager mode) cannot be
// sent to it; their rendering is asserted above. Every other object is.
const WITHOUT_CRDS = new Set(["Issuer", "Certificate"]);

t.test("the real kube-apiserver accepts every rendered manifest (--dry-run=server)", async (t) => {
  // The PodSecurity admission plugin warns about workload templates that a namespace's level forbids.
  const labelled = await kubectl(["label", "namespace", NAMESPACE, "pod-security.kubernetes.io/warn=restricted", "pod-security.kubernetes.io/enforce=restricted"]);
  t.equal(labelled.code, 0, labelled.stderr);
  const unhardened = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "unhardened", namespace: NAMESPACE }, spec: { selector: { matchLabels: { a: "b" } }, template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ name: "c", image: "x" }] } } } };
  t.match((await cluster.kubectlApply([unhardened], ["--dry-run=server"])).stderr, /would violate PodSecurity "restricted/, "control: the apiserver checks Pod Security here");
  for (const { mode, reconciler, values } of COMBINATIONS) {
    const r = await render(values);
    const objects = r.objects.filter((o) => !WITHOUT_CRDS.has(o.kind));
    // helm template's output as it is, unless cert-manager kinds had to be taken out.
    const manifests = objects.length === r.objects.length ? r.yaml : objects.map((o) => stringify(o)).join("---\n");
    const result = await kubectl(["apply", "--dry-run=server", "-f", "-"], manifests);
    t.equal(result.code, 0, `${mode}, reconciler ${reconciler}: ${result.stderr}`);
    t.equal(result.stdout.trim().split("\n").filter((line) => line.endsWith("(server dry run)")).length, objects.length, `${mode}, reconciler ${reconciler}: every object`);
    t.notMatch(result.stderr, /PodSecurity/, `${mode}, reconciler ${reconciler}: the pods meet the restricted Pod Security Standard`);
  }
  await kubectl(["label", "namespace", NAMESPACE, "pod-security.kubernetes.io/warn-", "pod-security.kubernetes.io/enforce-"]);
});

async function netfenceMetric(name: string, labels: Record<string, string>): Promise<number> {
  const ca = Buffer.from(cluster.netfenceCaBundle, "base64").toString();
  const text = await new Promise<string>((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port: cluster.netfencePort, path: "/metrics", ca, agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve(body));
    });
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
const hostBits = (namespace: string, name: string) => policy(namespace, name, { ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.1/8" } }] }] });
const service = (namespace: string, name: string) => ({ apiVersion: "v1", kind: "Service", metadata: { name, namespace }, spec: { selector: { app: name }, ports: [{ port: 80 }] } });
const configMap = (namespace: string, name: string, data: Record<string, string> = {}) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace }, data });
const namespace = (name: string, labels: Record<string, string> = {}, annotations: Record<string, string> = {}) => ({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels, annotations } });

/** The chart's webhook configurations, pointed at the harness's netfence process instead of the Service. */
async function chartWebhooksAtHarness(): Promise<Obj[]> {
  const r = await render({ "config.allowedIngressNamespaces": "{monitoring}" });
  const configurations = [...ofKind(r, "ValidatingWebhookConfiguration"), ...ofKind(r, "MutatingWebhookConfiguration")];
  for (const c of configurations) {
    for (const w of c.webhooks) {
      w.clientConfig = { url: `https://127.0.0.1:${cluster.netfencePort}${w.clientConfig.service.path}`, caBundle: cluster.netfenceCaBundle };
    }
  }
  return configurations;
}

t.test("the rendered webhooks on a real apiserver: what reaches netfence, and what never does", async (t) => {
  // Replace the harness's hand-written webhooks with the chart's (same names).
  await kubectl(["delete", "validatingwebhookconfiguration,mutatingwebhookconfiguration", "netfence", "--ignore-not-found"]);
  const applied = await cluster.kubectlApply(await chartWebhooksAtHarness());
  t.equal(applied.code, 0, applied.stderr);
  await cluster.kubectlApply([namespace("team"), namespace("opted-out", { "netfence.io/ignore": "true" }), namespace("iso", { "netfence.io/isolation": "enabled" })]);
  await cluster.eventually("the chart's webhooks to be enforced", async () => (await cluster.kubectlApply([hostBits("team", "probe")], ["--dry-run=server"])).stderr, (stderr) => /denied the request/.test(stderr));

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
    const result = await cluster.kubectlApply([policy("iso", "web", { ingress: [{ from: [{ podSelector: {} }] }] })], ["--dry-run=server", "-o", "json"]);
    t.equal(result.code, 0, result.stderr);
    t.equal(JSON.parse(result.stdout).metadata.annotations?.["netfence.io/injected-ingress-namespaces"], "monitoring");
  });
  t.test("the namespaces webhook warns about a malformed legacy annotation", async (t) => {
    const result = await cluster.kubectlApply([namespace("legacy", {}, { "net.beta.kubernetes.io/network-policy": "not json" })], ["--dry-run=server"]);
    t.equal(result.code, 0, result.stderr);
    t.match(result.stderr, /Warning: NS001 /);
  });
  t.test("of all ConfigMaps, only kube-system/kube-proxy reaches netfence", async (t) => {
    const configMaps = () => netfenceMetric("netfence_admission_requests_total", { kind: "ConfigMap" });
    const before = await configMaps();
    for (const cm of [configMap("kube-system", "coredns"), configMap("team", "kube-proxy"), configMap("team", "settings"), configMap(NAMESPACE, "kube-proxy")]) {
      const result = await cluster.kubectlApply([cm]);
      t.equal(result.code, 0, `${cm.metadata.namespace}/${cm.metadata.name}: ${result.stderr}`);
    }
    t.equal(await configMaps(), before, "no other ConfigMap was sent to netfence");
    const kubeProxy = configMap("kube-system", "kube-proxy", { "config.conf": "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\niptables:\n  masqueradeAll: true\n" });
    const result = await cluster.kubectlApply([kubeProxy]);
    t.equal(result.code, 0, result.stderr);
    t.match(result.stderr, /Warning: KP001 /);
    t.equal(await configMaps(), before + 1, "the kube-proxy ConfigMap was");
  });

  t.test("with netfence down, the cluster is not locked out", async (t) => {
    await cluster.stopNetfence();
    t.test("NetworkPolicy and Service writes in ordinary namespaces wait for netfence (failurePolicy Fail)", async (t) => {
      const p = await cluster.kubectlApply([policy("team", "down")]);
      t.not(p.code, 0);
      t.match(p.stderr, /failed calling webhook "validate\.netfence\.io"/);
      const s = await cluster.kubectlApply([service("team", "down")]);
      t.not(s.code, 0);
    });
    t.test("netfence's own namespace can be repaired: its Service, Secret, ConfigMap, Deployment", async (t) => {
      const deployment = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "repair", namespace: NAMESPACE }, spec: { selector: { matchLabels: { app: "repair" } }, template: { metadata: { labels: { app: "repair" } }, spec: { containers: [{ name: "c", image: "example.invalid/repair" }] } } } };
      const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "repair", namespace: NAMESPACE }, stringData: { a: "b" } };
      const result = await cluster.kubectlApply([service(NAMESPACE, "repair"), policy(NAMESPACE, "repair"), configMap(NAMESPACE, "repair"), secret, deployment]);
      t.equal(result.code, 0, result.stderr);
    });
    t.test("kube-system keeps working", async (t) => {
      const result = await cluster.kubectlApply([service("kube-system", "dns-test"), policy("kube-system", "down")]);
      t.equal(result.code, 0, result.stderr);
    });
    t.test("namespaces can be created and the kube-proxy ConfigMap changed (failurePolicy Ignore)", async (t) => {
      t.equal((await cluster.kubectlApply([namespace("created-while-down")])).code, 0);
      const fixed = configMap("kube-system", "kube-proxy", { "config.conf": "apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\n" });
      const result = await cluster.kubectlApply([fixed]);
      t.equal(result.code, 0, result.stderr);
    });
    t.test("NetworkPolicies are stored without injection rather than refused by the mutating webhook (Ignore)", async (t) => {
      // Only the validating webhook refuses; the message names it, not mutate.netfence.io.
      const result = await cluster.kubectlApply([policy("iso", "down")]);
      t.match(result.stderr, /failed calling webhook "validate\.netfence\.io"/);
      t.notMatch(result.stderr, /mutate\.netfence\.io/);
    });
    t.test("the API server can keep its own Services", async (t) => {
      const result = await kubectl(["create", "service", "clusterip", "apiserver-owned", "-n", "team", "--tcp=443:6443", "--as=system:apiserver", "--as-group=system:masters"]);
      t.equal(result.code, 0, result.stderr);
    });
    t.test("labelling a namespace netfence.io/ignore=true lets its writes through at once", async (t) => {
      t.equal((await kubectl(["label", "namespace", "team", "netfence.io/ignore=true"])).code, 0);
      const result = await cluster.kubectlApply([service("team", "after-opt-out")]);
      t.equal(result.code, 0, result.stderr);
      await kubectl(["label", "namespace", "team", "netfence.io/ignore-"]);
    });
    t.test("the webhook configurations themselves can always be deleted", async (t) => {
      const deleted = await kubectl(["delete", "validatingwebhookconfiguration,mutatingwebhookconfiguration", "netfence"]);
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
  const certificatesIn = (bundle: string) => Buffer.from(bundle, "base64").toString().match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)!.map((pem) => new X509Certificate(pem));
  // The chart's webhooks point at a Service with no pods here (nothing runs them), so no write
  // outside the excluded namespaces is made while the release is installed.

  const install = await helm(["install", RELEASE, CHART, "--namespace", NAMESPACE, "--set", "config.allowedIngressNamespaces={monitoring}"], kubeconfig);
  t.equal(install.code, 0, install.stderr);
  t.match(install.stdout, "kubectl label namespace NAME netfence.io/isolation=enabled", "NOTES say how to turn isolation on");
  t.match(install.stdout, "allowedIngressNamespaces: monitoring");
  const first = await tlsSecret();
  const firstBundles = await caBundles();
  t.same(firstBundles, new Set([first.data["ca.crt"]]), "the webhooks trust the installed Secret's CA");

  const upgrade = await helm(["upgrade", RELEASE, CHART, "--namespace", NAMESPACE, "--reuse-values", "--set", "config.logLevel=debug"], kubeconfig);
  t.equal(upgrade.code, 0, upgrade.stderr);
  const second = await tlsSecret();
  t.equal(second.data["tls.crt"], first.data["tls.crt"], "an upgrade keeps the certificate (lookup)");
  t.equal(second.data["tls.key"], first.data["tls.key"]);
  t.same(await caBundles(), firstBundles, "...and the caBundle");

  // Near expiry (pretend: the recorded expiry is moved into the past), an upgrade issues a new CA and
  // certificate, and the webhooks trust the old CA too until the pods have reloaded.
  t.equal((await kubectl(["annotate", "secret", `${RELEASE}-tls`, "-n", NAMESPACE, "--overwrite", "netfence.io/not-after=1"])).code, 0);
  const renew = await helm(["upgrade", RELEASE, CHART, "--namespace", NAMESPACE, "--reuse-values"], kubeconfig);
  t.equal(renew.code, 0, renew.stderr);
  const renewed = await tlsSecret();
  t.not(renewed.data["tls.crt"], first.data["tls.crt"], "a certificate near expiry is renewed");
  const newCa = new X509Certificate(Buffer.from(renewed.data["ca.crt"], "base64"));
  const oldCa = new X509Certificate(Buffer.from(first.data["ca.crt"], "base64"));
  t.ok(new X509Certificate(Buffer.from(renewed.data["tls.crt"], "base64")).verify(newCa.publicKey));
  const [bundle, ...others] = [...(await caBundles())];
  t.equal(others.length, 0, "every webhook has the same caBundle");
  t.same(certificatesIn(bundle!).map((c) => c.fingerprint256), [newCa.fingerprint256, oldCa.fingerprint256], "the caBundle trusts the new CA and the old one");

  const settle = await helm(["upgrade", RELEASE, CHART, "--namespace", NAMESPACE, "--reuse-values"], kubeconfig);
  t.equal(settle.code, 0, settle.stderr);
  t.equal((await tlsSecret()).data["tls.crt"], renewed.data["tls.crt"], "the renewed certificate is kept by the next upgrade");
  t.same(certificatesIn([...(await caBundles())][0]!).map((c) => c.fingerprint256), [newCa.fingerprint256], "...which trusts only the new CA");

  const uninstall = await helm(["uninstall", RELEASE, "--namespace", NAMESPACE, "--wait"], kubeconfig);
  t.equal(uninstall.code, 0, uninstall.stderr);
  for (const kind of ["validatingwebhookconfiguration", "mutatingwebhookconfiguration", "clusterrole", "clusterrolebinding"]) {
    t.equal((await kubectl(["get", kind, RELEASE])).code, 1, `${kind} removed`);
  }
  t.equal((await kubectl(["get", "role", `${RELEASE}-kube-proxy`, "-n", "kube-system"])).code, 1, "the kube-system Role removed");
  t.equal((await cluster.kubectlApply([policy("team", "after-uninstall")])).code, 0, "writes work after uninstall");
});
