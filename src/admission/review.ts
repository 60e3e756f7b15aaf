// The AdmissionReview v1 envelope, parsed once at the edge into netfence's own small request type;
// nothing downstream sees the wire format.
import { z } from "zod";

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

export type ParsedReview = { ok: true; request: AdmissionRequest } | { ok: false; error: string };

export function parseAdmissionReview(body: unknown): ParsedReview {
  const parsed = AdmissionReviewSchema.safeParse(body);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.map(String).join(".") || "body"}: ${issue.message}`);
    return { ok: false, error: `not an admission.k8s.io/v1 AdmissionReview request: ${problems.join("; ")}` };
  }
  const { request } = parsed.data;
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
