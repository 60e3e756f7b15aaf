// The chart rendered with `helm template` in every certificate mode, with the reconciler on and off:
// every template, every safety property asserted on the rendered objects, and wrong values refused by
// values.schema.json before anything is rendered. Runs in `npm test` when a helm binary is available
// ($HELM, or the one `npm run test:e2e` builds); what needs an API server is in test/e2e/chart.e2e.ts.
import { createHash, X509Certificate } from "node:crypto";
import t from "tap";
import { parse as parseYaml } from "yaml";
import { parseConfig } from "../../src/config.ts";
import {
  CHART,
  COMBINATIONS,
  EXISTING_CA_BUNDLE,
  NAMESPACE,
  RELEASE,
  findHelm,
  helmAt,
  namespaceLabels,
  ofKind,
  one,
  selects,
  setArgs,
  webhook,
  webhooksOf,
  type Helm,
  type Obj,
  type Rendered,
} from "./helm.ts";

const WRITE_VERBS = ["create", "update", "patch", "delete", "deletecollection", "*"];

const bin = findHelm();
if (bin === undefined)
  t.plan(
    0,
    "no helm binary: set $HELM, or run `npm run test:e2e` once to build one; the chart's render tests are skipped",
  );
else await chartTests(helmAt(bin));

async function chartTests(h: Helm) {
  t.teardown(h.cleanup);
  const { render, template } = h;
  const helm = h.run;

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
        for (const [source, kinds] of r.kindsBySource)
          t.equal(kinds.size, 1, `${source} renders ${[...kinds].join(", ")}`);
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
        t.equal(
          deployment.spec.strategy.rollingUpdate.maxUnavailable,
          0,
          "a rollout never removes a pod before its replacement is up",
        );
        t.same(container.livenessProbe.httpGet, { path: "/healthz", port: "https", scheme: "HTTPS" });
        t.same(container.readinessProbe.httpGet, { path: "/readyz", port: "https", scheme: "HTTPS" });
        const sleep = container.lifecycle?.preStop?.sleep?.seconds;
        t.ok(sleep > 0, "a preStop sleep lets endpoints drain before SIGTERM");
        t.ok(
          pod.terminationGracePeriodSeconds >= sleep + config.shutdownGraceSeconds,
          "the grace period covers preStop plus the shutdown grace",
        );
        t.ok(container.resources.requests.cpu && container.resources.requests.memory, "requests");
        t.ok(container.resources.limits.memory, "memory limit");
        const preferred = pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution;
        t.equal(
          pod.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution,
          undefined,
          "anti-affinity is preferred, never required",
        );
        t.equal(preferred[0].podAffinityTerm.topologyKey, "kubernetes.io/hostname");
        t.ok(
          selects(preferred[0].podAffinityTerm.labelSelector, deployment.spec.template.metadata.labels),
          "the anti-affinity selects netfence's own pods",
        );
        t.ok(selects(deployment.spec.selector, deployment.spec.template.metadata.labels));
      });

      t.test(
        "securityContext: non-root, read-only root filesystem, no escalation, no capabilities, RuntimeDefault seccomp",
        async (t) => {
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
        },
      );

      t.test("PodDisruptionBudget minAvailable 1 over netfence's pods", async (t) => {
        const pdb = one(r, "PodDisruptionBudget");
        t.equal(pdb.spec.minAvailable, 1);
        t.ok(selects(pdb.spec.selector, deployment.spec.template.metadata.labels));
      });

      t.test("Service: the webhook port and the metrics port reach the pod's https port", async (t) => {
        const service = one(r, "Service");
        t.ok(selects({ matchLabels: service.spec.selector }, deployment.spec.template.metadata.labels));
        t.same(
          service.spec.ports.map((p: Obj) => [p.name, p.port, p.targetPort]),
          [
            ["https", 443, "https"],
            ["metrics", 9443, "https"],
          ],
        );
      });

      t.test("webhooks: v1 reviews, no side effects, Equivalent, 5 s, failure policies, reinvocation", async (t) => {
        const all = webhooksOf(r);
        t.same(all.map((w) => w.name).sort(), [
          "delete.validate.netfence.io",
          "kube-proxy.validate.netfence.io",
          "mutate.netfence.io",
          "namespaces.validate.netfence.io",
          "validate.netfence.io",
        ]);
        const service = one(r, "Service");
        for (const w of all) {
          t.same(w.admissionReviewVersions, ["v1"], w.name);
          t.equal(w.sideEffects, "None", w.name);
          t.equal(w.matchPolicy, "Equivalent", w.name);
          // DELETE (impact warnings only) gives up sooner: deleting a policy is how people repair a cluster.
          t.equal(w.timeoutSeconds, w.name === "delete.validate.netfence.io" ? 2 : 5, w.name);
          t.same(
            w.clientConfig.service,
            {
              name: service.metadata.name,
              namespace: NAMESPACE,
              path: w.name.startsWith("mutate") ? "/mutate" : "/validate",
              port: 443,
            },
            w.name,
          );
        }
        t.equal(webhook(r, "validate.netfence.io").failurePolicy, "Fail", "validating default Fail");
        t.equal(webhook(r, "mutate.netfence.io").failurePolicy, "Ignore", "mutating default Ignore");
        t.equal(
          webhook(r, "namespaces.validate.netfence.io").failurePolicy,
          "Ignore",
          "namespace writes never depend on netfence",
        );
        t.equal(
          webhook(r, "kube-proxy.validate.netfence.io").failurePolicy,
          "Ignore",
          "kube-proxy fixes never depend on netfence",
        );
        t.equal(
          webhook(r, "delete.validate.netfence.io").failurePolicy,
          "Ignore",
          "deleting a policy never depends on netfence",
        );
        t.equal(webhook(r, "mutate.netfence.io").reinvocationPolicy, "IfNeeded");
      });

      t.test(
        "rules: only the kinds netfence handles, only CREATE and UPDATE (and NetworkPolicy DELETE, for impact)",
        async (t) => {
          const resources = new Map<string, Set<string>>();
          for (const w of webhooksOf(r)) {
            for (const rule of w.rules) {
              t.same(
                rule.operations,
                w.name === "delete.validate.netfence.io" ? ["DELETE"] : ["CREATE", "UPDATE"],
                w.name,
              );
              t.notOk(
                [...rule.apiGroups, ...rule.apiVersions, ...rule.resources].some((x: string) => x.includes("*")),
                `${w.name}: no wildcards`,
              );
              for (const resource of rule.resources)
                resources.set(resource, (resources.get(resource) ?? new Set()).add(w.name));
            }
          }
          t.same([...resources.keys()].sort(), ["configmaps", "namespaces", "networkpolicies", "services"]);
          t.same(
            [...resources.get("configmaps")!],
            ["kube-proxy.validate.netfence.io"],
            "ConfigMaps go to one webhook only",
          );
          t.same(
            webhook(r, "mutate.netfence.io").rules.flatMap((rule: Obj) => rule.resources),
            ["networkpolicies"],
          );
        },
      );

      t.test(
        "namespaceSelector: never the release namespace or kube-system; netfence.io/ignore opts out",
        async (t) => {
          for (const name of [
            "validate.netfence.io",
            "mutate.netfence.io",
            "namespaces.validate.netfence.io",
            "delete.validate.netfence.io",
          ]) {
            const selector = webhook(r, name).namespaceSelector;
            t.notOk(selects(selector, namespaceLabels(NAMESPACE)), `${name}: skips the release namespace`);
            t.notOk(selects(selector, namespaceLabels("kube-system")), `${name}: skips kube-system`);
            t.notOk(
              selects(selector, namespaceLabels("team-a", { "netfence.io/ignore": "true" })),
              `${name}: honours netfence.io/ignore`,
            );
            t.ok(selects(selector, namespaceLabels("team-a")), `${name}: applies to other namespaces`);
            t.ok(
              selects(selector, namespaceLabels("team-a", { "netfence.io/ignore": "false" })),
              `${name}: only "true" opts out`,
            );
          }
        },
      );

      t.test("the kube-proxy rule: kube-system only, and only the ConfigMap named kube-proxy", async (t) => {
        const w = webhook(r, "kube-proxy.validate.netfence.io");
        t.ok(selects(w.namespaceSelector, namespaceLabels("kube-system")));
        t.notOk(selects(w.namespaceSelector, namespaceLabels("team-a")));
        t.notOk(selects(w.namespaceSelector, namespaceLabels(NAMESPACE)));
        t.notOk(selects(w.namespaceSelector, namespaceLabels("kube-system", { "netfence.io/ignore": "true" })));
        t.same(
          w.rules.flatMap((rule: Obj) => rule.resources),
          ["configmaps"],
        );
        t.match(w.matchConditions.map((c: Obj) => c.expression).join(" && "), "object.metadata.name == 'kube-proxy'");
      });

      t.test("RBAC: least privilege", async (t) => {
        const roles = [...ofKind(r, "ClusterRole"), ...ofKind(r, "Role")];
        const rules = roles.flatMap((role) =>
          role.rules.map((rule: Obj) => ({ role: `${role.kind}/${role.metadata.name}`, ...rule })),
        );
        for (const rule of rules) {
          for (const field of ["apiGroups", "resources", "verbs", "resourceNames"]) {
            t.notOk(
              (rule[field] ?? []).some((x: string) => x.includes("*")),
              `${rule.role}: no wildcard in ${field}`,
            );
          }
          t.notOk(rule.resources.includes("secrets"), `${rule.role}: no access to Secrets`);
          t.notOk(rule.nonResourceURLs, `${rule.role}: no non-resource URLs`);
          t.notOk(
            rule.verbs.some((v: string) => ["escalate", "bind", "impersonate"].includes(v)),
            `${rule.role}: no escalation verbs`,
          );
        }
        const verbsFor = (resource: string) =>
          new Set(rules.filter((rule) => rule.resources.includes(resource)).flatMap((rule) => rule.verbs));
        // patch: the isolation preview's annotation (impact.enabled, the default, and the reconciler)
        t.same(
          [...verbsFor("namespaces")].sort(),
          reconciler ? ["get", "list", "patch", "watch"] : ["get", "list", "watch"],
        );
        t.same([...verbsFor("pods")].sort(), ["list", "watch"], "pods: read only, for the impact warnings");
        t.same([...verbsFor("events")], ["create"]);
        const policyVerbs = verbsFor("networkpolicies");
        if (reconciler)
          t.same([...policyVerbs].sort(), ["create", "delete", "get", "list", "patch", "update", "watch"]);
        else
          t.notOk(
            [...policyVerbs].some((v) => WRITE_VERBS.includes(v)),
            `no NetworkPolicy write verbs without the reconciler (got ${[...policyVerbs]})`,
          );
        t.same([...verbsFor("configmaps")], ["get"]);

        const kubeProxyRole = one(r, "Role", `${RELEASE}-kube-proxy`);
        t.equal(kubeProxyRole.metadata.namespace, "kube-system");
        t.same(kubeProxyRole.rules, [
          { apiGroups: [""], resources: ["configmaps"], resourceNames: ["kube-proxy"], verbs: ["get"] },
        ]);
        t.notOk(
          ofKind(r, "ClusterRole").some((role) =>
            role.rules.some((rule: Obj) => rule.resources.includes("configmaps")),
          ),
          "no cluster-wide ConfigMap access",
        );
        const leaseRoles = ofKind(r, "Role").filter((role) =>
          role.rules.some((rule: Obj) => rule.resources.includes("leases")),
        );
        if (reconciler) {
          t.same(
            leaseRoles.map((role) => [role.metadata.name, role.metadata.namespace]),
            [[`${RELEASE}-leader-election`, NAMESPACE]],
            "leases only in the release namespace",
          );
          t.same(leaseRoles[0]!.rules, [
            { apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"] },
            {
              apiGroups: ["coordination.k8s.io"],
              resources: ["leases"],
              resourceNames: ["netfence"],
              verbs: ["get", "update"],
            },
          ]);
        } else t.same(leaseRoles, [], "no Lease access without the reconciler");
        t.notOk(
          ofKind(r, "ClusterRole").some((role) => role.rules.some((rule: Obj) => rule.resources.includes("leases"))),
          "no cluster-wide Lease access",
        );

        const chartRoles = new Set(roles.map((role) => `${role.kind}/${role.metadata.name}`));
        const serviceAccount = one(r, "ServiceAccount");
        for (const binding of [...ofKind(r, "ClusterRoleBinding"), ...ofKind(r, "RoleBinding")]) {
          t.ok(
            chartRoles.has(`${binding.roleRef.kind}/${binding.roleRef.name}`),
            `${binding.metadata.name} binds a role of the chart, not ${binding.roleRef.name}`,
          );
          t.same(binding.subjects, [
            { kind: "ServiceAccount", name: serviceAccount.metadata.name, namespace: NAMESPACE },
          ]);
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
          t.equal(
            cert.checkHost(`${RELEASE}.${NAMESPACE}.svc`),
            `${RELEASE}.${NAMESPACE}.svc`,
            "valid for the name the API server calls",
          );
          t.ok(
            Number(secret.metadata.annotations["netfence.io/not-after"]) > Date.now() / 1000 + 365 * 86400,
            "expiry recorded for renewal",
          );
          t.same(
            new Set(caBundles),
            new Set([secret.data["ca.crt"]]),
            "every webhook trusts the CA of the same render",
          );
          t.equal(ofKind(r, "Certificate").length + ofKind(r, "Issuer").length, 0);
        } else if (mode === "cert-manager") {
          t.equal(ofKind(r, "Secret").length, 0, "cert-manager writes the Secret");
          t.same(
            caBundles,
            caBundles.map(() => undefined),
            "no caBundle rendered: cainjector writes it",
          );
          const serving = one(r, "Certificate", `${RELEASE}`);
          t.equal(serving.spec.secretName, tlsVolume);
          t.ok(serving.spec.dnsNames.includes(`${RELEASE}.${NAMESPACE}.svc`));
          const caCert = one(r, "Certificate", `${RELEASE}-ca`);
          t.equal(caCert.spec.isCA, true);
          t.same(
            one(r, "Issuer", `${RELEASE}-selfsigned`).spec,
            { selfSigned: {} },
            "a self-signed Issuer bootstraps the CA",
          );
          t.equal(caCert.spec.issuerRef.name, `${RELEASE}-selfsigned`);
          t.equal(one(r, "Issuer", `${RELEASE}-ca`).spec.ca.secretName, caCert.spec.secretName);
          t.equal(
            serving.spec.issuerRef.name,
            `${RELEASE}-ca`,
            "the serving certificate is signed by the CA, so renewing it keeps the caBundle",
          );
          for (const c of [
            ...ofKind(r, "ValidatingWebhookConfiguration"),
            ...ofKind(r, "MutatingWebhookConfiguration"),
          ]) {
            t.equal(
              c.metadata.annotations["cert-manager.io/inject-ca-from"],
              `${NAMESPACE}/${serving.metadata.name}`,
              `${c.kind}: cainjector annotation`,
            );
          }
        } else {
          t.equal(
            ofKind(r, "Secret").length + ofKind(r, "Certificate").length + ofKind(r, "Issuer").length,
            0,
            "nothing issued",
          );
          t.equal(tlsVolume, "my-netfence-tls");
          t.same(new Set(caBundles), new Set([EXISTING_CA_BUNDLE]));
        }
      });
    });
  }

  t.test("values change what they should", async (t) => {
    t.test("heapPercentOfMemoryLimit: V8's heap limit follows the memory limit; 0 leaves Node's default", async (t) => {
      const env = async (values: Record<string, string>) =>
        one(await render(values), "Deployment").spec.template.spec.containers.find((c: Obj) => c.name === "netfence")
          .env as Obj[] | undefined;
      t.same(await env({}), [{ name: "NODE_OPTIONS", value: "--max-old-space-size-percentage=50" }], "the default");
      t.same(await env({ heapPercentOfMemoryLimit: "60" }), [
        { name: "NODE_OPTIONS", value: "--max-old-space-size-percentage=60" },
      ]);
      t.equal(await env({ heapPercentOfMemoryLimit: "0" }), undefined);
    });
    t.test(
      "reconciler off: no NetworkPolicy writes (reads only for impact), and with impact off no access at all",
      async (t) => {
        const policyVerbs = (r: Rendered) =>
          ofKind(r, "ClusterRole").flatMap((role) =>
            role.rules
              .filter((rule: Obj) => rule.resources.includes("networkpolicies"))
              .flatMap((rule: Obj) => rule.verbs),
          );
        const r = await render({ "reconciler.enabled": "false" });
        t.same(policyVerbs(r).sort(), ["list", "watch"]);
        t.notOk(ofKind(r, "ClusterRoleBinding").some((b) => b.metadata.name.endsWith("-reconciler")));
        t.same(policyVerbs(await render({ "reconciler.enabled": "false", "impact.enabled": "false" })), []);
      },
    );
    t.test("impact off: no pod access, no namespace patch, no DELETE webhook, and the config says so", async (t) => {
      const r = await render({ "impact.enabled": "false" });
      const rules = [...ofKind(r, "ClusterRole"), ...ofKind(r, "Role")].flatMap((role) => role.rules);
      t.notOk(rules.some((rule: Obj) => rule.resources.includes("pods")));
      t.notOk(rules.some((rule: Obj) => rule.resources.includes("namespaces") && rule.verbs.includes("patch")));
      t.notOk(webhooksOf(r).some((w) => w.rules.some((rule: Obj) => rule.operations.includes("DELETE"))));
      t.same(parseYaml(one(r, "ConfigMap").data["config.yaml"]).impact, { enabled: false, deadlineMs: 100 });
    });
    t.test(
      "impact on: NetworkPolicy DELETE goes to its own webhook, failurePolicy Ignore, a short timeout",
      async (t) => {
        const r = await render({ "impact.deadlineMs": "250", "impact.deleteTimeoutSeconds": "3" });
        const w = webhook(r, "delete.validate.netfence.io");
        t.same(w.rules, [
          {
            apiGroups: ["networking.k8s.io"],
            apiVersions: ["v1"],
            operations: ["DELETE"],
            resources: ["networkpolicies"],
            scope: "Namespaced",
          },
        ]);
        t.equal(w.failurePolicy, "Ignore");
        t.equal(w.timeoutSeconds, 3);
        t.equal(w.clientConfig.service.path, "/validate");
        t.same(parseYaml(one(r, "ConfigMap").data["config.yaml"]).impact, { enabled: true, deadlineMs: 250 });
      },
    );
    t.test("failure policies and timeout come from values", async (t) => {
      const r = await render({
        "webhook.validating.failurePolicy": "Ignore",
        "webhook.mutating.failurePolicy": "Fail",
        "webhook.timeoutSeconds": "10",
      });
      t.equal(webhook(r, "validate.netfence.io").failurePolicy, "Ignore");
      t.equal(webhook(r, "mutate.netfence.io").failurePolicy, "Fail");
      t.ok(webhooksOf(r).every((w) => w.timeoutSeconds === (w.name === "delete.validate.netfence.io" ? 2 : 10)));
    });
    t.test("extra excluded namespaces add to the release namespace and kube-system", async (t) => {
      const r = await render({ "webhook.excludedNamespaces": "{gatekeeper-system}" });
      const selector = webhook(r, "validate.netfence.io").namespaceSelector;
      for (const ns of [NAMESPACE, "kube-system", "gatekeeper-system"])
        t.notOk(selects(selector, namespaceLabels(ns)), ns);
    });
    t.test("installed in another namespace, that namespace is the excluded one", async (t) => {
      const run = await helm(["template", RELEASE, CHART, "--namespace", "security"]);
      const objects = run.stdout
        .split(/^---$/m)
        .map((d) => parseYaml(d) as Obj | null)
        .filter((o): o is Obj => o !== null);
      const w = objects.find((o) => o.kind === "ValidatingWebhookConfiguration")!.webhooks[0];
      t.notOk(selects(w.namespaceSelector, namespaceLabels("security")));
      t.ok(selects(w.namespaceSelector, namespaceLabels(NAMESPACE)));
      t.equal(w.clientConfig.service.namespace, "security");
    });
    t.test("a config change changes the checksum; other values do not", async (t) => {
      const checksum = async (values: Record<string, string>) =>
        one(await render(values), "Deployment").spec.template.metadata.annotations["checksum/config"];
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
      t.same(
        config.podCIDRs.map((c) => c.network),
        ["10.244.0.0/16"],
      );
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
      t.ok(
        selects(pod.spec.topologySpreadConstraints[0].labelSelector, pod.metadata.labels),
        "a missing labelSelector gets the pods' labels",
      );
    });
    t.test("ServiceMonitor: off by default; when on, scrapes the metrics port over HTTPS", async (t) => {
      t.equal(ofKind(await render(), "ServiceMonitor").length, 0);
      const monitor = one(await render({ "metrics.serviceMonitor.enabled": "true" }), "ServiceMonitor");
      t.equal(monitor.spec.endpoints[0].port, "metrics");
      t.equal(monitor.spec.endpoints[0].scheme, "https");
      t.equal(monitor.spec.endpoints[0].tlsConfig.serverName, `${RELEASE}.${NAMESPACE}.svc`);
    });
    t.test("cert-manager with an existing issuer: no Issuer or CA created", async (t) => {
      const r = await render({
        "tls.mode": "cert-manager",
        "tls.certManager.issuerRef.name": "corp-ca",
        "tls.certManager.issuerRef.kind": "ClusterIssuer",
      });
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
      [
        "an allowed namespace that is not a namespace name",
        { "config.allowedIngressNamespaces": "{Monitoring}" },
        /allowedIngressNamespaces/,
      ],
      ["an unknown rule action", { "config.rules.NP024": "block" }, /NP024/],
      ["a misspelt top-level value", { replicas: "3" }, /replicas/],
      ["mode secret without the Secret", { "tls.mode": "secret" }, /existingSecret/],
      ["a heap of more than the memory limit", { heapPercentOfMemoryLimit: "101" }, /heapPercentOfMemoryLimit/],
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

  t.test("values.schema.json refuses what netfence's config refuses, before anything is rendered", async (t) => {
    // Each with what helm's message must name (its path for a propertyName is off, the name is not).
    const refused: Record<string, [Obj, RegExp]> = {
      "a pod CIDR with host bits": [
        { podCIDRs: ["10.244.0.1/16"] },
        /\/config\/podCIDRs\/0': '10\.244\.0\.1\/16' does not match pattern/,
      ],
      "a pod CIDR with a leading zero": [
        { podCIDRs: ["010.244.0.0/16"] },
        /\/config\/podCIDRs\/0': '010\.244\.0\.0\/16'/,
      ],
      "a pod CIDR without a prefix length": [{ podCIDRs: ["10.244.0.0"] }, /\/config\/podCIDRs\/0': '10\.244\.0\.0'/],
      "an unknown rule ID": [{ rules: { NP999: "off" } }, /invalid propertyName 'NP999'/],
      "an unknown rule action": [{ rules: { NP024: "block" } }, /\/config\/rules\/NP024'/],
      "a namespace name over 63 characters": [
        { isolatedNamespaces: ["n".repeat(64)] },
        /\/config\/isolatedNamespaces\/0'/,
      ],
      "an unknown config key": [{ surprise: 1 }, /additional properties 'surprise' not allowed/],
      "a body limit of 0": [{ bodyLimitBytes: 0 }, /\/config\/bodyLimitBytes'/],
      "a fractional body limit": [{ bodyLimitBytes: 1.5 }, /\/config\/bodyLimitBytes'/],
      "an unknown emptySelector scope": [{ services: { emptySelector: "some" } }, /\/config\/services\/emptySelector'/],
    };
    for (const [why, [config, named]] of Object.entries(refused)) {
      t.throws(() => parseConfig(config), { name: "ConfigError" }, `${why}: netfence refuses it at start`);
      const run = await template(
        {},
        Object.entries(config).flatMap(([key, value]) => ["--set-json", `config.${key}=${JSON.stringify(value)}`]),
      );
      t.not(run.code, 0, `${why}: so does helm`);
      t.match(run.stderr, named, `${why}: helm names it`);
    }
    const accepted = {
      podCIDRs: ["10.244.0.0/16", "fd00:10:244::/56"],
      rules: { NP024: "off", KP001: "warn" },
      isolatedNamespaces: ["team-a"],
      bodyLimitBytes: 1048576,
    };
    const run = await template(
      {},
      Object.entries(accepted).flatMap(([key, value]) => ["--set-json", `config.${key}=${JSON.stringify(value)}`]),
    );
    t.equal(run.code, 0, run.stderr);
  });
}
