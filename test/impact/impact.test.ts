// What impactOf counts and which example it picks, where the pods of one unit or one owner meet:
// flows inside one unit of look-alike pods, one owner spread over several units.
import t from "tap";
import { impactOf } from "../../src/impact/impact.ts";
import { allowedNamespacesMessage } from "../../src/impact/warnings.ts";
import { namespace, pod, policy } from "../connectivity/objects.ts";
import { impactCluster, policyInput } from "./objects.ts";

const denyIngress = (ns: string) => policyInput(policy(ns, "deny", { policyTypes: ["Ingress"] }));

t.test("flows inside one unit of look-alike pods have an example", async (t) => {
  const twoPods = impactCluster([
    namespace("team-a"),
    pod("team-a", "a", { labels: { app: "x" }, ip: "10.0.0.1" }),
    pod("team-a", "b", { labels: { app: "x" }, ip: "10.0.0.2" }),
  ]);
  const change = { namespace: "team-a", before: [], after: [denyIngress("team-a")] };
  const { cutOff } = impactOf(twoPods, change, { allowedIngressNamespaces: [] });
  t.equal(cutOff.flows, 2, "a -> b and b -> a");
  t.same(cutOff.examples, [{ from: "team-a/a", to: "team-a/b", ports: "all ports" }], "a has one pod: not a -> a");
  t.same(impactOf(twoPods, change, { allowedIngressNamespaces: [], examples: 3 }).cutOff.examples, [
    { from: "team-a/a", to: "team-a/b", ports: "all ports" },
    { from: "team-a/b", to: "team-a/a", ports: "all ports" },
  ]);
});

t.test("NP053's example is a flow from an allowedIngressNamespace, even inside one unit", async (t) => {
  const cluster = impactCluster([
    namespace("monitoring"),
    namespace("team-x"),
    pod("monitoring", "prom-a", { labels: { app: "prom" }, ip: "10.0.0.1" }),
    pod("monitoring", "prom-b", { labels: { app: "prom" }, ip: "10.0.0.2" }),
    pod("team-x", "client", { labels: { app: "client" }, ip: "10.0.1.1" }),
  ]);
  const { cutOff } = impactOf(
    cluster,
    { namespace: "monitoring", before: [], after: [denyIngress("monitoring")] },
    { allowedIngressNamespaces: ["monitoring"] },
  );
  t.equal(cutOff.flows, 4, "client into prom-a and prom-b, prom-a and prom-b into each other");
  t.equal(
    allowedNamespacesMessage(cutOff),
    "cuts off 2 flows from allowedIngressNamespaces, e.g. monitoring/prom-a -> monitoring/prom-b all ports",
  );
});
