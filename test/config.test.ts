import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { ConfigError, loadConfig, parseConfig } from "../src/config.ts";

const dir = mkdtempSync(join(tmpdir(), "netfence-config-"));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

t.test("the defaults need no file", async (t) => {
  const config = loadConfig({ env: {} });
  t.same(config.listen, { host: "127.0.0.1", port: 8443 });
  t.equal(config.bodyLimitBytes, 3 * 1024 * 1024);
  t.equal(config.tls, undefined);
  t.equal(config.services.emptySelector, "isolated");
  t.equal(config.reconcile, true);
});

t.test("a YAML file is read from --config or NETFENCE_CONFIG", async (t) => {
  const path = file(
    "ok.yaml",
    "listen: {port: 9443}\nallowedIngressNamespaces: [monitoring]\nrules: {NP024: off}\npodCIDRs: [10.244.0.0/16]\n",
  );
  t.equal(loadConfig({ file: path, env: {} }).listen.port, 9443);
  const fromEnv = loadConfig({ env: { NETFENCE_CONFIG: path } });
  t.same(fromEnv.allowedIngressNamespaces, ["monitoring"]);
  t.same(fromEnv.rules, { NP024: "off" });
  t.equal(fromEnv.podCIDRs[0]?.network, "10.244.0.0/16");
});

t.test("environment variables override single keys", async (t) => {
  const path = file("env.yaml", "listen: {port: 9443}\n");
  const config = loadConfig({
    file: path,
    env: { NETFENCE_LISTEN_PORT: "7443", NETFENCE_ALLOWED_INGRESS_NAMESPACES: "b, a", NETFENCE_RECONCILE: "false" },
  });
  t.equal(config.listen.port, 7443);
  t.same(config.allowedIngressNamespaces, ["b", "a"]);
  t.equal(config.reconcile, false);
});

t.test("a bad config lists every problem with its path", async (t) => {
  const path = file(
    "bad.yaml",
    [
      "listen: {port: 70000}",
      "logLevel: loud",
      "rules: {NP999: deny, NP021: maybe}",
      "podCIDRs: [10.0.0.1/8]",
      "allowedIngressNamespaces: [Monitoring]",
      "surprise: 1",
    ].join("\n"),
  );
  const error = t.throws(() => loadConfig({ file: path, env: {} })) as unknown as ConfigError;
  t.type(error, ConfigError);
  const text = error.problems.join("\n");
  for (const expected of [
    "listen.port",
    "logLevel",
    "rules.NP999: unknown rule ID",
    "rules.NP021",
    "podCIDRs.0: `10.0.0.1/8` has host bits set",
    "allowedIngressNamespaces.0",
    "surprise",
  ]) {
    t.match(text, expected, expected);
  }
});

t.test("config errors show the offending value, not only its path", async (t) => {
  const error = t.throws(() =>
    parseConfig({
      allowedIngressNamespaces: ["monitoring", "Bad_NS"],
      listen: { port: "8443x" },
      logLevel: "loud",
      rules: { NP021: "maybe" },
      podCIDRs: ["10.0.0.1/8"],
      bodyLimitBytes: -1,
    }),
  ) as unknown as ConfigError;
  t.same(error.problems, [
    'listen.port: Invalid input: expected number, received string, got "8443x"',
    'logLevel: Invalid option: expected one of "fatal"|"error"|"warn"|"info"|"debug"|"trace"|"silent", got "loud"',
    "bodyLimitBytes: Too small: expected number to be >0, got -1",
    'allowedIngressNamespaces.1: must be a namespace name (a DNS-1123 label), got "Bad_NS"',
    "podCIDRs.0: `10.0.0.1/8` has host bits set; write `10.0.0.0/8`",
    'rules.NP021: Invalid option: expected one of "deny"|"warn"|"off", got "maybe"',
  ]);
  const long = t.throws(() => parseConfig({ isolatedNamespaces: ["x".repeat(500)] })) as unknown as ConfigError;
  t.ok(long.problems[0]!.length < 200, "a long value is cut short");
});

t.test("an unreadable or non-YAML file is a config error, not a crash", async (t) => {
  t.throws(() => loadConfig({ file: join(dir, "missing.yaml"), env: {} }), { message: /cannot read the file: ENOENT/ });
  t.throws(() => loadConfig({ file: file("broken.yaml", "listen: [\n"), env: {} }), { message: /not valid YAML/ });
  t.throws(() => loadConfig({ file: file("list.yaml", "- a\n"), env: {} }), { message: /must be a mapping/ });
});

t.test("tls needs both files", async (t) => {
  t.throws(() => parseConfig({ tls: { certFile: "a.crt" } }), { message: /tls\.keyFile/ });
});
