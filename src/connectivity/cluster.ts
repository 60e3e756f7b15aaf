// From Kubernetes objects (manifests, or what the API server lists) to the engine's Cluster, with the
// namespaces netfence isolates evaluated as netfence makes them: the managed isolation policy present
// and the allowed namespaces injected into their policies, through the same functions the reconciler
// and the mutating webhook use. Both are idempotent, so a cluster where they already exist reads the same.
import { z } from "zod";
import { isolationPolicy } from "../isolation-policy.ts";
import { isolationOf } from "../isolation.ts";
import { NetworkPolicySchema, ObjectMetaSchema } from "../kube-objects.ts";
import { injectAllowedIngress } from "../mutate/inject-allowed-ingress.ts";
import { ISOLATION_POLICY_NAME, NAMESPACE_NAME_LABEL } from "../names.ts";
import type { Cluster, NamedPort, NamespaceInfo, PolicyInput, Workload } from "./model.ts";
import { isProtocol } from "./ports.ts";

export interface ClusterOptions {
  /** Namespace of objects that do not name one (kubectl's `-n`). */
  defaultNamespace?: string;
  allowedIngressNamespaces?: readonly string[];
  /** Isolated whatever their labels say: the config's `isolatedNamespaces`, `--isolate`. */
  isolatedNamespaces?: readonly string[];
}

export interface BuiltCluster extends Cluster {
  /** Namespaces evaluated as isolated by netfence. */
  isolated: string[];
  /** Namespaces that objects name but no Namespace object describes: only their name label is known. */
  assumedNamespaces: string[];
  /** Objects not used, and why. */
  skipped: { object: string; reason: string }[];
}

const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === null ? undefined : value), schema.optional());

const ContainerSchema = z
  .object({
    ports: optional(
      z.array(
        z
          .object({ name: optional(z.string()), containerPort: z.number().int(), protocol: optional(z.string()) })
          .loose(),
      ),
    ),
  })
  .loose();

const PodSpecSchema = z
  .object({ containers: optional(z.array(ContainerSchema)), hostNetwork: optional(z.boolean()) })
  .loose();

const PodTemplateSchema = z.object({ metadata: optional(ObjectMetaSchema), spec: optional(PodSpecSchema) }).loose();

const PodSchema = z
  .object({
    metadata: ObjectMetaSchema,
    spec: optional(PodSpecSchema),
    status: optional(
      z
        .object({
          phase: optional(z.string()),
          podIP: optional(z.string()),
          podIPs: optional(z.array(z.object({ ip: z.string() }).loose())),
        })
        .loose(),
    ),
  })
  .loose();

const TemplateOwnerSchema = z
  .object({ metadata: ObjectMetaSchema, spec: z.object({ template: PodTemplateSchema }).loose() })
  .loose();
const CronJobSchema = z
  .object({
    metadata: ObjectMetaSchema,
    spec: z
      .object({ jobTemplate: z.object({ spec: z.object({ template: PodTemplateSchema }).loose() }).loose() })
      .loose(),
  })
  .loose();

export const TEMPLATE_KINDS = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"] as const;

function namedPorts(spec: z.infer<typeof PodSpecSchema> | undefined): NamedPort[] {
  return (spec?.containers ?? []).flatMap((container) =>
    (container.ports ?? []).flatMap((port) => {
      const protocol = port.protocol ?? "TCP";
      return port.name !== undefined && port.name !== "" && isProtocol(protocol)
        ? [{ name: port.name, protocol, port: port.containerPort }]
        : [];
    }),
  );
}

interface Head {
  kind?: unknown;
  metadata?: { name?: unknown; namespace?: unknown };
}

