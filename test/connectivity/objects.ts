// Kubernetes objects for connectivity tests, written the way users write them.
export const namespace = (name: string, labels: Record<string, string> = {}, annotations?: Record<string, string>) => ({
  apiVersion: "v1",
  kind: "Namespace",
  metadata: { name, labels, ...(annotations ? { annotations } : {}) },
});

export interface PodOptions {
  labels?: Record<string, string>;
  ip?: string;
  ports?: { name: string; containerPort: number; protocol?: string }[];
}

export const pod = (ns: string, name: string, options: PodOptions = {}) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name, namespace: ns, labels: options.labels ?? {} },
  spec: { containers: [{ name: "main", image: "x", ports: options.ports ?? [] }] },
  ...(options.ip !== undefined
    ? { status: { phase: "Running", podIP: options.ip, podIPs: [{ ip: options.ip }] } }
    : {}),
});

export const deployment = (ns: string, name: string, labels: Record<string, string>) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, namespace: ns },
  spec: {
    selector: { matchLabels: labels },
    template: { metadata: { labels }, spec: { containers: [{ name: "main", image: "x" }] } },
  },
});

export const policy = (ns: string, name: string, spec: Record<string, unknown>) => ({
  apiVersion: "networking.k8s.io/v1",
  kind: "NetworkPolicy",
  metadata: { name, namespace: ns },
  spec: { podSelector: {}, ...spec },
});
