// Properties of the engine on random clusters: the class-based matrix equals a naive pod-by-pod
// reading of the spec; diff(X, X) is empty; diff agrees with explain on both sides.
import fc from "fast-check";
import ipaddr from "ipaddr.js";
import t from "tap";
import { clusterFromObjects, diffEngines, Engine, type FlowChange } from "../../src/connectivity/index.ts";
import { EXTERNAL_IPS, namespaces, pods, policies, PORTS, PROTOCOLS } from "./arbitraries.ts";
import { naiveAllowed } from "./naive.ts";
import { deployment } from "./objects.ts";

const runs = { numRuns: 150 };

const covers = (entry: FlowChange, protocol: string, port: number) =>
  entry.ports.some((p) => p.protocol === protocol && p.port <= port && port <= p.endPort);
const cidrHas = (cidr: string, ip: string) => {
  const address = ipaddr.parse(ip);
  const range = ipaddr.parseCIDR(cidr);
  return address.kind() === range[0].kind() && address.match(range);
};

t.test("the class-based matrix and verdicts equal a naive pod-by-pod evaluation", async (t) => {
  fc.assert(
    fc.property(namespaces, pods, policies, (nss, podList, policyList) => {
      const engine = new Engine(clusterFromObjects([...nss, ...podList, ...policyList]));
      const matrix = engine.matrix();
      const id = (p: (typeof podList)[number]) => `${p.metadata.namespace}/${p.metadata.name}`;
      for (const protocol of PROTOCOLS) {
        for (const port of PORTS) {
          for (const from of podList) {
            for (const to of podList) {
              const expected = naiveAllowed(nss, policyList, { pod: from }, { pod: to }, protocol, port);
              const cell = matrix.cell(matrix.classOf.get(id(from))!, matrix.classOf.get(id(to))!);
              const inCell = cell.allowed[protocol].some(([a, b]) => a <= port && port <= b);
              if (inCell !== expected)
                throw new Error(
                  `matrix: ${id(from)} -> ${id(to)} ${protocol}/${port}: engine ${inCell}, naive ${expected}`,
                );
              const single = engine.verdict({ from: id(from), to: id(to), protocol, port });
              if (single !== (expected ? "allowed" : "denied"))
                throw new Error(
                  `explain: ${id(from)} -> ${id(to)} ${protocol}/${port}: engine ${single}, naive ${expected}`,
                );
            }
            for (const ip of EXTERNAL_IPS) {
              const out = naiveAllowed(nss, policyList, { pod: from }, { ip }, protocol, port);
              if ((engine.verdict({ from: id(from), to: ip, protocol, port }) === "allowed") !== out)
                throw new Error(`${id(from)} -> ${ip} ${protocol}/${port}: naive ${out}`);
              const into = naiveAllowed(nss, policyList, { ip }, { pod: from }, protocol, port);
              if ((engine.verdict({ from: ip, to: id(from), protocol, port }) === "allowed") !== into)
                throw new Error(`${ip} -> ${id(from)} ${protocol}/${port}: naive ${into}`);
            }
          }
        }
      }
    }),
    runs,
  );
  t.pass("matrix, explain and the naive reading agree");
});

t.test("diff(X, X) is empty", async (t) => {
  fc.assert(
    fc.property(namespaces, pods, policies, fc.boolean(), (nss, podList, policyList, withTemplate) => {
      const objects = [
        ...nss,
        ...podList,
        ...policyList,
        ...(withTemplate ? [deployment("n1", "tmpl", { app: "x" })] : []),
      ];
      const result = diffEngines(new Engine(clusterFromObjects(objects)), new Engine(clusterFromObjects(objects)));
      return result.removed.length === 0 && result.added.length === 0 && result.unknown.length === 0;
    }),
    runs,
  );
  t.pass();
});

t.test("diff agrees with explain before and after, for pods, templates and outside addresses", async (t) => {
  fc.assert(
    fc.property(namespaces, pods, policies, policies, (nss, podList, before, after) => {
      const template = deployment("n2", "tmpl", { app: "y" });
      const b = new Engine(clusterFromObjects([...nss, ...podList, template, ...before]));
      const a = new Engine(clusterFromObjects([...nss, ...podList, template, ...after]));
      const diff = diffEngines(b, a);
      const workloads = [...podList.map((p) => `${p.metadata.namespace}/${p.metadata.name}`), "n2/Deployment/tmpl"];
      const endsMatch = (entry: FlowChange, from: string, to: string) => {
        const same = (end: FlowChange["from"], ref: string) =>
          typeof end === "string" ? end === ref : !workloads.includes(ref) && cidrHas(end.cidr, ref);
        return same(entry.from, from) && same(entry.to, to);
      };
      const pairs: [string, string][] = [];
      for (const from of workloads) {
        for (const to of workloads) if (from !== to) pairs.push([from, to]);
        for (const ip of EXTERNAL_IPS) pairs.push([from, ip], [ip, from]);
      }
      for (const [from, to] of pairs) {
        for (const protocol of PROTOCOLS) {
          for (const port of PORTS) {
            const vb = b.verdict({ from, to, protocol, port });
            const va = a.verdict({ from, to, protocol, port });
            const listed = (kind: "removed" | "added" | "unknown") =>
              diff[kind].some((e) => endsMatch(e, from, to) && covers(e, protocol, port));
            const expect = {
              removed: vb === "allowed" && va === "denied",
              added: vb === "denied" && va === "allowed",
              unknown: vb !== va && (vb === "unknown" || va === "unknown"),
            };
            for (const kind of ["removed", "added", "unknown"] as const) {
              if (listed(kind) !== expect[kind])
                throw new Error(
                  `${from} -> ${to} ${protocol}/${port}: explain ${vb} -> ${va}, but ${kind} ${listed(kind) ? "lists" : "misses"} it`,
                );
            }
          }
        }
      }
    }),
    runs,
  );
  t.pass();
});
