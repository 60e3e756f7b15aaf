// `netfence allow`: argument handling around the pure allowPolicy builder. Every option either takes
// effect or is refused with one line: an option dropped in silence writes a policy other than the one
// asked for (`--protocol UDP` without a port used to allow every port of every protocol).
import { stringify } from "yaml";
import { connectToCluster } from "../kube/kubeconfig.ts";
import { httpKubeClient, paths, statusOf } from "../kube/client.ts";
import { ServiceSchema } from "../kube-objects.ts";
import { UsageError } from "../user-error.ts";
import {
  allowPolicy,
  parsePort,
  parseProtocol,
  parseSelector,
  serviceTargetPorts,
  type AllowRequest,
  type PortSpec,
  type ServiceTarget,
} from "./allow.ts";

export interface AllowFlags {
  namespace?: string;
  fromNamespace?: string;
  toService?: string;
  cidr?: string;
  selector?: string;
  port: string[];
  /** Absent when not given: TCP for --port, and no protocol-only rule. */
  protocol?: string;
  podSelector?: string;
  name?: string;
  /** false with --no-dns. */
  dns: boolean;
  output: "yaml" | "json";
  kubeconfig?: string;
}

/** Refuses each option given (truthy `given`) that the chosen entry would not use, saying why. */
function refuse(unused: [given: boolean, option: string, why: string][]): void {
  const first = unused.find(([given]) => given);
  if (first !== undefined) throw new UsageError(`${first[1]} ${first[2]}`);
}

async function serviceTarget(reference: string, flags: AllowFlags): Promise<ServiceTarget> {
  const [namespace, name, ...rest] = reference.split("/");
  if (!namespace || !name || rest.length > 0)
    throw new UsageError(`--to-service \`${reference}\`: write NAMESPACE/NAME`);
  if (flags.selector !== undefined) {
    if (flags.port.length === 0)
      throw new UsageError("--to-service with --selector (offline) needs --port: the Service's targetPorts");
    refuse([
      [flags.kubeconfig !== undefined, "--kubeconfig", "is not read with --selector (offline); drop one of them"],
    ]);
    return { namespace, name, selector: parseSelector(flags.selector), ports: ports(flags) };
  }
  refuse([
    [
      flags.port.length > 0,
      "--port",
      "goes with --selector (offline); online, the ports are the Service's targetPorts",
    ],
    [
      flags.protocol !== undefined,
      "--protocol",
      "goes with --selector and --port (offline); online, the protocols are the Service's",
    ],
  ]);
  const connection = await connectToCluster({ kubeconfig: flags.kubeconfig });
  if (connection.kind === "standalone") {
    throw new UsageError(
      "--to-service reads the Service from the cluster: pass --kubeconfig or set $KUBECONFIG, or give --selector and --port to work offline",
    );
  }
  let service;
  try {
    service = await httpKubeClient(connection.config).get(paths.service(namespace, name), ServiceSchema);
  } catch (error) {
    if (statusOf(error) === 404) throw new UsageError(`Service ${namespace}/${name} not found`);
    throw error;
  }
  return {
    namespace,
    name,
    selector: service.spec?.selector ?? {},
    ports: serviceTargetPorts(service.spec?.ports ?? []),
  };
}

const ports = (flags: AllowFlags): PortSpec[] =>
  flags.port.map((port) => parsePort(port, flags.protocol?.toUpperCase()));

/** --port, or --protocol alone: every port of that protocol. */
const cidrPorts = (flags: AllowFlags): PortSpec[] =>
  flags.port.length === 0 && flags.protocol !== undefined
    ? [{ protocol: parseProtocol(flags.protocol.toUpperCase()) }]
    : ports(flags);

/** The allowlist entry the flags describe, or a UsageError naming the first flag that would not take effect. */
export async function allowRequest(direction: string, flags: AllowFlags): Promise<AllowRequest> {
  if (direction !== "ingress" && direction !== "egress")
    throw new UsageError(`direction \`${direction}\`: use ingress or egress`);
  if (flags.namespace === undefined)
    throw new UsageError("-n/--namespace is required: the namespace whose pods the policy selects");
  const targets = [flags.fromNamespace, flags.toService, flags.cidr].filter((t) => t !== undefined).length;
  if (targets !== 1)
    throw new UsageError("give exactly one of --from-namespace (ingress), --to-service (egress) or --cidr");
  refuse([
    [direction === "ingress" && !flags.dns, "--no-dns", "goes with `allow egress`: an ingress policy has no DNS rule"],
  ]);
  const common = {
    namespace: flags.namespace,
    ...(flags.podSelector !== undefined ? { podSelector: parseSelector(flags.podSelector) } : {}),
    ...(flags.name !== undefined ? { name: flags.name } : {}),
  };
  if (flags.fromNamespace !== undefined) {
    if (direction !== "ingress") throw new UsageError("--from-namespace goes with `allow ingress`");
    refuse([
      [
        flags.port.length > 0,
        "--port",
        "goes with --cidr or an offline --to-service; --from-namespace allows every port",
      ],
      [
        flags.protocol !== undefined,
        "--protocol",
        "goes with --cidr or an offline --to-service; --from-namespace allows every protocol",
      ],
      [
        flags.selector !== undefined,
        "--selector",
        "is the Service's selector of an offline --to-service; --pod-selector chooses the pods of -n",
      ],
      [
        flags.kubeconfig !== undefined,
        "--kubeconfig",
        "is read only by --to-service; --from-namespace needs no cluster",
      ],
    ]);
    return { ...common, direction, fromNamespace: flags.fromNamespace };
  }
  if (flags.toService !== undefined) {
    if (direction !== "egress") throw new UsageError("--to-service goes with `allow egress`");
    return { ...common, direction, toService: await serviceTarget(flags.toService, flags), dns: flags.dns };
  }
  refuse([
    [
      flags.selector !== undefined,
      "--selector",
      "is the Service's selector of an offline --to-service; --pod-selector chooses the pods of -n",
    ],
    [flags.kubeconfig !== undefined, "--kubeconfig", "is read only by --to-service; --cidr needs no cluster"],
  ]);
  return { ...common, direction, cidr: flags.cidr!, ports: cidrPorts(flags), dns: flags.dns };
}

export async function allowCommand(direction: string, flags: AllowFlags): Promise<void> {
  const policy = allowPolicy(await allowRequest(direction, flags));
  process.stdout.write(flags.output === "json" ? `${JSON.stringify(policy, null, 2)}\n` : stringify(policy));
}
