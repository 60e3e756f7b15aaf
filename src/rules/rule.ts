// What a rule is: one object that says what it catches, why, how to fix it, an example that
// triggers it, and a `check` over one node of the object. The registry (registry.ts) lists them;
// the engine, the config's `rules:` validation, docs/rules.md, SARIF and `--help` all read it.
import type { z } from "zod";
import type { FieldPath } from "../field-path.ts";
import type {
  ConfigMap,
  IPBlock,
  LabelSelector,
  Namespace,
  NetworkPolicy,
  NetworkPolicyEgressRule,
  NetworkPolicyIngressRule,
  NetworkPolicyPeer,
  NetworkPolicyPort,
  Service,
} from "../kube-objects.ts";
import type { ImpactOutcome } from "../impact/outcome.ts";
import type { Cidr, CidrParse } from "./cidr.ts";
import type { RuleContext } from "./context.ts";

export type Action = "deny" | "warn";

/** What a check reports: where, and what a person should do about it. The engine adds ID and action. */
export interface Problem {
  path: FieldPath;
  message: string;
}

/** An except entry of an ipBlock, parsed once; `problem` is why it excepts nothing (NP022). */
export interface ExceptEntry {
  text: string;
  index: number;
  parsed: CidrParse;
  problem: string | undefined;
}

/** An ipBlock with its CIDRs parsed once, for the NP02x rules. */
export interface IPBlockNode {
  block: IPBlock;
  direction: "ingress" | "egress";
  cidr: CidrParse;
  excepts: readonly ExceptEntry[];
  /** The except entries that are valid, of the family of `cidr` and strictly inside it. */
  validExcepts: readonly { cidr: Cidr; index: number; text: string }[];
}

/** The kube-proxy ConfigMap's `config.conf`, as text (read through `RuleContext.readKubeProxyConfig`). */
export interface KubeProxyConfigNode {
  configMap: ConfigMap;
  text: string;
}

/**
 * The places of an object a rule can look at, by kind. The kind's walk (its `validate`) visits them
 * in document order; at each, the registry's rules for that place run in registry order.
 */
export interface Sites {
  /** A NetworkPolicy whose shape is wrong: zod's account of why. Nothing else runs on it. */
  malformedNetworkPolicy: { kind: "NetworkPolicy"; node: z.ZodError };
  /** The parsed policy, before its rules (path: `spec`). */
  policy: { kind: "NetworkPolicy"; node: NetworkPolicy };
  labelSelector: { kind: "NetworkPolicy"; node: LabelSelector };
  port: { kind: "NetworkPolicy"; node: NetworkPolicyPort };
  peer: { kind: "NetworkPolicy"; node: NetworkPolicyPeer };
  ipBlock: { kind: "NetworkPolicy"; node: IPBlockNode };
  /** A peer and the one before it in the same list (path: the peer). */
  adjacentPeers: {
    kind: "NetworkPolicy";
    node: { previous: NetworkPolicyPeer; peer: NetworkPolicyPeer; previousPath: FieldPath };
  };
  ingressRule: { kind: "NetworkPolicy"; node: NetworkPolicyIngressRule };
  egressRule: { kind: "NetworkPolicy"; node: NetworkPolicyEgressRule };
  /** The parsed policy, after its rules (path: `spec`). */
  policyAfterRules: { kind: "NetworkPolicy"; node: NetworkPolicy };
  service: { kind: "Service"; node: Service };
  kubeProxyConfig: { kind: "ConfigMap"; node: KubeProxyConfigNode };
  namespace: { kind: "Namespace"; node: Namespace };
  /** What a NetworkPolicy CREATE, UPDATE or DELETE does to the traffic of the workloads running now (webhook only). */
  impact: { kind: "NetworkPolicy"; node: ImpactOutcome };
}

export type Site = keyof Sites;

export interface Rule<S extends Site = Site> {
  /** Stable ID users configure (`rules: {NP024: off}`) and search for. */
  id: string;
  kind: Sites[S]["kind"];
  /** Where in the object the check looks. */
  at: S;
  defaultAction: Action;
  /** What it catches, one line. */
  title: string;
  why: string;
  fix: string;
  /** An object that triggers the rule, as a user would write it; docs show it, a test runs it. */
  example: { yaml: string; isolated?: boolean };
  /** The strongest action the config may give it (`warn`: it never denies, whatever `rules:` says). */
  maxAction?: "warn";
  /** The problems at one node; `path` is where the node sits in the object. */
  check(node: Sites[S]["node"], path: FieldPath, context: RuleContext): Problem[];
}

/** Any rule, with `check` typed by its own site. */
export type AnyRule = { [S in Site]: Rule<S> }[Site];

/** Declares a rule; the identity function, there so that `check`'s node is typed by `at`. */
export const rule = <S extends Site>(definition: Rule<S>): Rule<S> => definition;

/** A NetworkPolicy in a namespace, for the examples. */
export const examplePolicy = (spec: string) =>
  `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: example, namespace: team-a}
spec:
${spec
  .trim()
  .split("\n")
  .map((line) => `  ${line}`)
  .join("\n")}
`;

/** Hands one node to the rules registered at its site; a kind's walk calls it for every node. */
export type Visit = <S extends Site>(site: S, node: Sites[S]["node"], path: FieldPath) => void;
