// The mutating webhook's patch is the difference between the object as sent and the mutator's result.
// compare() skips the subtrees the mutator shares with the request object; these properties pin that
// the patch is still the full difference: the same operations as a diff of two independent JSON
// copies, applying cleanly to the object as sent, to give the mutated object, and idempotent.
import { isDeepStrictEqual } from "node:util";
import fc from "fast-check";
import fastJsonPatch from "fast-json-patch";
import t from "tap";
import { admissionPolicy } from "../../src/admission/policy.ts";
import { mutateRequest } from "../../src/admission/handle.ts";
import { parseConfig } from "../../src/config.ts";
import { asJson } from "../../src/json.ts";
import { kindEntry } from "../../src/kinds.ts";
import { parseAdmissionReview, type AdmissionRequest } from "../../src/admission/review.ts";
import { admissionReview } from "../helpers/review.ts";
import { networkPolicyShape } from "../helpers/arbitraries.ts";

const RUNS = 400;

const config = parseConfig({
  allowedIngressNamespaces: ["monitoring", "ingress-nginx"],
  isolatedNamespaces: ["team-a"],
});
const policy = admissionPolicy(config);
/** The request as the webhook sees it: the AdmissionReview a client sends, through the envelope parser. */
function request(object: unknown): AdmissionRequest {
  const parsed = parseAdmissionReview(admissionReview("NetworkPolicy", object, { namespace: "team-a", name: "p" }));
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.request;
}

// As the webhook receives them: parsed from JSON, sometimes with absent fields spelt null.
const received = fc
  .tuple(networkPolicyShape, fc.boolean())
  .map(
    ([object, nulls]) =>
      JSON.parse(
        JSON.stringify(object, (key, value: unknown) =>
          nulls && key !== "" && Array.isArray(value) && value.length === 0 ? null : value,
        ),
      ) as unknown,
  );

t.test("the patch of a policy as received is the full difference, applies, and is idempotent", async (t) => {
  let patched = 0;
  fc.assert(
    fc.property(received, (object) => {
      const sent = structuredClone(object);
      const { patch } = mutateRequest(request(object), policy);
      if (!isDeepStrictEqual(object, sent)) throw new Error("the request object was changed");
      if (patch === undefined) return;
      patched++;
      const mutated = kindEntry("networking.k8s.io", "NetworkPolicy")!.mutate!(
        structuredClone(object),
        policy.contextFor("team-a"),
      );
      const fullDiff = fastJsonPatch.compare(asJson(object) as object, asJson(mutated) as object);
      if (JSON.stringify(patch) !== JSON.stringify(fullDiff))
        throw new Error(`patch ${JSON.stringify(patch)} differs from the full diff ${JSON.stringify(fullDiff)}`);
      const applied = fastJsonPatch.applyPatch(
        structuredClone(object),
        patch as fastJsonPatch.Operation[],
        true,
        false,
      ).newDocument;
      if (!isDeepStrictEqual(asJson(applied), asJson(mutated)))
        throw new Error("the patch does not give the mutated object");
      if (mutateRequest(request(applied), policy).patch !== undefined) throw new Error("not idempotent");
    }),
    { numRuns: RUNS },
  );
  t.ok(patched > RUNS / 4, `${patched} of ${RUNS} policies patched`);
});