export function clusterFromObjects(objects: readonly unknown[], options: ClusterOptions = {}): BuiltCluster {
  const defaultNamespace = options.defaultNamespace ?? "default";
  const namespaces = new Map<string, NamespaceInfo>();
  const isolated = new Set(options.isolatedNamespaces ?? []);
  const workloads = new Map<string, Workload>();
  const policies = new Map<string, PolicyInput>();
  const skipped: BuiltCluster["skipped"] = [];
  const namespaceOf = (meta: { namespace?: string | undefined }) => meta.namespace ?? defaultNamespace;

  for (const object of objects) {
    const head = (object !== null && typeof object === "object" ? object : {}) as Head;
    const kind = typeof head.kind === "string" ? head.kind : "";
    // Used only by `skip`, for the kinds below: `kind` is never empty there.
    const label = `${kind} ${typeof head.metadata?.namespace === "string" ? `${head.metadata.namespace}/` : ""}${typeof head.metadata?.name === "string" ? head.metadata.name : "(no name)"}`;
    const skip = (reason: string) => skipped.push({ object: label, reason });
    if (kind === "Namespace") {
      const meta = ObjectMetaSchema.safeParse((object as { metadata?: unknown }).metadata);
      if (!meta.success || meta.data.name === undefined) {
        skip("a Namespace needs `metadata.name`");
        continue;
      }
      const name = meta.data.name;
      namespaces.set(name, { name, labels: { ...meta.data.labels, [NAMESPACE_NAME_LABEL]: name } });
      if (isolationOf(meta.data).isolated) isolated.add(name);
    } else if (kind === "NetworkPolicy") {
      const parsed = NetworkPolicySchema.safeParse(object);
      if (!parsed.success || parsed.data.metadata?.name === undefined) {
        skip("not a NetworkPolicy the API server would accept (see `netfence lint`)");
        continue;
      }
      const namespace = namespaceOf(parsed.data.metadata);
      policies.set(`${namespace}/${parsed.data.metadata.name}`, {
        namespace,
        name: parsed.data.metadata.name,
        policy: parsed.data,
      });
    } else if (kind === "Pod") {
      const parsed = PodSchema.safeParse(object);
      if (!parsed.success || parsed.data.metadata.name === undefined) {
        skip("not a Pod with `metadata.name`");
        continue;
      }
      const pod = parsed.data;
      if (pod.spec?.hostNetwork === true) {
        skip("uses the host network: NetworkPolicies do not apply to it");
        continue;
      }
      if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") {
        skip(`has finished (${pod.status.phase})`);
        continue;
      }
      const namespace = namespaceOf(pod.metadata);
      const ips = [
        ...new Set([
          ...(pod.status?.podIPs ?? []).map((entry) => entry.ip),
          ...(pod.status?.podIP ? [pod.status.podIP] : []),
        ]),
      ];
      const id = `${namespace}/${pod.metadata.name}`;
      workloads.set(id, { id, namespace, labels: pod.metadata.labels ?? {}, ips, namedPorts: namedPorts(pod.spec) });
    } else if ((TEMPLATE_KINDS as readonly string[]).includes(kind)) {
      const parsed = kind === "CronJob" ? CronJobSchema.safeParse(object) : TemplateOwnerSchema.safeParse(object);
      if (!parsed.success || parsed.data.metadata.name === undefined) {
        skip("has no pod template");
        continue;
      }
      const owner = parsed.data;
      const template =
        "jobTemplate" in owner.spec
          ? (owner as z.infer<typeof CronJobSchema>).spec.jobTemplate.spec.template
          : (owner as z.infer<typeof TemplateOwnerSchema>).spec.template;
      if (template.spec?.hostNetwork === true) {
        skip("uses the host network: NetworkPolicies do not apply to it");
        continue;
      }
      const namespace = namespaceOf(owner.metadata);
      const id = `${namespace}/${kind}/${owner.metadata.name}`;
      workloads.set(id, {
        id,
        namespace,
        labels: template.metadata?.labels ?? {},
        ips: [],
        namedPorts: namedPorts(template.spec),
      });
    }
  }

  const assumedNamespaces: string[] = [];
  const referenced = [...workloads.values()]
    .map((w) => w.namespace)
    .concat(
      [...policies.values()].map((p) => p.namespace),
      [...isolated],
    );
  for (const name of referenced) {
    if (namespaces.has(name)) continue;
    namespaces.set(name, { name, labels: { [NAMESPACE_NAME_LABEL]: name } });
    assumedNamespaces.push(name);
  }

  return {
    namespaces: [...namespaces.values()],
    workloads: [...workloads.values()],
    policies: withNetfenceIsolation([...policies.values()], [...isolated], options.allowedIngressNamespaces ?? []),
    isolated: [...isolated].sort(),
    assumedNamespaces: assumedNamespaces.sort(),
    skipped,
  };
}

/**
 * The policies as netfence makes them in isolated namespaces: the allowed namespaces injected into
 * each policy there, and the managed isolation policy present (replacing one of that name). For
 * callers that build a Cluster themselves (a workload cache) and for "what if isolated" previews.
 */
export function withNetfenceIsolation(
  policies: readonly PolicyInput[],
  isolatedNamespaces: readonly string[],
  allowedIngressNamespaces: readonly string[],
): PolicyInput[] {
  const isolated = new Set(isolatedNamespaces);
  const out = policies
    .filter((input) => !(isolated.has(input.namespace) && input.name === ISOLATION_POLICY_NAME))
    .map((input) =>
      isolated.has(input.namespace)
        ? { ...input, policy: injectAllowedIngress(input.policy, allowedIngressNamespaces) }
        : input,
    );
  for (const namespace of isolated)
    out.push({ namespace, name: ISOLATION_POLICY_NAME, policy: isolationPolicy(namespace, allowedIngressNamespaces) });
  return out;
}
