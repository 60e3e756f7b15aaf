// The connectivity engine: which L4 flows do NetworkPolicies allow, and why. Pure: no I/O.
//
// Quick use (the dataplane differential test, the webhook's impact check):
//
//   import { clusterFromObjects, verdict, explain } from "../connectivity/index.ts";
//   const cluster = clusterFromObjects([...namespaces, ...pods, ...policies], { allowedIngressNamespaces, isolatedNamespaces });
//   verdict(cluster, { from: "team-a/web-0", to: "team-b/api-0", protocol: "TCP", port: 8080 }); // "allowed" | "denied" | "unknown"
//   explain(cluster, flow).ingress?.allowedBy; // [{ policy: "team-b/allow-web", path: "spec.ingress[0].from[1]", ... }]
//
// `from`/`to` are workload IDs (`NAMESPACE/POD` for Pods, `NAMESPACE/KIND/NAME` for pod templates of
// Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs) or IP addresses (a pod's IP
// resolves to that pod; any other address is outside the cluster). "unknown" only arises when an
// ipBlock meets a workload whose IPs are not known (a template, a Pod without status).
// Semantics: Kubernetes' exactly, including ipBlocks matching pod IPs (see docs/connectivity.md).
//
// For repeated queries over one cluster, build an Engine once (`new Engine(cluster)`): it compiles
// every policy once; `verdict`/`explain` below cache the Engine per Cluster object.
// `diff(before, after)` gives the flows whose verdict changes (only the workloads a changed policy
// selects are evaluated when namespaces and workloads are the same), `engine.matrix()` every class
// pair, lazily. A Cluster built by hand (a workload cache) gets netfence's isolation applied with
// `withNetfenceIsolation(policies, isolatedNamespaces, allowedIngressNamespaces)`.
import { diffEngines, type ConnectivityDiff } from "./diff.ts";
import { Engine, type Explanation } from "./engine.ts";
import type { Cluster, Flow, Verdict } from "./model.ts";

export {
  clusterFromObjects,
  TEMPLATE_KINDS,
  withNetfenceIsolation,
  type BuiltCluster,
  type ClusterOptions,
} from "./cluster.ts";
export { diffEngines, isEmptyDiff, type ConnectivityDiff, type FlowChange, type FlowEnd } from "./diff.ts";
export {
  Engine,
  EndpointError,
  IPBLOCK_POD_NOTE,
  type Explanation,
  type Matrix,
  type RuleMatchExplanation,
  type SideExplanation,
  type WorkloadClass,
} from "./engine.ts";
export type {
  Cluster,
  Direction,
  Flow,
  NamedPort,
  NamespaceInfo,
  PolicyInput,
  Problem,
  Verdict,
  Workload,
} from "./model.ts";
export { describePorts, portEntries, PROTOCOLS, type PortEntry, type PortSet, type Protocol } from "./ports.ts";
export { externalGroups, type ExternalRelation } from "./addresses.ts";
export type { SidePorts } from "./evaluate.ts";

const engines = new WeakMap<Cluster, Engine>();

export function engineFor(cluster: Cluster): Engine {
  let engine = engines.get(cluster);
  if (engine === undefined) engines.set(cluster, (engine = new Engine(cluster)));
  return engine;
}

export function verdict(cluster: Cluster, flow: Flow): Verdict {
  return engineFor(cluster).verdict(flow);
}

export function explain(cluster: Cluster, flow: Flow): Explanation {
  return engineFor(cluster).explain(flow);
}

export function diff(before: Cluster, after: Cluster): ConnectivityDiff {
  return diffEngines(engineFor(before), engineFor(after));
}
