#!/usr/bin/env node
// The command line: argument parsing only; each command lives in its own module.
import { Command } from "commander";
import { ConfigError, loadConfig } from "./config.ts";
import { createLogger, startServer } from "./serve.ts";
import { VERSION } from "./version.ts";

function exitOnConfigError(error: unknown): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`netfence: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}

const program = new Command()
  .name("netfence")
  .description("Kubernetes namespace network isolation that cannot be misconfigured: admission webhook, linter and allowlist writer.")
  .version(VERSION, "-v, --version")
  .showHelpAfterError();

program
  .command("serve")
  .description("Serve the admission webhook over HTTPS (/validate, /mutate, /healthz, /readyz, /metrics).")
  .option("-c, --config <file>", "YAML config file (default: $NETFENCE_CONFIG, else built-in defaults)")
  .option("--kubeconfig <file>", "kubeconfig of the cluster to watch (default: $KUBECONFIG, else in-cluster, else standalone)")
  .option("--no-reconcile", "do not create or delete managed NetworkPolicies (admission only)")
  .addHelpText("after", "\nExamples:\n  netfence serve\n  netfence serve --config /etc/netfence/config.yaml --kubeconfig ~/.kube/config\n")
  .action(async (options: { config?: string; kubeconfig?: string; reconcile: boolean }) => {
    let config;
    try {
      config = loadConfig({ file: options.config });
    } catch (error) {
      exitOnConfigError(error);
    }
    if (!options.reconcile) config = { ...config, reconcile: false };
    const log = createLogger(config.logLevel);
    const server = await startServer({ config, logger: log, kubeconfig: options.kubeconfig });
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, "shutting down: finishing in-flight requests");
      const deadline = setTimeout(() => {
        log.warn("grace period over; exiting with requests still open");
        process.exit(1);
      }, config.shutdownGraceSeconds * 1000);
      deadline.unref();
      server.close().then(
        () => {
          log.info("stopped");
          process.exit(0);
        },
        (error: unknown) => {
          log.error({ err: error }, "error while shutting down");
          process.exit(1);
        },
      );
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  });

program
  .command("version")
  .description("Print the version.")
  .action(() => {
    process.stdout.write(`netfence ${VERSION}\n`);
  });

await program.parseAsync(process.argv);
