// The engine's input: plain objects, already parsed. Build them from Kubernetes objects with
// `clusterFromObjects` (cluster.ts), or directly (tests, the webhook's workload cache).
import type { NetworkPolicy } from "../kube-objects.ts";
import type { Protocol } from "./ports.ts";

export interface NamespaceInfo {
  name: string;
  /** Including `kubernetes.io/metadata.name`, as the API server sets it. */
  labels: Readonly<Record<string, string>>;
}

export interface NamedPort {
  name: string;
  protocol: Protocol;
  port: number;
}

export interface Workload {
  /** `NAMESPACE/POD` for a Pod, `NAMESPACE/KIND/NAME` for the pod template of a workload kind. */
  id: string;
  namespace: string;
  labels: Readonly<Record<string, string>>;
  /** The pod's IPs; empty when not known (a template, a Pod without status): ipBlock matches are then "unknown". */
  ips: readonly string[];
  /** Named container ports, for policies that name a port. */
  namedPorts: readonly NamedPort[];
}

/** A NetworkPolicy as submitted (no defaults needed), with its namespace decided. */
export interface PolicyInput {
  namespace: string;
  name: string;
  policy: NetworkPolicy;
}

export interface Cluster {
  namespaces: readonly NamespaceInfo[];
  workloads: readonly Workload[];
  policies: readonly PolicyInput[];
}

/** One L4 connection attempt. `from`/`to` are workload IDs or IP addresses. */
export interface Flow {
  from: string;
  to: string;
  /** Default TCP. */
  protocol?: Protocol;
  port: number;
}

export type Verdict = "allowed" | "denied" | "unknown";

export type Direction = "ingress" | "egress";

/** What the engine could not evaluate (the lint rules name it too); the rest is evaluated without it. */
export interface Problem {
  policy: string;
  path: string;
  message: string;
}
