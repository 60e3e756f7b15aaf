// What users of Kubernetes 1.36+ see: StrictIPCIDRValidation is on, so the apiserver refuses sloppy
// CIDRs itself before any validating webhook runs; netfence still catches what Kubernetes accepts.
import t from "tap";
import { startCluster } from "./start-cluster.ts";

const cluster = await startCluster({ strictCidrs: true });

const policy = (spec: Record<string, unknown>) => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name: "p", namespace: "default" },
  spec: { podSelector: {}, ...spec },
});

t.test("with the gate on, the apiserver itself refuses 10.0.0.1/8 before netfence is asked", async (t) => {
  const result = await cluster.kubectlApply([policy({ ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.1/8" } }] }] })]);
  t.not(result.code, 0);
  t.match(
    result.stderr,
    /is invalid: .*spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr.*must not have bits set beyond the prefix length/,
  );
  t.notMatch(result.stderr, /netfence/);
});

t.test("netfence still refuses what strict Kubernetes accepts (ignored egress rules)", async (t) => {
  const result = await cluster.kubectlApply([
    policy({ policyTypes: ["Ingress"], egress: [{ ports: [{ protocol: "UDP", port: 53 }] }] }),
  ]);
  t.match(result.stderr, /admission webhook "validate\.netfence\.io" denied the request: .*NP003/);
});
