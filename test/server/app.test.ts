import t from "tap";
import { pino } from "pino";
import { admissionPolicy } from "../../src/admission/policy.ts";
import { parseConfig } from "../../src/config.ts";
import { buildApp } from "../../src/server/app.ts";
import { admissionReview, ingressFromCidr, networkPolicy } from "../helpers/review.ts";
import { decodePatch, testApp } from "../helpers/app.ts";

async function post(
  app: ReturnType<typeof testApp>["app"],
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  return app.inject({
    method: "POST",
    url,
    headers: { "content-type": "application/json", ...headers },
    payload: typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
}

t.test("/validate denies 10.0.0.1/8, naming the field and the network", async (t) => {
  const { app } = testApp();
  const res = await post(
    app,
    "/validate",
    admissionReview("NetworkPolicy", ingressFromCidr("10.0.0.1/8"), { uid: "abc" }),
  );
  t.equal(res.statusCode, 200);
  const { response } = res.json();
  t.equal(response.uid, "abc");
  t.equal(response.allowed, false);
  t.equal(response.status.code, 403);
  t.match(response.status.message, "spec.ingress[0].from[0].ipBlock.cidr");
  t.match(response.status.message, "`10.0.0.0/8`");
  t.equal(response.patch, undefined);
});

t.test("/validate denies every first CIDR rule case with its reason", async (t) => {
  const { app } = testApp();
  for (const [cidr, reason] of [
    ["010.0.0.0/8", /leading zero/],
    ["10.0.0.0", /prefix length/],
    ["::ffff:10.0.0.0/104", /IPv4-mapped/],
    ["127.0.26.33:31", /not a `:`/],
  ] as const) {
    const { response } = (await post(app, "/validate", admissionReview("NetworkPolicy", ingressFromCidr(cidr)))).json();
    t.equal(response.allowed, false, cidr);
    t.match(response.status.message, reason, cidr);
  }
});

t.test("/validate allows a correct policy without warnings", async (t) => {
  const { app } = testApp();
  const policy = networkPolicy({
    policyTypes: ["Ingress"],
    ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/8" } }] }],
  });
  const { response } = (await post(app, "/validate", admissionReview("NetworkPolicy", policy))).json();
  t.same(response, { uid: "705ab4f5-6393-11e8-b7cc-42010a800002", allowed: true });
});

t.test("/validate denies egress rules that policyTypes makes Kubernetes ignore (NP003)", async (t) => {
  const { app } = testApp();
  const policy = networkPolicy({ policyTypes: ["Ingress"], egress: [{ to: [{ podSelector: {} }] }] });
  const { response } = (await post(app, "/validate", admissionReview("NetworkPolicy", policy))).json();
  t.equal(response.allowed, false);
  t.match(
    response.status.message,
    /NP003 spec\.egress: .*add `Egress` to `spec\.policyTypes` or delete the egress rules/,
  );
});

t.test("/validate denies a policyTypes value in the wrong case (NP002)", async (t) => {
  const { app } = testApp();
  const policy = networkPolicy({ policyTypes: ["ingress"] });
  const { response } = (await post(app, "/validate", admissionReview("NetworkPolicy", policy))).json();
  t.equal(response.allowed, false);
  t.match(response.status.message, /NP002 spec\.policyTypes\[0\]: .*write `Ingress`/);
});

t.test("/validate warns with the rule ID first (NP024)", async (t) => {
  const { app } = testApp();
  const { response } = (
    await post(app, "/validate", admissionReview("NetworkPolicy", ingressFromCidr("0.0.0.0/0")))
  ).json();
  t.equal(response.allowed, true);
  t.match(response.warnings[0], /^NP024 spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr: /);
});

t.test("a rule set to warn in the config warns instead of denying", async (t) => {
  const { app } = testApp({ rules: { NP021: "warn" } });
  const { response } = (
    await post(app, "/validate", admissionReview("NetworkPolicy", ingressFromCidr("10.0.0.1/8")))
  ).json();
  t.equal(response.allowed, true);
  t.match(response.warnings[0], /^NP021 /);
});

t.test("a rule set to off says nothing", async (t) => {
  const { app } = testApp({ rules: { NP021: "off" } });
  const { response } = (
    await post(app, "/validate", admissionReview("NetworkPolicy", ingressFromCidr("10.0.0.1/8")))
  ).json();
  t.same(response, { uid: "705ab4f5-6393-11e8-b7cc-42010a800002", allowed: true });
});

t.test("DELETE is allowed untouched", async (t) => {
  const { app } = testApp();
  for (const url of ["/validate", "/mutate"]) {
    const { response } = (
      await post(
        app,
        url,
        admissionReview("NetworkPolicy", null, { operation: "DELETE", oldObject: ingressFromCidr("10.0.0.1/8") }),
      )
    ).json();
    t.same(response, { uid: "705ab4f5-6393-11e8-b7cc-42010a800002", allowed: true }, url);
  }
});

t.test("unknown kinds are allowed untouched", async (t) => {
  const { app } = testApp();
  for (const url of ["/validate", "/mutate"]) {
    const { response } = (await post(app, url, admissionReview("Pod", { spec: { containers: [] } }))).json();
    t.same(response, { uid: "705ab4f5-6393-11e8-b7cc-42010a800002", allowed: true }, url);
  }
});

t.test("UPDATE keeps a denial the stored object already had as a warning", async (t) => {
  const { app } = testApp();
  const old = ingressFromCidr("10.0.0.1/8");
  const updated = { ...old, metadata: { ...old.metadata, labels: { team: "a" } } };
  const { response } = (
    await post(app, "/validate", admissionReview("NetworkPolicy", updated, { operation: "UPDATE", oldObject: old }))
  ).json();
  t.equal(response.allowed, true);
  t.match(
    response.warnings[0],
    /^NP021 spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr: already stored, allowed on update/,
  );
  const worse = ingressFromCidr("10.0.0.2/8");
  const second = (
    await post(app, "/validate", admissionReview("NetworkPolicy", worse, { operation: "UPDATE", oldObject: old }))
  ).json();
  t.equal(second.response.allowed, false, "a new bad value at the same field is still denied");
});

t.test("/mutate injects the allowed namespaces in an isolated namespace", async (t) => {
  const { app } = testApp({ allowedIngressNamespaces: ["monitoring", "ingress-nginx"] }, (ns) => ns === "team-a");
  const { response } = (
    await post(app, "/mutate", admissionReview("NetworkPolicy", networkPolicy({ policyTypes: ["Ingress"] })))
  ).json();
  t.equal(response.allowed, true);
  t.equal(response.patchType, "JSONPatch");
  t.same(decodePatch(response.patch), [
    {
      op: "add",
      path: "/spec/ingress",
      value: [
        {
          from: [
            {
              namespaceSelector: {
                matchExpressions: [
                  { key: "kubernetes.io/metadata.name", operator: "In", values: ["ingress-nginx", "monitoring"] },
                ],
              },
            },
          ],
        },
      ],
    },
    {
      op: "add",
      path: "/metadata/annotations",
      value: { "netfence.io/injected-ingress-namespaces": "ingress-nginx,monitoring" },
    },
  ]);
});

t.test("/mutate leaves policies of other namespaces alone", async (t) => {
  const { app } = testApp({ allowedIngressNamespaces: ["monitoring"] }, () => false);
  const { response } = (await post(app, "/mutate", admissionReview("NetworkPolicy", networkPolicy({})))).json();
  t.same(response, { uid: "705ab4f5-6393-11e8-b7cc-42010a800002", allowed: true });
});

const badBodies: Record<
  string,
  { body: string | Buffer; status: number; says: RegExp; headers?: Record<string, string> }
> = {
  "not JSON": { body: "garbage{", status: 400, says: /not valid JSON/ },
  "JSON but not an AdmissionReview": {
    body: JSON.stringify({ hello: "world" }),
    status: 400,
    says: /not an admission\.k8s\.io\/v1 AdmissionReview/,
  },
  "a JSON array": { body: "[1,2,3]", status: 400, says: /AdmissionReview/ },
  "missing uid": {
    body: JSON.stringify({
      ...admissionReview("NetworkPolicy", {}),
      request: { ...admissionReview("NetworkPolicy", {}).request, uid: undefined },
    }),
    status: 400,
    says: /request\.uid/,
  },
  "wrong apiVersion": {
    body: JSON.stringify({ ...admissionReview("NetworkPolicy", {}), apiVersion: "admission.k8s.io/v1beta1" }),
    status: 400,
    says: /apiVersion: must be admission\.k8s\.io\/v1/,
  },
  "an unknown operation": {
    body: JSON.stringify({
      ...admissionReview("NetworkPolicy", {}),
      request: { ...admissionReview("NetworkPolicy", {}).request, operation: "PATCH" },
    }),
    status: 400,
    says: /request\.operation/,
  },
  "a body of 4 MiB": { body: Buffer.alloc(4 * 1024 * 1024, " "), status: 413, says: /too large|exceed/i },
  "an empty body": { body: "", status: 400, says: /empty/i },
  "the wrong content type": {
    body: "x=1",
    status: 415,
    says: /content-type/i,
    headers: { "content-type": "application/x-www-form-urlencoded" },
  },
};

t.test("bodies that are not AdmissionReviews get a 4xx with a JSON error, never a 500", async (t) => {
  const { app } = testApp();
  for (const [behaviour, { body, status, says, headers }] of Object.entries(badBodies)) {
    for (const url of ["/validate", "/mutate"]) {
      const res = await post(app, url, body, headers);
      t.equal(res.statusCode, status, `${behaviour} ${url}`);
      t.match(res.json().error, says, `${behaviour} ${url}: error says what is wrong`);
    }
  }
  t.equal((await app.inject({ method: "GET", url: "/healthz" })).statusCode, 200, "and the app still answers");
});

t.test("health, readiness and metrics", async (t) => {
  const { app } = testApp();
  t.same((await app.inject({ method: "GET", url: "/healthz" })).json(), { status: "ok" });
  t.same((await app.inject({ method: "GET", url: "/readyz" })).json(), { status: "ready" });
  await post(app, "/validate", admissionReview("NetworkPolicy", ingressFromCidr("10.0.0.1/8")));
  await post(app, "/validate", "garbage");
  const metrics = (await app.inject({ method: "GET", url: "/metrics" })).body;
  t.match(
    metrics,
    'netfence_admission_requests_total{webhook="validate",kind="NetworkPolicy",operation="CREATE",decision="denied"} 1',
  );
  t.match(metrics, 'netfence_findings_total{rule="NP021",action="deny"} 1');
  t.match(metrics, 'netfence_bad_requests_total{status="400"} 1');
  for (const le of ["0.001", "0.005", "0.025"])
    t.match(metrics, `netfence_admission_duration_seconds_bucket{le="${le}",webhook="validate"}`);
});

t.test("the admission decision log line counts findings per rule; it never lists them one by one", async (t) => {
  const lines: string[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
  const config = parseConfig({});
  const app = buildApp({ policy: admissionPolicy(config), bodyLimitBytes: config.bodyLimitBytes, logger });
  t.teardown(() => app.close());
  const peers = Array.from({ length: 20_000 }, (_, i) =>
    i % 2 === 0 ? { namespaceSelector: { matchLabels: { a: "b" } } } : { podSelector: { matchLabels: { c: "d" } } },
  );
  const res = await app.inject({
    method: "POST",
    url: "/validate",
    payload: admissionReview(
      "NetworkPolicy",
      networkPolicy({ ingress: [{ from: [...peers, { ipBlock: { cidr: "10.0.0.1/8" } }] }] }),
    ),
  });
  t.equal(res.statusCode, 200);
  const decision = lines.map((line) => JSON.parse(line)).find((entry) => entry.msg === "admission decision");
  t.same(decision.rules, { "NP041:warn": 10_000, "NP021:deny": 1 });
  t.ok(JSON.stringify(decision).length < 1_000, `one short line (${JSON.stringify(decision).length} characters)`);
});

t.test(
  "a body above the offload size is decided by a worker thread from its bytes, as the main thread decides it",
  async (t) => {
    const config = parseConfig({ allowedIngressNamespaces: ["monitoring"] });
    const policy = admissionPolicy(config, { isIsolated: (ns) => ns === "team-a" });
    const inline = buildApp({ policy, bodyLimitBytes: config.bodyLimitBytes });
    const offloaded = buildApp({ policy, bodyLimitBytes: config.bodyLimitBytes, offloadAboveBytes: 0 });
    t.teardown(() => Promise.all([inline.close(), offloaded.close()]));
    const cases: [string, string, unknown][] = [
      ["a denied CIDR", "/validate", admissionReview("NetworkPolicy", ingressFromCidr("10.0.0.1/8"))],
      [
        "an injection in an isolated namespace",
        "/mutate",
        admissionReview("NetworkPolicy", networkPolicy({ policyTypes: ["Ingress"] })),
      ],
      [
        "a `__proto__` key and text beyond ASCII",
        "/validate",
        admissionReview("NetworkPolicy", {
          ...networkPolicy({ policyTypes: ["Ingress"] }),
          metadata: { name: "ü-policy", namespace: "team-a", annotations: { ["__proto__"]: "é", note: "日本" } },
        }),
      ],
    ];
    // Bodies that are not AdmissionReviews get the same refusal whichever thread parses them.
    for (const [what, body, status] of [
      ["invalid JSON", '{"apiVersion": ', 400],
      ["JSON that is not an AdmissionReview", '{"kind":"Pod"}', 400],
      ["a byte-order mark before the JSON", `\ufeff${JSON.stringify(cases[0]![2])}`, 200],
    ] as const) {
      const [a, b] = await Promise.all([post(inline, "/validate", body), post(offloaded, "/validate", body)]);
      t.same([a.statusCode, b.statusCode], [status, status], `${what}: status`);
      t.same(b.json(), a.json(), what);
    }
    for (const [what, url, review] of cases) {
      const body = JSON.stringify(review);
      const [a, b] = await Promise.all([post(inline, url, body), post(offloaded, url, body)]);
      t.equal(b.statusCode, 200, what);
      t.same(b.json(), a.json(), what);
    }
  },
);
