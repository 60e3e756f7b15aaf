// The AdmissionReview v1 envelope, parsed once at the edge into netfence's own small request type;
// nothing downstream sees the wire format.
import { z } from "zod";
import { zeroCopyParser } from "../zero-copy-parse.ts";

const GroupVersionKindSchema = z.object({ group: z.string(), version: z.string(), kind: z.string().min(1) });

const AdmissionReviewSchema = z.object({
  apiVersion: z.literal("admission.k8s.io/v1", { error: "must be admission.k8s.io/v1" }),
  kind: z.literal("AdmissionReview", { error: "must be AdmissionReview" }),
  request: z.object({
    uid: z.string().min(1, { error: "must be a non-empty string" }),
    kind: GroupVersionKindSchema,
    namespace: z.string().nullish(),
    name: z.string().nullish(),
    operation: z.enum(["CREATE", "UPDATE", "DELETE", "CONNECT"]),
    object: z.unknown().optional(),
    oldObject: z.unknown().optional(),
    dryRun: z.boolean().nullish(),
  }),
});

// Not copied: the envelope is only read, field by field, below.
const parseEnvelope = zeroCopyParser(AdmissionReviewSchema);

export interface AdmissionRequest {
  uid: string;
  group: string;
  version: string;
  kind: string;
  namespace: string | undefined;
  name: string | undefined;
  operation: "CREATE" | "UPDATE" | "DELETE" | "CONNECT";
  object: unknown;
  oldObject: unknown;
  dryRun: boolean;
}

/**
 * No object of the kinds netfence checks nests anywhere near this deep (a NetworkPolicy with
 * managedFields stays under 20); deeper input is hostile and would overflow recursive code.
 */
const MAX_OBJECT_DEPTH = 100;

/**
 * Recursive but bounded: it never descends more than `limit` levels, so measuring a hostile object
 * cannot itself overflow the stack; and it allocates nothing, which the iterative walk with a stack
 * of [value, depth] pairs did for every object of every request. Only objects and arrays are
 * descended into, tested before the call: most members are strings and numbers, and not calling for
 * them makes the walk of a NetworkPolicy UPDATE (object and oldObject) 4.0 -> 2.7 us.
 */
function nestsDeeperThan(value: unknown, limit: number): boolean {
  return value !== null && typeof value === "object" && containerNestsDeeperThan(value, limit);
}

function containerNestsDeeperThan(container: object, limit: number): boolean {
  if (limit <= 0) return true;
  if (Array.isArray(container)) {
    for (const item of container as unknown[])
      if (item !== null && typeof item === "object" && containerNestsDeeperThan(item, limit - 1)) return true;
    return false;
  }
  for (const key in container) {
    const member = (container as Record<string, unknown>)[key];
    if (member !== null && typeof member === "object" && Object.hasOwn(container, key))
      if (containerNestsDeeperThan(member, limit - 1)) return true;
  }
  return false;
}

export type ParsedReview = { ok: true; request: AdmissionRequest } | { ok: false; error: string };

export function parseAdmissionReview(body: unknown): ParsedReview {
  const parsed = parseEnvelope(body);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.map(String).join(".") || "body"}: ${issue.message}`,
    );
    return { ok: false, error: `not an admission.k8s.io/v1 AdmissionReview request: ${problems.join("; ")}` };
  }
  const { request } = parsed.data;
  for (const field of ["object", "oldObject"] as const) {
    if (nestsDeeperThan(request[field], MAX_OBJECT_DEPTH)) {
      return {
        ok: false,
        error: `request.${field} nests deeper than ${MAX_OBJECT_DEPTH} levels; no Kubernetes object netfence checks does`,
      };
    }
  }
  return {
    ok: true,
    request: {
      uid: request.uid,
      group: request.kind.group,
      version: request.kind.version,
      kind: request.kind.kind,
      namespace: request.namespace ?? undefined,
      name: request.name ?? undefined,
      operation: request.operation,
      object: request.object,
      oldObject: request.oldObject,
      dryRun: request.dryRun ?? false,
    },
  };
}
