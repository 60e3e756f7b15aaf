// `netfence allow`: argument handling around the pure allowPolicy builder.
import { stringify } from "yaml";
import { connectToCluster } from "../kube/kubeconfig.ts";
import { ApiError, getJson } from "../kube/raw-api.ts";
import { UsageError } from "../user-error.ts";
import { allowPolicy, parsePort, parseSelector, serviceTargetPorts, type AllowRequest, type PortSpec, type ServiceTarget } from "./allow.ts";

export interface AllowFlags {
  namespace?: string;
  fromNamespace?: string;
  toService?: string;
  cidr?: string;
  selector?: string;
  port: string[];
  protocol: string;
  podSelector?: string;
  name?: string;
  dns: boolean;
  output: "yaml" | "json";
  kubeconfig?: string;
}

async function serviceTarget(reference: string, flags: AllowFlags): Promise<ServiceTarget> {
  const [namespace, name, ...rest] = reference.split("/");
  if (!namespace || !name || rest.length > 0) throw new UsageError(`--to-service \`${reference}\`: write NAMESPACE/NAME`);
  if (flags.selector !== undefined) {
    if (flags.port.length === 0) throw new UsageError("--to-service with --selector (offline) needs --port: the Service's targetPorts");
    return { namespace, name, selector: parseSelector(flags.selector), ports: ports(flags) };
  }
  if (flags.port.length > 0) throw new UsageError("--port goes with --selector (offline); online, the ports are the Service's targetPorts");
  const connection = await connectToCluster({ kubeconfig: flags.kubeconfig });
  if (connection.kind === "standalone") {
    throw new UsageError("--to-service reads the Service from the cluster: pass --kubeconfig or set $KUBECONFIG, or give --selector and --port to work offline");
  }
  let service;
  try {
    service = await getJson(connection.config, `/api/v1/namespaces/${encodeURIComponent(namespace)}/services/${encodeURIComponent(name)}`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) throw new UsageError(`Service ${namespace}/${name} not found`);
    throw error;
  }
  return { namespace, name, selector: service.spec?.selector ?? {}, ports: serviceTargetPorts(service.spec?.ports ?? []) };
}

const ports = (flags: AllowFlags): PortSpec[] => flags.port.map((port) => parsePort(port, flags.protocol.toUpperCase()));

export async function allowCommand(direction: string, flags: AllowFlags): Promise<void> {
  if (direction !== "ingress" && direction !== "egress") throw new UsageError(`direction \`${direction}\`: use ingress or egress`);
  if (flags.namespace === undefined) throw new UsageError("-n/--namespace is required: the namespace whose pods the policy selects");
  const targets = [flags.fromNamespace, flags.toService, flags.cidr].filter((t) => t !== undefined).length;
  if (targets !== 1) throw new UsageError("give exactly one of --from-namespace (ingress), --to-service (egress) or --cidr");
  const common = {
    namespace: flags.namespace,
    ...(flags.podSelector !== undefined ? { podSelector: parseSelector(flags.podSelector) } : {}),
    ...(flags.name !== undefined ? { name: flags.name } : {}),
  };
  let request: AllowRequest;
  if (flags.fromNamespace !== undefined) {
    if (direction !== "ingress") throw new UsageError("--from-namespace goes with `allow ingress`");
    if (flags.port.length > 0) throw new UsageError("--port goes with --cidr or an offline --to-service; --from-namespace allows every port");
    request = { ...common, direction, fromNamespace: flags.fromNamespace };
  } else if (flags.toService !== undefined) {
    if (direction !== "egress") throw new UsageError("--to-service goes with `allow egress`");
    request = { ...common, direction, toService: await serviceTarget(flags.toService, flags), dns: flags.dns };
  } else {
    request = { ...common, direction, cidr: flags.cidr!, ports: ports(flags), dns: flags.dns };
  }
  const policy = allowPolicy(request);
  process.stdout.write(flags.output === "json" ? `${JSON.stringify(policy, null, 2)}\n` : stringify(policy));
}

