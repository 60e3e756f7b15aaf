// `netfence serve`: wires config, certificates, the cluster view and the app together, listens,
// and shuts down gracefully. Everything it starts is stopped by the returned `close`.
import { resolve } from "node:path";
import pino, { type Logger } from "pino";
import { admissionPolicy } from "./admission/policy.ts";
import { isolationPredicate } from "./isolation.ts";
import type { Config } from "./config.ts";
import { connectToCluster, type ClusterConnection } from "./kube/kubeconfig.ts";
import type { NamespaceCache } from "./cluster/namespace-cache.ts";
import type { ImpactCheck } from "./impact/check.ts";
import { buildApp, TLS_MIN_VERSION } from "./server/app.ts";
import type { Metrics } from "./metrics.ts";
import { createMetrics } from "./metrics.ts";
import { describeCertificate, readCertificate, watchCertificate, type CertificateFiles } from "./server/tls.ts";

export interface ServeOptions {
  config: Config;
  logger?: Logger;
  /** Path of a kubeconfig; otherwise $KUBECONFIG, the in-cluster account, or standalone. */
  kubeconfig?: string | undefined;
}

export interface RunningServer {
  url: string;
  port: number;
  caFile: string | undefined;
  close(): Promise<void>;
}

export function createLogger(level: Config["logLevel"]): Logger {
  return pino(
    {
      level,
      base: { service: "netfence" },
      // Belt and braces: nothing should log these, but a mistake must not leak them.
      redact: { paths: ["*.key", "*.cert", "*.token", "*.password", "key", "cert", "token"], censor: "[redacted]" },
    },
    // process.stdout rather than pino's default sonic-boom destination: when the reader of stdout is
    // gone (EPIPE), sonic-boom's flush at exit retries forever and the process never exits, while
    // process.stdout reports an error that `serve` drops.
    process.stdout,
  );
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { config } = options;
  const log = options.logger ?? createLogger(config.logLevel);
  let files: CertificateFiles;
  let caFile: string | undefined;
  if (config.tls) {
    files = { certFile: config.tls.certFile, keyFile: config.tls.keyFile };
  } else {
    // Imported only here: the certificate generator (@peculiar/x509) adds about 10 MB of RSS to a
    // server that is given its certificate, as every deployed one is.
    const { ensureDevCertificates } = await import("./server/certificates.ts");
    const dev = await ensureDevCertificates(resolve(config.devCertDir));
    files = dev;
    caFile = dev.caFile;
    log.info(
      { caBundle: dev.caFile, created: dev.created },
      `no tls configured: serving a dev certificate for localhost; its CA bundle is ${dev.caFile}`,
    );
  }
  const metrics = createMetrics();
  let shuttingDown = false;
  const cluster = await startClusterView(
    config,
    await connectToCluster({ kubeconfig: options.kubeconfig }),
    log,
    metrics,
  );
  const served = readCertificate(files);
  const app = buildApp({
    policy: { ...admissionPolicy(config, cluster.cache), ...(cluster.impact ? { impact: cluster.impact } : {}) },
    bodyLimitBytes: config.bodyLimitBytes,
    metrics,
    logger: log,
    https: served,
    readiness: () =>
      shuttingDown ? { ready: false, reason: "shutting down" } : (cluster.cache?.readiness() ?? { ready: true }),
  });
  await app.listen({ host: config.listen.host, port: config.listen.port });
  const address = app.server.address();
  const port = typeof address === "object" && address !== null ? address.port : config.listen.port;
  const stopWatching = watchCertificate(app.server as import("node:https").Server, files, served, {
    intervalMs: (config.tls?.reloadIntervalSeconds ?? 10) * 1000,
    minVersion: TLS_MIN_VERSION,
    log,
    metrics,
  });
  const host = config.listen.host.includes(":") ? `[${config.listen.host}]` : config.listen.host;
  const url = `https://${host}:${port}`;
  log.info({ url, certificate: describeCertificate(served.cert) }, "netfence is serving");
  return {
    url,
    port,
    caFile,
    async close() {
      shuttingDown = true;
      stopWatching();
      await app.close();
      await cluster.stop();
    },
  };
}

interface ClusterView {
  cache: NamespaceCache | undefined;
  /** The impact warnings, when `impact.enabled` and a cluster is reachable. */
  impact?: ImpactCheck;
  stop(): Promise<void>;
}

