import { request } from "node:http";
// Worst-case objects, one per rule family: each about 1.4 MB (the API server's limit is 1.5 MB),
// shaped so that every rule of the family reports on every element. A rule that does superlinear
// work in the size of the object takes minutes on these; linear work takes well under a second.
import { admissionReview, networkPolicy, type ReviewOptions } from "./review.ts";

/** The size the generators aim for: just under the API server's 1.5 MB request limit. */
export const WORST_CASE_BYTES = 1.4 * 1024 * 1024;

/** As many items as fit the budget as JSON, each made by `item(i)`. */
function fill<T>(item: (i: number) => T, budget = WORST_CASE_BYTES): T[] {
  const items: T[] = [];
  for (let used = 0, i = 0; ; i++) {
    const next = item(i);
    used += JSON.stringify(next).length + 1;
    if (used > budget) return items;
    items.push(next);
  }
}

/** Lines made by `line(i)` joined by newlines, up to the budget. */
function fillText(line: (i: number) => string, budget = WORST_CASE_BYTES): string {
  const lines: string[] = [];
  for (let used = 0, i = 0; used + line(i).length + 1 <= budget; i++) {
    lines.push(line(i));
    used += line(i).length + 1;
  }
  return lines.join("\n");
}

const octets = (i: number) => `${(i >> 8) & 255}.${i & 255}`;

export interface WorstCase {
  family: string;
  path: "/validate" | "/mutate";
  /** The AdmissionReview as sent. */
  review: ReturnType<typeof admissionReview>;
}

const policyCase = (
  family: string,
  spec: Record<string, unknown>,
  options: ReviewOptions & { path?: "/validate" | "/mutate" } = {},
): WorstCase => ({
  family,
  path: options.path ?? "/validate",
  review: admissionReview("NetworkPolicy", networkPolicy(spec), { namespace: "team-a", ...options }),
});

export function worstCases(): WorstCase[] {
  // NP022/NP023/NP025: one ipBlock with ~75,000 except entries, every 7th a duplicate of the one
  // before, every 11th outside cidr (the issue's report: 50,000 entries held the webhook for 40-116 s).
  const excepts = fill((i) => (i % 11 === 0 ? `11.${octets(i)}.0/24` : `10.${octets(i % 7 === 0 ? i - 1 : i)}.0/24`));
  // NP010/NP011/NP041 and NP021: a namespaceSelector-only peer followed by a podSelector-only one,
  // over and over, with bad label values; and ipBlocks with host bits set.
  const peers = fill((i) =>
    i % 3 === 0
      ? { namespaceSelector: { matchLabels: { team: `-${i}-` } } }
      : i % 3 === 1
        ? { podSelector: { matchLabels: { app: "-x-" } } }
        : { ipBlock: { cidr: `10.${octets(i)}.1/24` } },
  );
  // NP030-NP034: SCTP named ports to an ipBlock, each also out of range or misnamed.
  const ports = fill((i) =>
    i % 2 === 0 ? { protocol: "SCTP", port: `Port-${i}` } : { protocol: "sctp", port: 70000, endPort: 1 },
  );
  // NP011: one requirement with a bad key and ~100,000 bad values.
  const values = fill((i) => `-${i}`);
  // NP002/NP004: policyTypes duplicated ~130,000 times.
  const policyTypes = fill((i) => (i % 2 === 0 ? "Ingress" : "Egress"));
  // NP040 and the mutation: ~200,000 empty ingress rules in an isolated namespace.
  const rules = fill(() => ({}));
  const stale = "a,b";
  return [
    policyCase("ipBlock except entries (NP022-NP025)", {
      ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/8", except: excepts } }] }],
    }),
    policyCase("peers (NP010, NP011, NP021, NP041)", { ingress: [{ from: peers }] }),
    policyCase("ports (NP030-NP034)", {
      policyTypes: ["Egress"],
      egress: [{ to: [{ ipBlock: { cidr: "203.0.113.0/24" } }], ports }],
    }),
    policyCase("label selectors (NP011)", {
      podSelector: { matchExpressions: [{ key: "-bad-", operator: "In", values }] },
    }),
    policyCase("policyTypes (NP002-NP004)", { policyTypes, egress: [{ to: [{ podSelector: {} }] }] }),
    policyCase("ingress rules (NP040)", { ingress: rules }, { namespace: "team-isolated" }),
    policyCase("injection (mutation)", { ingress: rules }, { namespace: "team-isolated", path: "/mutate" }),
    {
      family: "injection of a stale rule (mutation)",
      path: "/mutate",
      review: admissionReview(
        "NetworkPolicy",
        networkPolicy(
          {
            ingress: fill(() => ({
              from: [
                {
                  namespaceSelector: {
                    matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["a", "b"] }],
                  },
                },
              ],
            })),
          },
          { annotations: { "netfence.io/injected-ingress-namespaces": stale } },
        ),
        { namespace: "team-isolated" },
      ),
    },
    policyCase(
      "UPDATE ratcheting (NP021 in the stored object too)",
      { ingress: [{ from: peers }] },
      { operation: "UPDATE", oldObject: networkPolicy({ ingress: [{ from: peers }] }) },
    ),
    {
      family: "Services (SVC001, SVC002)",
      path: "/validate",
      review: admissionReview(
        "Service",
        {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: "web", namespace: "team-isolated" },
          spec: {
            type: "LoadBalancer",
            ports: fill((i) => ({ name: `p${i}`, port: (i % 65535) + 1, targetPort: "http" })),
          },
        },
        { namespace: "team-isolated" },
      ),
    },
    {
      family: "kube-proxy config.conf (KP001; too large to read, so KP002)",
      path: "/validate",
      review: admissionReview(
        "ConfigMap",
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "kube-proxy", namespace: "kube-system" },
          data: {
            "config.conf": `iptables: {masqueradeAll: true}\n${fillText((i) => `k${i}: v`, 0.9 * WORST_CASE_BYTES)}\n`,
          },
        },
        { namespace: "kube-system", name: "kube-proxy" },
      ),
    },
    {
      family: "kube-proxy config.conf that does not parse (KP002)",
      path: "/validate",
      review: admissionReview(
        "ConfigMap",
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "kube-proxy", namespace: "kube-system" },
          data: { "config.conf": `${fillText((i) => `k${i}: v`, 0.9 * WORST_CASE_BYTES)}\nbroken: [\n` },
        },
        { namespace: "kube-system", name: "kube-proxy" },
      ),
    },
    {
      family: "Namespaces (NS001)",
      path: "/validate",
      review: admissionReview(
        "Namespace",
        {
          apiVersion: "v1",
          kind: "Namespace",
          metadata: {
            name: "legacy",
            annotations: {
              "net.beta.kubernetes.io/network-policy": `{"ingress": ${"[".repeat(50)}${"1,".repeat((WORST_CASE_BYTES - 300) / 2)}`,
            },
          },
        },
        { namespace: "" },
      ),
    },
  ];
}

/** One HTTP request to the app on loopback: status, body and wall time (for /healthz meanwhile). */
export const timedRequest = (port: number, method: string, path: string, body?: string) =>
  new Promise<{ status: number; body: string; ms: number }>((resolve, reject) => {
    const started = performance.now();
    const req = request(
      {
        host: "127.0.0.1",
        port,
        method,
        path,
        headers: body === undefined ? {} : { "content-type": "application/json" },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
            ms: performance.now() - started,
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
