// What /validate and /mutate decide per operation, kind and namespace, through the app as `serve`
// builds it: which requests are checked, which are mutated, and where isolation comes from.
import t from "tap";
import { isolationPredicate } from "../../src/isolation.ts";
import { parseConfig } from "../../src/config.ts";
import { decodePatch, testApp } from "../helpers/app.ts";
import { admissionReview, ingressFromCidr, networkPolicy } from "../helpers/review.ts";

type App = ReturnType<typeof testApp>["app"];
const answer = async (app: App, url: string, body: unknown) => {
  const res = await app.inject({
    method: "POST",
    url,
    headers: { "content-type": "application/json" },
    payload: JSON.stringify(body),
  });
  if (res.statusCode !== 200) throw new Error(`${url} answered ${res.statusCode}: ${res.body}`);
  return res.json().response;
};
const UID = "705ab4f5-6393-11e8-b7cc-42010a800002";
const INJECTED = {
  from: [
    {
      namespaceSelector: {
        matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["monitoring"] }],
      },
    },
  ],
};

t.test("/validate checks CREATE and UPDATE; DELETE and CONNECT are allowed untouched", async (t) => {
  const { app } = testApp();
  const bad = ingressFromCidr("10.0.0.1/8");
  t.equal((await answer(app, "/validate", admissionReview("NetworkPolicy", bad))).allowed, false, "CREATE");
  t.equal(
    (
      await answer(
        app,
        "/validate",
        admissionReview("NetworkPolicy", bad, { operation: "UPDATE", oldObject: ingressFromCidr("10.0.0.0/8") }),
      )
    ).allowed,
    false,
    "UPDATE",
  );
  for (const operation of ["DELETE", "CONNECT"] as const) {
    t.same(
      await answer(app, "/validate", admissionReview("NetworkPolicy", bad, { operation })),
      { uid: UID, allowed: true },
      operation,
    );
  }
});

t.test("only an UPDATE is ratcheted: an oldObject sent with a CREATE is ignored", async (t) => {
  const { app } = testApp();
  const bad = ingressFromCidr("10.0.0.1/8");
  t.equal(
    (await answer(app, "/validate", admissionReview("NetworkPolicy", bad, { operation: "CREATE", oldObject: bad })))
      .allowed,
    false,
  );
  t.equal(
    (await answer(app, "/validate", admissionReview("NetworkPolicy", bad, { operation: "UPDATE", oldObject: bad })))
      .allowed,
    true,
  );
});

t.test("/validate takes isolation from the configured list and from the cluster view", async (t) => {
  const service = { apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: {} };
  const { app } = testApp({ isolatedNamespaces: ["listed"] }, (ns) => ns === "labelled");
  for (const [namespace, allowed] of [
    ["listed", false],
    ["labelled", false],
    ["open", true],
  ] as const) {
    t.equal(
      (await answer(app, "/validate", admissionReview("Service", service, { namespace }))).allowed,
      allowed,
      namespace,
    );
  }
});

t.test("/mutate patches only CREATE and UPDATE of NetworkPolicies in isolated namespaces", async (t) => {
  const { app } = testApp({ allowedIngressNamespaces: ["monitoring"] }, (ns) => ns === "team-a");
  const policy = networkPolicy({ policyTypes: ["Ingress"] });
  for (const operation of ["CREATE", "UPDATE"] as const) {
    const response = await answer(
      app,
      "/mutate",
      admissionReview("NetworkPolicy", policy, { operation, oldObject: operation === "UPDATE" ? policy : undefined }),
    );
    t.same(
      (decodePatch(response.patch) as unknown[] | undefined)?.[0],
      { op: "add", path: "/spec/ingress", value: [INJECTED] },
      operation,
    );
  }
  const untouched: [string, unknown][] = [
    ["DELETE", admissionReview("NetworkPolicy", policy, { operation: "DELETE" })],
    ["CONNECT", admissionReview("NetworkPolicy", policy, { operation: "CONNECT" })],
    ["a Service", admissionReview("Service", { apiVersion: "v1", kind: "Service", metadata: { name: "s" }, spec: {} })],
    ["a namespace not isolated", admissionReview("NetworkPolicy", policy, { namespace: "team-b" })],
    [
      "a malformed policy (left to /validate)",
      admissionReview("NetworkPolicy", { kind: "NetworkPolicy", spec: { ingress: "all" } }),
    ],
    [
      "a policy already injected",
      admissionReview(
        "NetworkPolicy",
        networkPolicy(
          { policyTypes: ["Ingress"], ingress: [INJECTED] },
          { annotations: { "netfence.io/injected-ingress-namespaces": "monitoring" } },
        ),
      ),
    ],
  ];
  for (const [name, review] of untouched)
    t.same(await answer(app, "/mutate", review), { uid: UID, allowed: true }, name);
});

t.test(
  "/mutate takes isolation from the configured list too; a namespace-less request is never isolated",
  async (t) => {
    const { app } = testApp(
      { allowedIngressNamespaces: ["monitoring"], isolatedNamespaces: ["listed"] },
      (ns) => ns === "",
    );
    const policy = networkPolicy({ policyTypes: ["Ingress"] });
    t.equal(
      (await answer(app, "/mutate", admissionReview("NetworkPolicy", policy, { namespace: "listed" }))).patchType,
      "JSONPatch",
      "listed in the config",
    );
    const review = admissionReview("NetworkPolicy", policy);
    (review.request as { namespace?: string }).namespace = "";
    t.same(
      await answer(app, "/mutate", review),
      { uid: UID, allowed: true },
      "an empty namespace, even when the view says isolated",
    );
    delete (review.request as { namespace?: string }).namespace;
    t.same(await answer(app, "/mutate", review), { uid: UID, allowed: true }, "no namespace");
  },
);

t.test("the isolation predicate: listed in the config, or switched on in the cluster", async (t) => {
  const config = parseConfig({ isolatedNamespaces: ["listed"] });
  const withView = isolationPredicate(config, { isIsolated: (ns: string) => ns === "labelled" });
  t.same(["listed", "labelled", "open"].map(withView), [true, true, false]);
  const standalone = isolationPredicate(config);
  t.same(["listed", "labelled", "open"].map(standalone), [true, false, false]);
});

t.test(
  "a request without a namespace is never isolated, even by a view that calls every namespace isolated",
  async (t) => {
    const { app } = testApp({ allowedIngressNamespaces: ["monitoring"] }, () => true);
    const review = admissionReview("NetworkPolicy", networkPolicy({ policyTypes: ["Ingress"] }));
    delete (review.request as { namespace?: string }).namespace;
    t.same(await answer(app, "/mutate", review), { uid: UID, allowed: true });
    t.equal(
      (await answer(app, "/mutate", admissionReview("NetworkPolicy", networkPolicy({ policyTypes: ["Ingress"] }))))
        .patchType,
      "JSONPatch",
      "while a named one is",
    );
  },
);
