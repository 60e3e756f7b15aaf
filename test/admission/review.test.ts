// The AdmissionReview envelope as the edge parses it: what is refused (and with which words), what
// the request looks like downstream, and the depth limit on both objects an UPDATE carries.
import t from "tap";
import { parseAdmissionReview } from "../../src/admission/review.ts";
import { testApp } from "../helpers/app.ts";
import { admissionReview, networkPolicy } from "../helpers/review.ts";

/** `levels` objects nested in one another: {"a":{"a":...{}}}. Built as text, since JSON.stringify overflows the stack at such depth. */
const nestedText = (levels: number) => '{"a":'.repeat(levels - 1) + "{}" + "}".repeat(levels - 1);
const nested = (levels: number): unknown => JSON.parse(nestedText(levels));
const nestedArrays = (levels: number): unknown => JSON.parse("[".repeat(levels) + "]".repeat(levels));

const errorOf = (body: unknown) => {
  const parsed = parseAdmissionReview(body);
  return parsed.ok ? undefined : parsed.error;
};

t.test("an object nesting 100 levels is accepted, 101 is refused, in object and in oldObject alike", async (t) => {
  const policy = networkPolicy({});
  for (const field of ["object", "oldObject"] as const) {
    const review = (value: unknown) => {
      const body = admissionReview("NetworkPolicy", policy, { operation: "UPDATE", oldObject: policy });
      body.request[field] = value as never;
      return body;
    };
    t.equal(errorOf(review(nested(100))), undefined, `${field}: 100 levels`);
    t.equal(
      errorOf(review(nested(101))),
      `request.${field} nests deeper than 100 levels; no Kubernetes object netfence checks does`,
      `${field}: 101 levels`,
    );
    t.equal(errorOf(review(nestedArrays(100))), undefined, `${field}: 100 nested lists`);
    t.equal(
      errorOf(review(nestedArrays(101))),
      `request.${field} nests deeper than 100 levels; no Kubernetes object netfence checks does`,
      `${field}: 101 nested lists`,
    );
    // null, strings and numbers are values, not levels.
    for (const leaf of ["null", '"x"', "7", "true"]) {
      const text = '{"a":'.repeat(100) + leaf + "}".repeat(100);
      t.equal(errorOf(review(JSON.parse(text))), undefined, `${field}: 100 levels holding ${leaf}`);
      const list = "[".repeat(100) + leaf + "]".repeat(100);
      t.equal(errorOf(review(JSON.parse(list))), undefined, `${field}: 100 nested lists holding ${leaf}`);
    }
    // Deep in a later member or a later list item, not only in the first one.
    t.equal(
      errorOf(review({ a: 1, b: [0, { c: nested(97) }] })),
      undefined,
      `${field}: 3 wrappers and 97 levels are 100`,
    );
    t.match(
      errorOf(review({ a: 1, b: [0, { c: nested(98) }] })),
      /nests deeper than 100 levels/,
      `${field}: 101 levels deep in a later member of a later item`,
    );
  }
});

t.test(
  "an UPDATE whose oldObject nests 20,000 levels gets a 400 naming oldObject, on /validate and /mutate",
  async (t) => {
    const { app } = testApp({ allowedIngressNamespaces: ["monitoring"] }, (ns) => ns === "team-a");
    const body = JSON.stringify(
      admissionReview("NetworkPolicy", networkPolicy({}), { operation: "UPDATE", oldObject: "OLD" }),
    ).replace('"OLD"', nestedText(20_000));
    for (const url of ["/validate", "/mutate"]) {
      const res = await app.inject({
        method: "POST",
        url,
        headers: { "content-type": "application/json" },
        payload: body,
      });
      t.equal(res.statusCode, 400, url);
      t.match(res.json().error, /^request\.oldObject nests deeper than 100 levels/, url);
    }
  },
);

t.test("a well-formed review becomes netfence's own request, absent fields defaulted", async (t) => {
  const policy = networkPolicy({});
  const parsed = parseAdmissionReview(
    admissionReview("NetworkPolicy", policy, {
      uid: "u-1",
      operation: "UPDATE",
      oldObject: { old: true },
      dryRun: true,
    }),
  );
  t.same(parsed, {
    ok: true,
    request: {
      uid: "u-1",
      group: "networking.k8s.io",
      version: "v1",
      kind: "NetworkPolicy",
      namespace: "team-a",
      name: "example",
      operation: "UPDATE",
      object: policy,
      oldObject: { old: true },
      dryRun: true,
    },
  });
  const minimal = {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "u-2",
      kind: { group: "", version: "v1", kind: "Namespace" },
      namespace: null,
      name: null,
      operation: "DELETE",
      dryRun: null,
    },
  };
  t.same(parseAdmissionReview(minimal), {
    ok: true,
    request: {
      uid: "u-2",
      group: "",
      version: "v1",
      kind: "Namespace",
      namespace: undefined,
      name: undefined,
      operation: "DELETE",
      object: undefined,
      oldObject: undefined,
      dryRun: false,
    },
  });
});

t.test("what is not an AdmissionReview v1 request is refused with the field and the reason", async (t) => {
  const good = admissionReview("Service", {});
  const cases: [string, unknown, string][] = [
    [
      "not an object",
      "hello",
      "not an admission.k8s.io/v1 AdmissionReview request: body: Invalid input: expected object, received string",
    ],
    [
      "v1beta1",
      { ...good, apiVersion: "admission.k8s.io/v1beta1" },
      "not an admission.k8s.io/v1 AdmissionReview request: apiVersion: must be admission.k8s.io/v1",
    ],
    [
      "another kind",
      { ...good, kind: "Review" },
      "not an admission.k8s.io/v1 AdmissionReview request: kind: must be AdmissionReview",
    ],
    [
      "an empty uid",
      { ...good, request: { ...good.request, uid: "" } },
      "not an admission.k8s.io/v1 AdmissionReview request: request.uid: must be a non-empty string",
    ],
    [
      "an empty kind",
      { ...good, request: { ...good.request, kind: { group: "", version: "v1", kind: "" } } },
      "not an admission.k8s.io/v1 AdmissionReview request: request.kind.kind: Too small: expected string to have >=1 characters",
    ],
  ];
  for (const [name, body, error] of cases) t.equal(errorOf(body), error, name);
  t.match(
    errorOf({ ...good, request: { ...good.request, operation: "PATCH" } }),
    /^not an admission\.k8s\.io\/v1 AdmissionReview request: request\.operation: /,
    "an unknown operation",
  );
  t.match(
    errorOf({ apiVersion: "v1", kind: "Pod" }),
    /apiVersion: must be admission\.k8s\.io\/v1; kind: must be AdmissionReview; request: /,
    "every problem is named",
  );
});
