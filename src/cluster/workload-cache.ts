// The cluster's Pods in memory, for the impact warnings and the isolation preview: compact records
// (namespace, name, labels, pod IPs, named container ports, phase, owner), grouped by shape, from
// list+watch on the same WatchCache as the namespace and NetworkPolicy caches. Memory is the point:
// a Pod object is tens of kilobytes (managedFields, the whole spec); its record is a few hundred bytes.
import type { Logger } from "pino";
import { z } from "zod";
import type { NamedPort } from "../connectivity/index.ts";
import { isProtocol } from "../connectivity/ports.ts";
import { shapeKey, type PodOwner, type PodRecord } from "../impact/model.ts";
import type { KubeClient } from "../kube/client.ts";
import { WatchCache } from "./watch-cache.ts";

const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === null ? undefined : value), schema.optional());

// Not `loose`, unlike the schemas of objects netfence hands back: parsing keeps only these fields, so
// that listing 5,000 pods (each tens of kilobytes with managedFields) never holds them twice.
const PodSchema = z.object({
  metadata: z.object({
    name: optional(z.string()),
    namespace: optional(z.string()),
    labels: optional(z.record(z.string(), z.string())),
    resourceVersion: optional(z.string()),
    ownerReferences: optional(
      z.array(z.object({ kind: z.string(), name: z.string(), controller: optional(z.boolean()) })),
    ),
  }),
  spec: optional(
    z.object({
      hostNetwork: optional(z.boolean()),
      containers: optional(
        z.array(
          z.object({
            ports: optional(
              z.array(
                z.object({
                  name: optional(z.string()),
                  containerPort: z.number().int(),
                  protocol: optional(z.string()),
                }),
              ),
            ),
          }),
        ),
      ),
    }),
  ),
  status: optional(
    z.object({
      phase: optional(z.string()),
      podIP: optional(z.string()),
      podIPs: optional(z.array(z.object({ ip: z.string() }))),
    }),
  ),
});

export type Pod = z.infer<typeof PodSchema>;

export const PODS_PATH = "/api/v1/pods";

/** The owner replicas are counted by: a Deployment's ReplicaSet is the Deployment (its name minus the pod-template-hash). */
function ownerOf(pod: Pod): PodOwner | undefined {
  const controller = pod.metadata.ownerReferences?.find((ref) => ref.controller === true);
  if (controller === undefined) return undefined;
  const hash = pod.metadata.labels?.["pod-template-hash"];
  if (controller.kind === "ReplicaSet" && hash !== undefined && controller.name.endsWith(`-${hash}`)) {
    return { kind: "Deployment", name: controller.name.slice(0, -hash.length - 1) };
  }
  return { kind: controller.kind, name: controller.name };
}

/**
 * The record of a Pod, or undefined for one NetworkPolicies do not apply to: on the host network, or
 * finished (Succeeded, Failed), as the connectivity engine's `clusterFromObjects` skips them.
 */
export function podRecord(pod: Pod): PodRecord | undefined {
  const { namespace, name } = pod.metadata;
  if (namespace === undefined || name === undefined || pod.spec?.hostNetwork === true) return undefined;
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return undefined;
  const namedPorts: NamedPort[] = (pod.spec?.containers ?? []).flatMap((container) =>
    (container.ports ?? []).flatMap((port) => {
      const protocol = port.protocol ?? "TCP";
      return port.name && isProtocol(protocol) ? [{ name: port.name, protocol, port: port.containerPort }] : [];
    }),
  );
  const labels = pod.metadata.labels ?? {};
  const ips = [
    ...new Set([
      ...(pod.status?.podIPs ?? []).map((entry) => entry.ip),
      ...(pod.status?.podIP ? [pod.status.podIP] : []),
    ]),
  ];
  return {
    namespace,
    name,
    labels,
    ips,
    namedPorts,
    phase,
    owner: ownerOf(pod),
    shape: shapeKey(namespace, labels, namedPorts),
  };
}

/** The record of a Pod object as the API server sends it; undefined when it is no Pod or one the cache does not keep. */
export function podRecordOf(object: unknown): PodRecord | undefined {
  const parsed = PodSchema.safeParse(object);
  return parsed.success ? podRecord(parsed.data) : undefined;
}

export interface WorkloadCacheOptions {
  log: Logger;
  staleAfterMs: number;
  onSyncedChange?: (synced: boolean) => void;
  onRestart?: () => void;
  backoff?: { initialMs: number; maxMs: number };
}

export class WorkloadCache {
  private readonly cache: WatchCache<Pod, PodRecord>;
  private readonly byShape = new Map<string, Map<string, PodRecord>>();
  private readonly byNamespace = new Map<string, Map<string, PodRecord>>();
  /** The member list of each shape, kept until the shape changes: the impact check memoizes its work on it. */
  private readonly shapeLists = new Map<string, readonly PodRecord[]>();

  constructor(client: KubeClient, options: WorkloadCacheOptions) {
    this.cache = new WatchCache({
      what: "pod",
      client,
      path: PODS_PATH,
      schema: PodSchema,
      keyOf: (pod) =>
        pod.metadata.namespace === undefined || pod.metadata.name === undefined
          ? undefined
          : `${pod.metadata.namespace}/${pod.metadata.name}`,
      toRecord: podRecord,
      log: options.log,
      staleAfterMs: options.staleAfterMs,
      ...(options.backoff ? { backoff: options.backoff } : {}),
      ...(options.onSyncedChange ? { onSyncedChange: options.onSyncedChange } : {}),
      ...(options.onRestart ? { onRestart: options.onRestart } : {}),
    });
    this.cache.onChange((key, record, previous) => {
      if (previous !== undefined) this.shapeLists.delete(previous.shape);
      if (record !== undefined) this.shapeLists.delete(record.shape);
      if (previous !== undefined) {
        remove(this.byShape, previous.shape, key);
        remove(this.byNamespace, previous.namespace, key);
      }
      if (record !== undefined) {
        add(this.byShape, record.shape, key, record);
        add(this.byNamespace, record.namespace, key, record);
      }
    });
  }

  start(): void {
    this.cache.start();
  }

  stop(): Promise<void> {
    return this.cache.stop();
  }

  whenSynced(): Promise<void> {
    return this.cache.whenSynced();
  }

  readiness(): { ready: boolean; reason?: string } {
    return this.cache.readiness();
  }

  /** Told of every pod added, changed or removed (namespace and pod name). */
  onChange(listener: (namespace: string, name: string) => void): void {
    this.cache.onChange((_key, record, previous) => {
      const current = (record ?? previous)!;
      listener(current.namespace, current.name);
    });
  }

  get size(): number {
    return this.cache.size;
  }

  *shapes(): Iterable<readonly PodRecord[]> {
    for (const [shape, members] of this.byShape) {
      let list = this.shapeLists.get(shape);
      if (list === undefined) this.shapeLists.set(shape, (list = [...members.values()]));
      yield list;
    }
  }

  inNamespace(namespace: string): PodRecord[] {
    return [...(this.byNamespace.get(namespace)?.values() ?? [])];
  }
}

function add(index: Map<string, Map<string, PodRecord>>, group: string, key: string, record: PodRecord) {
  let members = index.get(group);
  if (members === undefined) index.set(group, (members = new Map()));
  members.set(key, record);
}

function remove(index: Map<string, Map<string, PodRecord>>, group: string, key: string) {
  const members = index.get(group);
  members?.delete(key);
  if (members?.size === 0) index.delete(group);
}
