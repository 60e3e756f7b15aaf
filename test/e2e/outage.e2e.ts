// An API server outage while netfence runs: admission keeps answering from the namespace cache,
// /readyz reports the stale cache after the configured time, the informer reconnects, and the
// reconciler catches up. Also: no certificate, key or token ever reaches the logs.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { startCluster } from "./start-cluster.ts";

const cluster = await startCluster({ extraConfig: { cacheStaleAfterSeconds: 3, resyncSeconds: 3 } });

const review = (uid: string) => ({
  apiVersion: "admission.k8s.io/v1",
  kind: "AdmissionReview",
  request: {
    uid,
    kind: { group: "", version: "v1", kind: "Service" },
    namespace: "iso",
    name: "no-selector",
    operation: "CREATE",
    object: {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "no-selector", namespace: "iso" },
      spec: { ports: [{ port: 80 }] },
    },
  },
});

t.test("before the outage: isolation is known and the managed policy exists", async (t) => {
  await cluster.kubectlApply([
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "iso", labels: { "netfence.io/isolation": "enabled" } } },
  ]);
  await cluster.eventually(
    "netfence-isolation",
    async () => (await cluster.kubectl(["get", "networkpolicy", "netfence-isolation", "-n", "iso"])).code,
    (c) => c === 0,
  );
  t.equal((await cluster.netfenceRequest("/readyz")).status, 200);
});

t.test("during the outage: answers come from the cache, and /readyz reports the stale cache", async (t) => {
  await cluster.stopApiserver();
  const started = Date.now();
  let answered = 0;
  for (let i = 0; i < 20; i++) {
    const { status, json } = await cluster.netfenceRequest("/validate", review(`outage-${i}`));
    if (status === 200 && json.response.allowed === false && /SVC001/.test(json.response.status.message)) answered++;
  }
  t.equal(answered, 20, "20 of 20 admission requests answered from the cache, isolation still known");
  const stale = await cluster.eventually(
    "stale readiness",
    () => cluster.netfenceRequest("/readyz"),
    (r) => r.status === 503,
    20_000,
  );
  t.match(stale.json.reason, /namespace cache stale/);
  t.ok(Date.now() - started >= 3000 - 500, "not before the configured 3 s");
  t.equal((await cluster.netfenceRequest("/healthz")).status, 200, "still alive");
});

t.test("after the outage: the informer reconnects and the reconciler catches up", async (t) => {
  await cluster.startApiserver();
  await cluster.eventually(
    "ready again",
    () => cluster.netfenceRequest("/readyz"),
    (r) => r.status === 200,
    60_000,
  );
  t.pass("/readyz is ready again");
  // Changes made after the outage reach netfence through the new watch.
  await cluster.kubectlApply([
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "iso-later", labels: { "netfence.io/isolation": "enabled" } },
    },
  ]);
  await cluster.eventually(
    "policy in the new namespace",
    async () => (await cluster.kubectl(["get", "networkpolicy", "netfence-isolation", "-n", "iso-later"])).code,
    (c) => c === 0,
  );
  t.pass("a namespace isolated after the outage gets its policy");
  // Drift is repaired by the resync.
  t.equal((await cluster.kubectl(["delete", "networkpolicy", "netfence-isolation", "-n", "iso"])).code, 0);
  await cluster.eventually(
    "policy restored",
    async () => (await cluster.kubectl(["get", "networkpolicy", "netfence-isolation", "-n", "iso"])).code,
    (c) => c === 0,
  );
  t.pass("a deleted managed policy is restored");
  const metrics = await cluster.netfenceRequest("/metrics");
  t.match(String(metrics.json), /netfence_informer_restarts_total [1-9]/);
});

t.test("no certificate, private key or token appears in any log", async (t) => {
  const logs = readdirSync(cluster.dir).filter((f) => f === "netfence.log");
  t.equal(logs.length, 1);
  const text = readFileSync(join(cluster.dir, "netfence.log"), "utf8");
  t.ok(text.length > 1000, `${text.length} bytes of netfence logs`);
  t.notMatch(text, /-----BEGIN/, "no PEM block");
  t.notMatch(text, new RegExp(cluster.token), "no bearer token");
  t.notMatch(text, new RegExp(cluster.netfenceCaBundle.slice(0, 40).replace(/[+/]/g, "\\$&")), "no caBundle");
  const key = readFileSync(join(cluster.dir, "netfence.key"), "utf8").split("\n")[1]!;
  t.notMatch(text, key.slice(0, 40).replace(/[+/]/g, "\\$&"), "no private key material");
});
