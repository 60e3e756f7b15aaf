// Fuzzing the admission endpoints: whatever JSON arrives, the answer is a 400 or a well-formed
// AdmissionReview with the request's uid, never a 500 and never a crash. Mutation patches apply
// cleanly and are idempotent.
import fc from "fast-check";
import fastJsonPatch from "fast-json-patch";
import t from "tap";
import { mutateRequest } from "../../src/admission/handle.ts";
import { admissionPolicy } from "../../src/admission/policy.ts";
import { parseConfig } from "../../src/config.ts";
import { anyJson, looseObject, networkPolicyShape } from "../helpers/arbitraries.ts";
import { testApp } from "../helpers/app.ts";
import { admissionReview } from "../helpers/review.ts";

const RUNS = 300;
const { app } = testApp({ allowedIngressNamespaces: ["monitoring", "ingress-nginx"] }, (ns) => ns === "team-a");

async function assertWellFormed(body: unknown) {
  for (const url of ["/validate", "/mutate"]) {
    const res = await app.inject({
      method: "POST",
      url,
      headers: { "content-type": "application/json" },
      payload: JSON.stringify(body),
    });
    if (res.statusCode === 400) {
      if (typeof res.json().error !== "string") throw new Error(`400 without an error message: ${res.body}`);
      continue;
    }
    if (res.statusCode !== 200) throw new Error(`${url} answered ${res.statusCode}: ${res.body}`);
    const { response, apiVersion, kind } = res.json();
    const uid = (body as { request: { uid: string } }).request.uid;
    if (
      apiVersion !== "admission.k8s.io/v1" ||
      kind !== "AdmissionReview" ||
      response.uid !== uid ||
      typeof response.allowed !== "boolean"
    ) {
      throw new Error(`${url}: malformed answer ${res.body}`);
    }
    if (url === "/validate" && response.patch !== undefined) throw new Error("a validating answer carried a patch");
  }
}

t.test("any JSON body gets a 400 or a well-formed answer", async (t) => {
  await fc.assert(fc.asyncProperty(anyJson, assertWellFormed), { numRuns: RUNS });
  t.pass(`${RUNS} bodies`);
});

t.test("AdmissionReviews of any kind and any object get well-formed answers with their uid", async (t) => {
  const kinds = ["NetworkPolicy", "Service", "ConfigMap", "Namespace", "Pod"] as const;
  const review = fc
    .tuple(
      fc.constantFrom(...kinds),
      fc.oneof(anyJson, networkPolicyShape, looseObject("Service"), looseObject("ConfigMap")),
      fc.oneof(fc.constant(null), anyJson, networkPolicyShape),
      fc.constantFrom("CREATE", "UPDATE", "DELETE", "CONNECT") as fc.Arbitrary<
        "CREATE" | "UPDATE" | "DELETE" | "CONNECT"
      >,
      fc.constantFrom("team-a", "kube-system", "other"),
      fc.string({ minLength: 1, maxLength: 40 }),
    )
    .map(([kind, object, oldObject, operation, namespace, uid]) =>
      admissionReview(kind, object, { operation, oldObject, namespace, uid, name: "kube-proxy" }),
    );
  await fc.assert(fc.asyncProperty(review, assertWellFormed), { numRuns: RUNS });
  t.pass(`${RUNS} reviews`);
});

t.test(
  "mutation: the patch applies cleanly to the object it came from, and mutating again yields no patch",
  async (t) => {
    const policy = admissionPolicy(
      parseConfig({ allowedIngressNamespaces: ["monitoring", "ingress-nginx"], isolatedNamespaces: ["team-a"] }),
    );
    const request = (object: unknown) => ({
      uid: "u",
      group: "networking.k8s.io",
      version: "v1",
      kind: "NetworkPolicy",
      namespace: "team-a",
      name: "p",
      operation: "CREATE" as const,
      object,
      oldObject: undefined,
      dryRun: false,
    });
    let patched = 0;
    fc.assert(
      fc.property(networkPolicyShape, (object) => {
        const first = mutateRequest(request(object), policy);
        if (first.patch === undefined) return;
        patched++;
        // validateOperation: every operation must apply to the object as sent (throws otherwise).
        const mutated = fastJsonPatch.applyPatch(
          structuredClone(object),
          first.patch as fastJsonPatch.Operation[],
          true,
          false,
        ).newDocument;
        const second = mutateRequest(request(mutated), policy);
        if (second.patch !== undefined) throw new Error(`not idempotent: ${JSON.stringify(second.patch)}`);
      }),
      { numRuns: RUNS },
    );
    t.ok(patched > RUNS / 4, `${patched} of ${RUNS} policies patched`);
  },
);

t.test("mutation patches apply to objects that spell absent fields as null", async (t) => {
  const policy = admissionPolicy(
    parseConfig({ allowedIngressNamespaces: ["monitoring"], isolatedNamespaces: ["team-a"] }),
  );
  const object = {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: { name: "p", annotations: null },
    spec: { podSelector: {}, ingress: null, egress: null, policyTypes: null },
  };
  const request = (o: unknown) => ({
    uid: "u",
    group: "networking.k8s.io",
    version: "v1",
    kind: "NetworkPolicy",
    namespace: "team-a",
    name: "p",
    operation: "CREATE" as const,
    object: o,
    oldObject: undefined,
    dryRun: false,
  });
  const { patch } = mutateRequest(request(object), policy);
  const mutated = fastJsonPatch.applyPatch(
    structuredClone(object),
    patch as fastJsonPatch.Operation[],
    true,
    false,
  ).newDocument;
  t.equal((mutated.spec.ingress as unknown as unknown[]).length, 1);
  t.equal(mutateRequest(request(mutated), policy).patch, undefined, "idempotent");
});
