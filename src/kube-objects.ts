// zod schemas of the Kubernetes objects netfence reads. They check shape and type only; whether the
// values make sense is the rules' business, so that a wrong value gets a rule ID and a helpful message.
// Unknown fields are kept (`loose`): a mutation must hand back everything it was given.
import { z } from "zod";
import { zeroCopyParser } from "./zero-copy-parse.ts";

// Kubernetes JSON may spell an absent field as null; downstream code only has to handle undefined.
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === null ? undefined : value), schema.optional());

export const ObjectMetaSchema = z
  .object({
    name: optional(z.string()),
    generateName: optional(z.string()),
    namespace: optional(z.string()),
    labels: optional(z.record(z.string(), z.string())),
    annotations: optional(z.record(z.string(), z.string())),
  })
  .loose();

const LabelSelectorRequirementSchema = z
  .object({
    key: z.string(),
    operator: z.string(),
    values: optional(z.array(z.string())),
  })
  .loose();

const LabelSelectorSchema = z
  .object({
    matchLabels: optional(z.record(z.string(), z.string())),
    matchExpressions: optional(z.array(LabelSelectorRequirementSchema)),
  })
  .loose();

const IPBlockSchema = z.object({ cidr: z.string(), except: optional(z.array(z.string())) }).loose();

const NetworkPolicyPeerSchema = z
  .object({
    podSelector: optional(LabelSelectorSchema),
    namespaceSelector: optional(LabelSelectorSchema),
    ipBlock: optional(IPBlockSchema),
  })
  .loose();

const IntOrStringSchema = z.union([z.number().int(), z.string()], { error: "expected an integer or a string" });

const NetworkPolicyPortSchema = z
  .object({
    protocol: optional(z.string()),
    port: optional(IntOrStringSchema),
    endPort: optional(z.number().int()),
  })
  .loose();

const NetworkPolicyIngressRuleSchema = z
  .object({ ports: optional(z.array(NetworkPolicyPortSchema)), from: optional(z.array(NetworkPolicyPeerSchema)) })
  .loose();

const NetworkPolicyEgressRuleSchema = z
  .object({ ports: optional(z.array(NetworkPolicyPortSchema)), to: optional(z.array(NetworkPolicyPeerSchema)) })
  .loose();

export const NetworkPolicySpecSchema = z
  .object({
    podSelector: LabelSelectorSchema,
    ingress: optional(z.array(NetworkPolicyIngressRuleSchema)),
    egress: optional(z.array(NetworkPolicyEgressRuleSchema)),
    policyTypes: optional(z.array(z.string())),
  })
  .loose();

export const NetworkPolicySchema = z
  .object({
    apiVersion: optional(z.string()),
    kind: optional(z.string()),
    metadata: optional(ObjectMetaSchema),
    spec: NetworkPolicySpecSchema,
  })
  .loose();

const ServicePortSchema = z
  .object({
    name: optional(z.string()),
    protocol: optional(z.string()),
    port: optional(z.number().int()),
    targetPort: optional(IntOrStringSchema),
    nodePort: optional(z.number().int()),
  })
  .loose();

export const ServiceSchema = z
  .object({
    apiVersion: optional(z.string()),
    kind: optional(z.string()),
    metadata: optional(ObjectMetaSchema),
    spec: optional(
      z
        .object({
          type: optional(z.string()),
          selector: optional(z.record(z.string(), z.string())),
          ports: optional(z.array(ServicePortSchema)),
          externalTrafficPolicy: optional(z.string()),
          externalName: optional(z.string()),
        })
        .loose(),
    ),
  })
  .loose();

export const ConfigMapSchema = z
  .object({
    apiVersion: optional(z.string()),
    kind: optional(z.string()),
    metadata: optional(ObjectMetaSchema),
    data: optional(z.record(z.string(), z.string())),
  })
  .loose();

export const NamespaceSchema = z
  .object({
    apiVersion: optional(z.string()),
    kind: optional(z.string()),
    metadata: optional(ObjectMetaSchema),
  })
  .loose();

// What the webhook parses per request: the input itself when it already has the shape (no copy).
export const parseNetworkPolicy = zeroCopyParser(NetworkPolicySchema);
export const parseService = zeroCopyParser(ServiceSchema);
export const parseConfigMap = zeroCopyParser(ConfigMapSchema);
export const parseNamespace = zeroCopyParser(NamespaceSchema);

export type ObjectMeta = z.infer<typeof ObjectMetaSchema>;
export type LabelSelector = z.infer<typeof LabelSelectorSchema>;
export type IPBlock = z.infer<typeof IPBlockSchema>;
export type NetworkPolicyPeer = z.infer<typeof NetworkPolicyPeerSchema>;
export type NetworkPolicyPort = z.infer<typeof NetworkPolicyPortSchema>;
export type NetworkPolicyIngressRule = z.infer<typeof NetworkPolicyIngressRuleSchema>;
export type NetworkPolicyEgressRule = z.infer<typeof NetworkPolicyEgressRuleSchema>;
export type NetworkPolicy = z.infer<typeof NetworkPolicySchema>;
export type Service = z.infer<typeof ServiceSchema>;
export type ConfigMap = z.infer<typeof ConfigMapSchema>;
export type Namespace = z.infer<typeof NamespaceSchema>;
