// fast-check arbitraries for objects of Kubernetes shape, mixing valid and nonsensical values.
import fc from "fast-check";

const word = fc.constantFrom(
  "app",
  "team",
  "kubernetes.io/metadata.name",
  "-bad",
  "a/b/c",
  "",
  "x".repeat(70),
  "Tier",
  "ünïcode",
);
const cidr = fc.oneof(
  fc.constantFrom(
    "10.0.0.0/8",
    "10.0.0.1/8",
    "010.0.0.0/8",
    "0.0.0.0/0",
    "::/0",
    "::ffff:10.0.0.0/104",
    "2001:DB8::/32",
    "127.0.26.33:31",
    "",
    "fe80::%eth0/64",
    "10.244.0.0/16",
  ),
  fc.tuple(fc.ipV4(), fc.integer({ min: -1, max: 40 })).map(([ip, p]) => `${ip}/${p}`),
  fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 130 })).map(([ip, p]) => `${ip}/${p}`),
  fc.string(),
);
const selector = fc.record(
  {
    matchLabels: fc.dictionary(word, word, { maxKeys: 3 }),
    matchExpressions: fc.array(
      fc.record(
        {
          key: word,
          operator: fc.constantFrom("In", "NotIn", "Exists", "DoesNotExist", "in", "Bogus"),
          values: fc.array(word, { maxLength: 3 }),
        },
        { requiredKeys: ["key", "operator"] },
      ),
      { maxLength: 2 },
    ),
  },
  { requiredKeys: [] },
);
const peer = fc.record(
  {
    podSelector: selector,
    namespaceSelector: selector,
    ipBlock: fc.record({ cidr, except: fc.array(cidr, { maxLength: 3 }) }, { requiredKeys: ["cidr"] }),
  },
  { requiredKeys: [] },
);
const port = fc.record(
  {
    protocol: fc.constantFrom("TCP", "UDP", "SCTP", "tcp", "ICMP"),
    port: fc.oneof(fc.integer({ min: -5, max: 70000 }), fc.constantFrom("http", "dns", "HTTP", "a--b", "1234", "")),
    endPort: fc.integer({ min: -5, max: 70000 }),
  },
  { requiredKeys: [] },
);
const rule = (peers: "from" | "to") =>
  fc.record(
    { ports: fc.array(port, { maxLength: 3 }), [peers]: fc.array(peer, { maxLength: 3 }) },
    { requiredKeys: [] },
  );

export const networkPolicyShape = fc.record(
  {
    apiVersion: fc.constant("networking.k8s.io/v1"),
    kind: fc.constant("NetworkPolicy"),
    metadata: fc.record(
      {
        name: fc.constant("p"),
        namespace: fc.constant("team-a"),
        annotations: fc.dictionary(
          fc.constantFrom("netfence.io/injected-ingress-namespaces", "owner"),
          fc.constantFrom("", "monitoring", "a,b"),
        ),
      },
      { requiredKeys: ["name"] },
    ),
    spec: fc.record(
      {
        podSelector: selector,
        policyTypes: fc.array(fc.constantFrom("Ingress", "Egress", "ingress", "Both"), { maxLength: 3 }),
        ingress: fc.array(rule("from"), { maxLength: 3 }),
        egress: fc.array(rule("to"), { maxLength: 3 }),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ["kind", "metadata", "spec"] },
);

export const anyJson = fc.jsonValue({ maxDepth: 6 });

// Keys the rules branch on, with values of the shapes they branch on (the legacy annotation holds JSON text).
const switchKey = fc.oneof(
  fc.string(),
  fc.constantFrom(
    "netfence.io/isolation",
    "kubesphere.io/network-isolate",
    "net.beta.kubernetes.io/network-policy",
    "netfence.io/allow-empty-selector",
  ),
);
const switchText = fc.oneof(
  fc.string(),
  fc.constantFrom("enabled", "true", "null", "{}", '{"ingress":{"isolation":"DefaultDeny"}}', '{"ingress":null}'),
  anyJson.map((v) => JSON.stringify(v)),
);

/** An object of the given kind whose fields are arbitrary JSON. */
export const looseObject = (kind: string, apiVersion = "v1") =>
  fc.record({
    apiVersion: fc.constant(apiVersion),
    kind: fc.constant(kind),
    metadata: fc.oneof(
      anyJson,
      fc.record({
        name: fc.string(),
        namespace: fc.constant("kube-system"),
        labels: fc.dictionary(switchKey, switchText),
        annotations: fc.dictionary(switchKey, switchText),
      }),
    ),
    spec: fc.oneof(
      anyJson,
      fc.record(
        {
          type: fc.constantFrom("ClusterIP", "NodePort", "LoadBalancer", "ExternalName", "clusterip"),
          selector: fc.oneof(anyJson, fc.dictionary(fc.string(), fc.string())),
          externalTrafficPolicy: fc.constantFrom("Local", "Cluster", "local"),
        },
        { requiredKeys: [] },
      ),
    ),
    data: fc.oneof(
      anyJson,
      fc.dictionary(
        fc.constantFrom("config.conf", "x"),
        fc.oneof(
          fc.string(),
          fc.constantFrom("iptables:\n  masqueradeAll: true\n", "nftables: {masqueradeAll: true}", "[1]", "a: ["),
        ),
      ),
    ),
  });