/**
 * The namespace cache when a cluster is reachable; with the reconciler on, also the NetworkPolicy
 * cache and the reconciler, run by the replica that holds the leader Lease. Nothing when standalone.
 */
async function startClusterView(
  config: Config,
  connection: ClusterConnection,
  log: Logger,
  metrics: Metrics,
): Promise<ClusterView> {
  if (connection.kind === "standalone") {
    log.info(
      "standalone: no kubeconfig and not in a cluster; isolation comes from `isolatedNamespaces` only and the reconciler is off",
    );
    return { cache: undefined, stop: async () => {} };
  }
  log.info(
    { connection: connection.kind, server: connection.config.getCurrentCluster()?.server },
    "watching namespaces",
  );
  const [
    { httpKubeClient },
    { NamespaceCache },
    { PolicyCache },
    { Reconciler },
    { LeaderElector, defaultIdentity, ownNamespace },
    { checkKubeProxy },
    { startImpactView },
    { IsolationPreviewer },
  ] = await Promise.all([
    import("./kube/client.ts"),
    import("./cluster/namespace-cache.ts"),
    import("./cluster/policy-cache.ts"),
    import("./cluster/reconciler.ts"),
    import("./cluster/leader-election.ts"),
    import("./cluster/kube-proxy-check.ts"),
    import("./cluster/impact-cluster.ts"),
    import("./cluster/isolation-preview.ts"),
  ]);
  const client = httpKubeClient(connection.config);
  const staleAfterMs = config.cacheStaleAfterSeconds * 1000;
  const cache = new NamespaceCache(client, { log, metrics, staleAfterMs });
  // Listening does not wait for the first list: /readyz says not ready until it has synced.
  cache.start();
  void checkKubeProxy(client, log, metrics);
  const policies =
    config.reconcile || config.impact.enabled ? new PolicyCache(client, { log, metrics, staleAfterMs }) : undefined;
  policies?.start();
  const impact =
    config.impact.enabled && policies ? startImpactView(config, client, cache, policies, log, metrics) : undefined;
  if (!config.reconcile || policies === undefined) {
    log.info("reconciler off (`reconcile: false`)");
    return {
      cache,
      ...(impact ? { impact: impact.check } : {}),
      stop: async () => void (await Promise.all([cache.stop(), policies?.stop(), impact?.stop()])),
    };
  }
  // Isolation previews are written by the replica that reconciles, beside the reconciler.
  const previewer =
    impact &&
    new IsolationPreviewer(client, { namespaces: cache, policies, workloads: impact.workloads }, impact.cluster, {
      allowedIngressNamespaces: config.allowedIngressNamespaces,
      log,
      readiness: impact.readiness,
    });
  const reconciler = new Reconciler(client, cache, policies, {
    allowedIngressNamespaces: config.allowedIngressNamespaces,
    isIsolated: isolationPredicate(config, cache),
    log,
    metrics,
    resyncMs: config.resyncSeconds * 1000,
    writesPerSecond: config.reconcileWritesPerSecond,
  });
  const election = config.leaderElection;
  const elector = election.enabled
    ? new LeaderElector(client, {
        namespace: election.namespace ?? ownNamespace(),
        name: election.leaseName,
        identity: defaultIdentity(),
        leaseDurationMs: election.leaseDurationSeconds * 1000,
        renewDeadlineMs: election.renewDeadlineSeconds * 1000,
        retryPeriodMs: election.retryPeriodSeconds * 1000,
        log,
        onStartedLeading: () => {
          metrics.leader.set(1);
          void reconciler.start();
          previewer?.start();
        },
        onStoppedLeading: () => {
          metrics.leader.set(0);
          reconciler.stop();
          void previewer?.stop();
        },
      })
    : undefined;
  if (elector === undefined) {
    log.info("leader election off: this replica reconciles");
    metrics.leader.set(1);
    void reconciler.start();
    previewer?.start();
  } else {
    metrics.leader.set(0);
    elector.start();
  }
  return {
    cache,
    ...(impact ? { impact: impact.check } : {}),
    async stop() {
      reconciler.stop();
      await previewer?.stop();
      await elector?.stop();
      await Promise.all([cache.stop(), policies.stop(), impact?.stop()]);
    },
  };
}
