#!/usr/bin/env node
// The command line: argument parsing, and the process around `serve` (signals, exit codes); each
// command's work lives in its own module.
// Exit codes: 0 fine, 1 denials (lint/audit), 2 usage, config or input error. Never a stack trace
// for bad input.
// Command modules are imported when their command runs: the Kubernetes client alone costs a second
// of start-up that `lint` and `allow` should not pay.
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import type { AllowFlags } from "./allow/command.ts";
import type { ExplainFlags } from "./explain/command.ts";
import { loadConfig, type Config } from "./config.ts";
import type { OutputFormat } from "./report/render.ts";
import { RULES } from "./rules/registry.ts";
import { UserError } from "./user-error.ts";
import { VERSION } from "./version.ts";

async function run(action: () => Promise<number | void> | number | void): Promise<void> {
  try {
    const code = await action();
    if (typeof code === "number") process.exitCode = code;
  } catch (error) {
    // Errors about what the user gave us: a message and exit code 2, never a stack trace.
    if (error instanceof UserError) {
      process.stderr.write(`netfence: ${error.message}\n`);
      process.exit(2);
    }
    // Anything else (a file that cannot be read, an unreachable API server, a port in use) is not a
    // denial: exit 2 with one line, and the stack only when asked for.
    const message = error instanceof Error ? error.message.split("\n")[0] : String(error);
    process.stderr.write(`netfence: ${message}\n`);
    if (process.env.NETFENCE_DEBUG) process.stderr.write(`${(error as Error)?.stack ?? ""}\n`);
    process.exit(2);
  }
}

const collect = (value: string, previous: string[]) => [...previous, value];
const positiveInteger = (value: string) => {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError("must be a positive integer");
  return Number(value);
};
/** The rules and their defaults, for `--help`: from the registry, like the docs. */
const rulesHelp = () =>
  `\nRules (default action; change with \`rules: {ID: deny|warn|off}\` in the config file; docs/rules.md explains each):\n${RULES.rules
    .map((rule) => `  ${rule.id.padEnd(7)}${rule.defaultAction}  ${rule.title}`)
    .join("\n")}\n`;
const outputOption = () =>
  new Option("-o, --output <format>", "text, json or sarif").choices(["text", "json", "sarif"]).default("text");

interface ReportFlags {
  config?: string;
  isolatedNamespace: string[];
  namespace: string;
  output: OutputFormat;
  strict?: boolean;
}

const reportOptions = (flags: ReportFlags, config: Config) => ({
  config,
  isolatedNamespaces: flags.isolatedNamespace,
  defaultNamespace: flags.namespace,
  output: flags.output,
  strict: flags.strict === true,
});

const program = new Command()
  .name("netfence")
  .description(
    "Kubernetes namespace network isolation that cannot be misconfigured: admission webhook, linter and allowlist writer.",
  )
  .version(VERSION, "-v, --version")
  .showHelpAfterError()
  .exitOverride((error: CommanderError) => {
    process.exit(error.exitCode === 0 ? 0 : 2);
  });

