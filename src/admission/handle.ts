// What /validate and /mutate decide for one request. Pure apart from the namespace view it is given.
import fastJsonPatch from "fast-json-patch";
import { asJson } from "../json.ts";
import { NetworkPolicySchema } from "../kube-objects.ts";
import { injectAllowedIngress } from "../mutate/inject-allowed-ingress.ts";
import type { RuleContext } from "../rules/context.ts";
import { evaluate, subjectKind, type RuleActions } from "../rules/index.ts";
import type { AdmissionRequest } from "./review.ts";
import type { Verdict } from "./response.ts";

export interface AdmissionPolicy {
  actions: RuleActions;
  /** The rule context for an object in this namespace (isolation comes from the cluster view). */
  contextFor(namespace: string | undefined): RuleContext;
}

const NOTHING: Verdict = { findings: [] };

export function validateRequest(request: AdmissionRequest, policy: AdmissionPolicy): Verdict {
  const kind = subjectKind(request.group, request.kind);
  if (kind === undefined || request.operation === "DELETE" || request.operation === "CONNECT") return NOTHING;
  const findings = evaluate(
    {
      kind,
      namespace: request.namespace,
      name: request.name,
      object: request.object,
      oldObject: request.operation === "UPDATE" ? request.oldObject : undefined,
    },
    policy.contextFor(request.namespace),
    policy.actions,
  );
  return { findings };
}

export function mutateRequest(request: AdmissionRequest, policy: AdmissionPolicy): Verdict {
  if (request.operation !== "CREATE" && request.operation !== "UPDATE") return NOTHING;
  if (subjectKind(request.group, request.kind) !== "NetworkPolicy") return NOTHING;
  const context = policy.contextFor(request.namespace);
  if (!context.namespaceIsolated) return NOTHING;
  const parsed = NetworkPolicySchema.safeParse(request.object);
  // A malformed policy is left alone here; /validate explains what is wrong with it.
  if (!parsed.success) return NOTHING;
  const mutated = injectAllowedIngress(parsed.data, context.allowedIngressNamespaces);
  if (mutated === parsed.data) return NOTHING;
  // The diff is taken from the object exactly as the apiserver sent it, so that every operation
  // applies to it (a member sent as null is dropped, which is what Kubernetes stores anyway).
  const patch = fastJsonPatch.compare(asJson(request.object) as object, asJson(mutated) as object);
  return { findings: [], patch };
}
