// What /validate and /mutate decide for one request. Pure apart from the namespace view it is given.
import fastJsonPatch from "fast-json-patch";
import { kindEntry, type KindName } from "../kinds.ts";
import type { RuleContext } from "../rules/context.ts";
import type { Finding } from "../rules/finding.ts";
import { evaluate, type RuleActions } from "../rules/index.ts";
import {
  buildAdmissionResponse,
  decisionOf,
  type AdmissionResponseReview,
  type Decision,
  type Verdict,
} from "./response.ts";
import type { AskChannel } from "./ask-main-thread.ts";
import type { AdmissionRequest } from "./review.ts";

export interface AdmissionPolicy {
  actions: RuleActions;
  /** The rule context for an object in this namespace (isolation comes from the cluster view). */
  contextFor(namespace: string | undefined): RuleContext;
  /**
   * The impact warnings of a NetworkPolicy write (src/impact/check.ts); never throws. With `tooLarge`,
   * only the warning that they were not computed, and why.
   */
  impact?: (request: AdmissionRequest, tooLarge?: string) => readonly Finding[];
}

export type Webhook = "validate" | "mutate";

/** A request answered: what it was about, what was decided, and the wire response. */
export interface Admission {
  /** The kind as netfence knows it; `other` for any kind it leaves alone. */
  kind: KindName | "other";
  decision: Decision;
  /** Findings per rule and action (`NP021:deny`): bounded by the registry, whatever the object's size. */
  findingCounts: Record<string, number>;
  review: AdmissionResponseReview;
}

/** What a worker thread asks the main thread about a request it has parsed, and the answer. */
export type WorkerQuestion = Omit<AdmissionRequest, "object" | "oldObject">;
export interface WorkerAnswer {
  /** The rule context of the request's namespace, as data (the worker brings its own reader). */
  context: Omit<RuleContext, "readKubeProxyConfig">;
  /** The impact findings, decided on the main thread, where the caches are. */
  impact: readonly Finding[];
}

/**
 * One request for a worker thread: the AdmissionReview as the bytes it came in (only the worker
 * parses them) and the channel on which it asks the main thread for the rest (ask-main-thread.ts).
 */
export interface AdmitTask {
  webhook: Webhook;
  body: Uint8Array;
  actions: RuleActions;
  channel: AskChannel;
}

/** A worker's answer: the request (without its objects) and its admission, or why the body was refused. */
export type WorkerOutcome =
  | { ok: true; request: WorkerQuestion; admission: Admission }
  | { ok: false; problem: "invalid-json" }
  | { ok: false; problem: "not-admission-review"; error: string };

const NOTHING: Verdict = { findings: [] };

type Entry = ReturnType<typeof kindEntry>;

/** The kind is resolved once, here; the route reads kind and decision from the answer. */
export function admit(webhook: Webhook, request: AdmissionRequest, policy: AdmissionPolicy): Admission {
  const entry = kindEntry(request.group, request.kind);
  const verdict = webhook === "validate" ? validate(entry, request, policy) : mutate(entry, request, policy);
  const findingCounts: Record<string, number> = {};
  for (const f of verdict.findings) {
    const key = `${f.ruleId}:${f.action}`;
    findingCounts[key] = (findingCounts[key] ?? 0) + 1;
  }
  return {
    kind: entry?.kind ?? "other",
    decision: decisionOf(verdict),
    findingCounts,
    review: buildAdmissionResponse(request.uid, verdict),
  };
}

export const mutateRequest = (request: AdmissionRequest, policy: AdmissionPolicy): Verdict =>
  mutate(kindEntry(request.group, request.kind), request, policy);

function validate(entry: Entry, request: AdmissionRequest, policy: AdmissionPolicy): Verdict {
  if (entry === undefined || request.operation === "CONNECT") return NOTHING;
  // A DELETE gets only the impact warnings (what deleting a NetworkPolicy opens).
  if (request.operation === "DELETE") return { findings: policy.impact?.(request) ?? [] };
  const findings = evaluate(
    {
      kind: entry.kind,
      namespace: request.namespace,
      name: request.name,
      object: request.object,
      oldObject: request.operation === "UPDATE" ? request.oldObject : undefined,
    },
    policy.contextFor(request.namespace),
    policy.actions,
  );
  // A request that is refused anyway changes no traffic.
  if (policy.impact === undefined || findings.some((f) => f.action === "deny")) return { findings };
  return { findings: [...findings, ...policy.impact(request)] };
}

function mutate(entry: Entry, request: AdmissionRequest, policy: AdmissionPolicy): Verdict {
  if ((request.operation !== "CREATE" && request.operation !== "UPDATE") || entry?.mutate === undefined) return NOTHING;
  const mutated = entry.mutate(request.object, policy.contextFor(request.namespace));
  if (mutated === request.object) return NOTHING;
  // The diff is taken from the object exactly as the apiserver sent it, so that every operation
  // applies to it (a member sent as null is dropped, which is what Kubernetes stores anyway: compare
  // reads a member that is undefined in the mutated object as a removal). The mutator shares every
  // subtree it did not change with the request object, and compare skips a subtree that is the same
  // object on both sides: only the changed paths are walked (the injected rule and annotation), not
  // the whole policy with its managedFields.
  const patch = fastJsonPatch.compare(request.object as object, mutated as object);
  return { findings: [], patch };
}