program
  .command("serve")
  .description("Serve the admission webhook over HTTPS (/validate, /mutate, /healthz, /readyz, /metrics).")
  .option("-c, --config <file>", "YAML config file (default: $NETFENCE_CONFIG, else built-in defaults)")
  .option(
    "--kubeconfig <file>",
    "kubeconfig of the cluster to watch (default: $KUBECONFIG, else in-cluster, else standalone)",
  )
  .option("--no-reconcile", "do not create or delete managed NetworkPolicies (admission only)")
  .addHelpText(
    "after",
    "\nExamples:\n  netfence serve\n  netfence serve --config /etc/netfence/config.yaml --kubeconfig ~/.kube/config\n",
  )
  .action((options: { config?: string; kubeconfig?: string; reconcile: boolean }) =>
    run(async () => {
      let config = loadConfig({ file: options.config });
      if (!options.reconcile) config = { ...config, reconcile: false };
      const { createLogger, startServer } = await import("./serve.ts");
      const log = createLogger(config.logLevel);
      const server = await startServer({ config, logger: log, kubeconfig: options.kubeconfig });
      // Losing the log pipe (a supervisor that died) must not take the webhook down, nor block its
      // shutdown: a failed write is dropped, and stop() starts closing before it tries to log.
      process.stdout.on("error", () => {});
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        const deadline = setTimeout(() => process.exit(1), config.shutdownGraceSeconds * 1000);
        deadline.unref();
        const closed = server.close();
        log.info({ signal }, "shutting down: finishing in-flight requests");
        closed.then(
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
    }),
  );

program
  .command("lint")
  .description("Check manifests offline with the webhook's rules (files, directories, or - for stdin).")
  .argument("[paths...]", "YAML or JSON files and directories (recursively *.yaml, *.yml, *.json); - reads stdin", [])
  .option("-c, --config <file>", "the webhook's config file (rule actions, pod CIDRs, isolated namespaces)")
  .option("--isolated-namespace <ns>", "treat this namespace as isolated (repeatable)", collect, [])
  .option("-n, --namespace <ns>", "namespace of objects that do not name one", "default")
  .addOption(outputOption())
  .option("--strict", "exit 1 on warnings too")
  .addHelpText(
    "after",
    "\nExit codes: 0 no denials, 1 denials (or warnings with --strict), 2 usage or input error.\n\nExamples:\n  netfence lint k8s/\n  helm template charts/app | netfence lint -\n  netfence lint --isolated-namespace team-a -o sarif k8s/ > netfence.sarif\n",
  )
  .addHelpText("after", rulesHelp)
  .action((paths: string[], flags: ReportFlags) =>
    run(async () => {
      const { lintCommand } = await import("./lint/command.ts");
      return lintCommand(paths, reportOptions(flags, loadConfig({ file: flags.config })));
    }),
  );

program
  .command("audit")
  .description(
    "Check what already sits in a live cluster: NetworkPolicies, Services, Namespaces, the kube-proxy ConfigMap.",
  )
  .option("--kubeconfig <file>", "kubeconfig (default: $KUBECONFIG, else in-cluster)")
  .option("-c, --config <file>", "the webhook's config file")
  .option("--isolated-namespace <ns>", "treat this namespace as isolated too (repeatable)", collect, [])
  .addOption(outputOption())
  .option("--strict", "exit 1 on warnings too")
  .option("--page-size <n>", "objects per list request", positiveInteger, 500)
  .addHelpText(
    "after",
    "\nExamples:\n  netfence audit --kubeconfig ~/.kube/config\n  netfence audit -o json > findings.json\n",
  )
  .action((flags: ReportFlags & { kubeconfig?: string; pageSize: number }) =>
    run(async () => {
      const { auditCommand } = await import("./audit/command.ts");
      return auditCommand({
        ...reportOptions({ ...flags, namespace: "default" }, loadConfig({ file: flags.config })),
        kubeconfig: flags.kubeconfig,
        pageSize: flags.pageSize,
      });
    }),
  );

program
  .command("explain")
  .description(
    "What traffic the NetworkPolicies allow: one flow and the policy, rule and peer that decide it, or the whole matrix.",
  )
  .argument("[paths...]", "YAML or JSON files and directories, as for lint; - reads stdin", [])
  .option("--from <endpoint>", "source: NAMESPACE/POD, NAMESPACE/KIND/NAME (a Deployment's pods, ...) or an IP address")
  .option("--to <endpoint>", "destination, in the same forms")
  .option("--port <n>", "destination port")
  .addOption(new Option("--protocol <protocol>", "protocol of the flow").choices(["TCP", "UDP", "SCTP"]).default("TCP"))
  .option("-n, --namespace <ns>", "namespace of objects that name none; the matrix shows only flows touching it")
  .option("--isolate <ns>", "what if netfence isolated this namespace? (repeatable)", collect, [])
  .option("-c, --config <file>", "the webhook's config file (allowedIngressNamespaces, isolatedNamespaces)")
  .option("--isolated-namespace <ns>", "treat this namespace as isolated (repeatable)", collect, [])
  .option(
    "--kubeconfig <file>",
    "read Namespaces, Pods and NetworkPolicies from this cluster; manifests given too are applied on top",
  )
  .option("--page-size <n>", "objects per list request (with --kubeconfig)", positiveInteger, 500)
  .addOption(
    new Option("-o, --output <format>", "text or json; for the matrix also md or dot")
      .choices(["text", "json", "md", "dot"])
      .default("text"),
  )
  .addHelpText(
    "after",
    "\nExit codes: 0 answered (whatever the verdict), 2 usage or input error.\n\nExamples:\n  netfence explain k8s/ --from team-a/web-0 --to team-b/Deployment/api --port 8080\n  netfence explain k8s/ --from 203.0.113.7 --to team-b/api-0 --port 443 -o json\n  netfence explain k8s/ -n team-a -o md\n  netfence explain k8s/ --isolate team-a -o dot | dot -Tsvg > team-a.svg\n  netfence explain --kubeconfig ~/.kube/config --from monitoring/prometheus-0 --to team-a/web-0 --port 9090\n",
  )
  .action((paths: string[], flags: ExplainFlags) =>
    run(async () => {
      const { explainCommand } = await import("./explain/command.ts");
      return explainCommand(paths, {
        ...flags,
        config: loadConfig({ file: flags.config }),
        isolatedNamespaces: flags.isolatedNamespace,
      });
    }),
  );

program
  .command("diff")
  .description("The flows whose verdict changes between two sets of manifests: what a pull request cuts off or opens.")
  .argument("<before>", "file or directory of manifests before the change (- for stdin)")
  .argument("<after>", "file or directory of manifests after the change (- for stdin)")
  .option("-n, --namespace <ns>", "namespace of objects that name none", "default")
  .option("-c, --config <file>", "the webhook's config file (allowedIngressNamespaces, isolatedNamespaces)")
  .option("--isolated-namespace <ns>", "treat this namespace as isolated (repeatable)", collect, [])
  .addOption(new Option("-o, --output <format>", "text, json or md").choices(["text", "json", "md"]).default("text"))
  .addHelpText(
    "after",
    "\nExit codes: 0 no change, 1 connectivity changes (like diff), 2 usage or input error.\n\nExamples:\n  netfence diff base/k8s/ k8s/\n  git show main:k8s/policies.yaml | netfence diff - k8s/policies.yaml -o md\n",
  )
  .action(
    (
      before: string,
      after: string,
      flags: { namespace: string; config?: string; isolatedNamespace: string[]; output: "text" | "json" | "md" },
    ) =>
      run(async () => {
        const { diffCommand } = await import("./explain/command.ts");
        return diffCommand(before, after, {
          ...flags,
          config: loadConfig({ file: flags.config }),
          isolatedNamespaces: flags.isolatedNamespace,
        });
      }),
  );

program
  .command("allow")
  .description(
    "Print the NetworkPolicy for one allowlist entry (pipe it to kubectl apply -f -).\nThe policy is labelled app.kubernetes.io/managed-by: netfence: the reconciler deletes it when the namespace is not isolated.",
  )
  .argument("<direction>", "ingress or egress")
  .option("-n, --namespace <ns>", "the namespace whose pods the policy selects")
  .option("--from-namespace <ns>", "ingress: allow every pod of this namespace")
  .option("--to-service <ns/name>", "egress: allow the pods behind this Service, on its targetPorts")
  .option("--cidr <cidr>", "ingress or egress: allow this network (outside the cluster)")
  .option("--selector <k=v,...>", "with --to-service, offline: the Service's selector")
  .option(
    "--port <port>",
    "a port number or name (repeatable); with --to-service offline: the targetPorts",
    collect,
    [],
  )
  .option(
    "--protocol <protocol>",
    "TCP, UDP or SCTP: of --port (default TCP); with --cidr and no --port, every port of it",
  )
  .option("--pod-selector <k=v,...>", "select only these pods of the namespace (default: all)")
  .option("--name <name>", "policy name (default: derived from the entry)")
  .option("--no-dns", "egress: do not add the DNS rule (UDP/TCP 53 to kube-dns)")
  .addOption(new Option("-o, --output <format>", "yaml or json").choices(["yaml", "json"]).default("yaml"))
  .option("--kubeconfig <file>", "to read the Service of --to-service")
  .addHelpText(
    "after",
    "\nExamples:\n  netfence allow ingress -n team-a --from-namespace team-b | kubectl apply -f -\n  netfence allow egress -n team-a --to-service db/postgres | kubectl apply -f -\n  netfence allow egress -n team-a --to-service db/postgres --selector app=postgres --port 5432\n  netfence allow ingress -n team-a --cidr 192.168.1.1/32 --port 80 --protocol TCP\n",
  )
  .action((direction: string, flags: AllowFlags) =>
    run(async () => {
      const { allowCommand } = await import("./allow/command.ts");
      return allowCommand(direction, flags);
    }),
  );

program
  .command("version")
  .description("Print the version.")
  .action(() => {
    process.stdout.write(`netfence ${VERSION}\n`);
  });

await program.parseAsync(process.argv);
