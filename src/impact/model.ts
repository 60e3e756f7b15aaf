// What the impact check reads: Pods as compact records (only what the connectivity engine and the
// warnings need), grouped by shape, and the cluster's NetworkPolicies, as the webhook's caches hold
// them. Plain data: the caches fill it, tests build it from objects.
import type { NamedPort, NamespaceInfo, PolicyInput } from "../connectivity/index.ts";

export interface PodOwner {
  kind: string;
  name: string;
}

export interface PodRecord {
  namespace: string;
  name: string;
  labels: Readonly<Record<string, string>>;
  ips: readonly string[];
  namedPorts: readonly NamedPort[];
  phase: string | undefined;
  /** The controller that runs the pod (a ReplicaSet of a Deployment is the Deployment), or none. */
  owner: PodOwner | undefined;
  /** Namespace, labels and named ports: pods of one shape are alike to every selector. */
  shape: string;
}

export interface ImpactCluster {
  /**
   * Changes whenever anything the cluster holds changes (a pod, a policy, a namespace's labels): the
   * impact check keeps what it prepared from the cluster until then. A cluster that never changes
   * keeps one generation.
   */
  readonly generation: number;
  namespaces: ReadonlyMap<string, NamespaceInfo>;
  /** Every pod, in groups of one shape (never empty). */
  shapes(): Iterable<readonly PodRecord[]>;
  policiesIn(namespace: string): readonly PolicyInput[];
}

/** What a request or an isolation switch changes: some policies of one namespace, as they are and as they will be. */
export interface PolicyChange {
  namespace: string;
  /** The policies the change replaces or removes, as stored. */
  before: readonly PolicyInput[];
  /** The policies the change adds or replaces them with. */
  after: readonly PolicyInput[];
}

export function shapeKey(
  namespace: string,
  labels: Readonly<Record<string, string>>,
  namedPorts: readonly NamedPort[],
): string {
  const sortedLabels = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const ports = namedPorts.map((p) => `${p.name}/${p.protocol}/${p.port}`).sort();
  return JSON.stringify([namespace, sortedLabels, ports]);
}

/**
 * The owner a pod's flows are counted by (replicas count once): `namespace/name (Kind)`, a bare pod
 * being its own owner of kind Pod. The kind is part of it because a Deployment, a StatefulSet and a
 * pod of one namespace may share a name.
 */
export function ownerOf(pod: PodRecord): string {
  return `${pod.namespace}/${pod.owner?.name ?? pod.name} (${pod.owner?.kind ?? "Pod"})`;
}

/** An owner without its kind: `namespace/name`. */
export function withoutKind(owner: string): string {
  return owner.slice(0, owner.lastIndexOf(" ("));
}

/**
 * How an owner is named in warnings: `namespace/name`, as short as kubectl users write it, and with
 * its kind only when the cluster has another owner of that name in the namespace (`sharedNames`).
 */
export function ownerName(owner: string, sharedNames: ReadonlySet<string>): string {
  const name = withoutKind(owner);
  return sharedNames.has(name) ? owner : name;
}

/** An ImpactCluster over lists already in memory (tests, the benchmark, `explain`-style offline use). */
export function impactClusterOf(
  namespaces: readonly NamespaceInfo[],
  pods: readonly PodRecord[],
  policies: readonly PolicyInput[],
): ImpactCluster {
  const shapes = new Map<string, PodRecord[]>();
  for (const pod of pods) {
    const members = shapes.get(pod.shape);
    if (members === undefined) shapes.set(pod.shape, [pod]);
    else members.push(pod);
  }
  const byNamespace = new Map<string, PolicyInput[]>();
  for (const policy of policies)
    byNamespace.set(policy.namespace, [...(byNamespace.get(policy.namespace) ?? []), policy]);
  return {
    generation: 0,
    namespaces: new Map(namespaces.map((ns) => [ns.name, ns])),
    shapes: () => shapes.values(),
    policiesIn: (namespace) => byNamespace.get(namespace) ?? [],
  };
}
