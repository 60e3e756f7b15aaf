// Random clusters and (valid) NetworkPolicies over a small vocabulary, so that selectors hit often.
import fc from "fast-check";
import type { NaiveNamespace, NaivePod, NaivePolicy } from "./naive.ts";

export const NAMESPACES = ["n1", "n2", "n3"];
export const PORTS = [53, 80, 443, 8080, 9999];
export const PROTOCOLS = ["TCP", "UDP"] as const;
/** Addresses that belong to no pod (pods live in 10.0.1.0/24 and 10.0.2.0/24, hosts 1-30). */
export const EXTERNAL_IPS = ["10.0.1.200", "10.0.3.7", "192.0.2.1", "2001:db8::1"];

const labelPair = fc.oneof(
  fc.constant(["app", "x"]),
  fc.constant(["app", "y"]),
  fc.constant(["tier", "f"]),
  fc.constant(["env", "prod"]),
);
const labels = fc
  .array(labelPair, { maxLength: 2 })
  .map((pairs) => Object.fromEntries(pairs) as Record<string, string>);
const nsLabels = fc
  .array(fc.oneof(fc.constant(["env", "prod"]), fc.constant(["env", "dev"]), fc.constant(["team", "a"])), {
    maxLength: 2,
  })
  .map((p) => Object.fromEntries(p) as Record<string, string>);

const selector = fc.oneof(
  fc.constant({}),
  labelPair.map(([key, value]) => ({ matchLabels: { [key!]: value! } })),
  fc.record({
    matchExpressions: fc.array(
      fc.oneof(
        fc.record({
          key: fc.constantFrom("app", "env", "kubernetes.io/metadata.name"),
          operator: fc.constantFrom("In", "NotIn"),
          values: fc.subarray(["x", "y", "prod", "n1", "n2"], { minLength: 1 }),
        }),
        fc.record({ key: fc.constantFrom("app", "tier", "team"), operator: fc.constantFrom("Exists", "DoesNotExist") }),
      ),
      { minLength: 1, maxLength: 2 },
    ),
  }),
);

const ipBlock = fc.constantFrom(
  { cidr: "10.0.1.0/24" },
  { cidr: "10.0.0.0/16", except: ["10.0.2.0/24"] },
  { cidr: "10.0.1.0/24", except: ["10.0.1.0/28"] },
  { cidr: "0.0.0.0/0", except: ["10.0.0.0/8"] },
  { cidr: "192.0.2.0/24" },
  { cidr: "::/0" },
);

const peer = fc.oneof(
  fc.record({ podSelector: selector }),
  fc.record({ namespaceSelector: selector }),
  fc.record({ podSelector: selector, namespaceSelector: selector }),
  fc.record({ ipBlock }),
);

const port = fc.oneof(
  fc.record({ protocol: fc.constantFrom("TCP", "UDP") }),
  fc.record({ port: fc.constantFrom(53, 80, 8080) }, { requiredKeys: ["port"] }),
  fc.record({ protocol: fc.constantFrom("TCP", "UDP"), port: fc.constantFrom(53, 443) }),
  fc.record({ port: fc.constantFrom("http", "dns") }),
  fc.record({ protocol: fc.constantFrom("TCP", "UDP"), port: fc.constant("dns") }),
  fc.record({ port: fc.constant(80), endPort: fc.constantFrom(443, 8080) }),
);

const rule = (peers: "from" | "to") =>
  fc.record(
    { [peers]: fc.array(peer, { maxLength: 2 }), ports: fc.array(port, { maxLength: 2 }) },
    { requiredKeys: [] },
  );

export const policies = fc
  .array(
    fc.record(
      {
        namespace: fc.constantFrom(...NAMESPACES),
        podSelector: selector,
        policyTypes: fc.option(fc.constantFrom(["Ingress"], ["Egress"], ["Ingress", "Egress"]), { nil: undefined }),
        ingress: fc.option(fc.array(rule("from"), { maxLength: 2 }), { nil: undefined }),
        egress: fc.option(fc.array(rule("to"), { maxLength: 2 }), { nil: undefined }),
      },
      { requiredKeys: ["namespace", "podSelector"] },
    ),
    { maxLength: 4 },
  )
  .map((list) =>
    list.map(
      ({ namespace, ...spec }, i): NaivePolicy =>
        ({
          apiVersion: "networking.k8s.io/v1",
          kind: "NetworkPolicy",
          metadata: { name: `p${i}`, namespace },
          spec: JSON.parse(JSON.stringify(spec)),
        }) as NaivePolicy,
    ),
  );

const namedPorts = fc.subarray([
  { name: "http", containerPort: 80 },
  { name: "dns", containerPort: 53, protocol: "UDP" },
]);

export const pods = fc
  .uniqueArray(
    fc.tuple(
      fc.constantFrom(...NAMESPACES),
      labels,
      fc.constantFrom(1, 2),
      fc.integer({ min: 1, max: 30 }),
      namedPorts,
      fc.boolean(),
    ),
    {
      minLength: 1,
      maxLength: 6,
      selector: ([, , subnet, host]) => `${subnet}.${host}`,
    },
  )
  .map((list) =>
    list.map(
      ([namespace, podLabels, subnet, host, ports, http8080], i): NaivePod =>
        ({
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: `pod${i}`, namespace, labels: podLabels },
          // Some pods name port 8080 "http": named ports must resolve per destination.
          spec: {
            containers: [
              { ports: ports.map((p) => (http8080 && p.name === "http" ? { ...p, containerPort: 8080 } : p)) },
            ],
          },
          status: { podIP: `10.0.${subnet}.${host}` },
        }) as NaivePod,
    ),
  );

export const namespaces = fc
  .tuple(nsLabels, nsLabels, nsLabels)
  .map((all) =>
    all.map(
      (l, i): NaiveNamespace =>
        ({ apiVersion: "v1", kind: "Namespace", metadata: { name: NAMESPACES[i]!, labels: l } }) as NaiveNamespace,
    ),
  );
