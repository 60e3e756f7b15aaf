// The command line as a user runs it: exit codes, stdin, directories, help, never a stack trace.
import { spawnSync } from "node:child_process";
import { mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { CLI, netfence } from "./helpers/cli.ts";
import { parse } from "yaml";

const fixtures = new URL("./fixtures/lint/", import.meta.url).pathname;

t.test("lint: a directory with a denial exits 1 and names file, line, rule and path", async (t) => {
  const { code, stdout } = netfence(["lint", `${fixtures}dir`]);
  t.equal(code, 1);
  t.match(stdout, /dir\/policies\.yaml:8 \[document 1\] NetworkPolicy team-a\/host-bits/);
  t.match(stdout, /deny NP021 line 18: spec\.ingress\[0\]\.from\[0\]\.ipBlock\.cidr/);
  t.match(stdout, /5 objects checked: 2 denials, 1 warning/);
});

t.test("lint: stdin, clean input exits 0; --strict turns warnings into exit 1", async (t) => {
  const ok =
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {}, policyTypes: [Ingress]}\n";
  t.equal(netfence(["lint", "-"], ok).code, 0);
  const warns =
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {}, policyTypes: [Egress]}\n";
  t.equal(netfence(["lint"], warns).code, 0, "no path means stdin");
  t.equal(netfence(["lint", "--strict", "-"], warns).code, 1);
});

t.test("lint: --output json and sarif are parseable", async (t) => {
  const json = netfence(["lint", "-o", "json", `${fixtures}dir`]);
  t.equal(JSON.parse(json.stdout).summary.denials, 2);
  const sarif = netfence(["lint", "-o", "sarif", `${fixtures}dir`]);
  t.equal(JSON.parse(sarif.stdout).version, "2.1.0");
});

t.test("lint: --isolated-namespace and --config change the verdicts", async (t) => {
  const service = "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: x}\nspec: {}\n";
  t.equal(netfence(["lint", "-"], service).code, 0);
  t.equal(netfence(["lint", "--isolated-namespace", "x", "-"], service).code, 1);
});

t.test("lint: input errors exit 2 with a message and the line", async (t) => {
  const bad = netfence(["lint", "-"], "a: 1\nb: c: d\n");
  t.equal(bad.code, 2);
  t.match(bad.stderr, /^netfence: -:2: YAML syntax error/);
  const missing = netfence(["lint", "/no/such/dir"]);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /cannot read \(ENOENT\)/);
  t.equal(netfence(["lint", "--output", "xml", "-"]).code, 2, "a bad option value is a usage error");
});

t.test("allow: prints YAML that kubectl can apply, or JSON", async (t) => {
  const yaml = netfence(["allow", "ingress", "-n", "team-a", "--from-namespace", "team-b"]);
  t.equal(yaml.code, 0);
  t.equal(parse(yaml.stdout).metadata.name, "allow-ingress-from-team-b");
  const json = netfence([
    "allow",
    "egress",
    "-n",
    "team-a",
    "--cidr",
    "10.1.0.1/32",
    "--port",
    "9000",
    "--protocol",
    "SCTP",
    "-o",
    "json",
  ]);
  t.same(JSON.parse(json.stdout).spec.egress[0].ports, [{ protocol: "SCTP", port: 9000 }]);
});

t.test("allow: usage errors exit 2", async (t) => {
  t.equal(netfence(["allow", "ingress", "--from-namespace", "b"]).code, 2, "no namespace");
  t.equal(netfence(["allow", "sideways", "-n", "a", "--from-namespace", "b"]).code, 2, "bad direction");
  const offline = netfence(["allow", "egress", "-n", "a", "--to-service", "b/s"]);
  t.equal(offline.code, 2);
  t.match(offline.stderr, /--selector and --port to work offline/);
  t.equal(netfence(["allow", "ingress", "-n", "a", "--cidr", "10.0.0.1/8"]).code, 2);
  const ignoredPort = netfence(["allow", "ingress", "-n", "a", "--from-namespace", "b", "--port", "80"]);
  t.equal(ignoredPort.code, 2, "a --port that would be ignored is refused, not dropped");
  t.match(ignoredPort.stderr, /--from-namespace allows every port/);
});

t.test("an unreadable input is exit 2 with one line, never 1 (which means denials)", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "netfence-cli-"));
  symlinkSync(join(dir, "missing.yaml"), join(dir, "dangling.yaml"));
  const result = netfence(["lint", dir]);
  t.equal(result.code, 2);
  t.match(result.stderr, /^netfence: .*ENOENT/);
});

t.test("lint: a file that is no manifest is named, the rest still checked, and the exit is 2 at the end", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "netfence-cli-"));
  symlinkSync(join(dir, "missing.yaml"), join(dir, "a-dangling.yaml"));
  writeFileSync(join(dir, "b-scalar.yaml"), "hello\n");
  writeFileSync(
    join(dir, "c.yaml"),
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p}\nspec: {podSelector: {}, policyTypes: [Egress]}\n",
  );
  const result = netfence(["lint", dir]);
  t.equal(result.code, 2);
  t.match(
    result.stderr,
    `netfence: ${join(dir, "a-dangling.yaml")}: cannot read (ENOENT: a dangling symlink)\nnetfence: ${join(dir, "b-scalar.yaml")}:1: a string`,
  );
  t.match(result.stdout, /1 object checked/);
});

t.test("help and version", async (t) => {
  const help = netfence(["--help"]);
  t.equal(help.code, 0);
  for (const command of ["serve", "lint", "audit", "allow", "version"]) t.match(help.stdout, command);
  t.match(netfence(["lint", "--help"]).stdout, /Examples:\n\s+netfence lint k8s\//);
  t.match(
    netfence(["lint", "--help"]).stdout,
    /Rules \(default action.*\n  NP001  deny  malformed NetworkPolicy[^\n]*\n[\s\S]*\n  NS001  warn  the legacy annotation/,
    "lint --help lists the rule registry",
  );
  t.match(netfence(["version"]).stdout, /^netfence \d+\.\d+\.\d+/);
  t.equal(netfence(["nonsense"]).code, 2);
  t.equal(netfence(["audit", "--page-size", "abc"]).code, 2, "a bad number is a usage error");
});

t.test("serve: a bad config exits 2 listing every problem", async (t) => {
  const result = spawnSync(process.execPath, [CLI, "serve"], {
    encoding: "utf8",
    env: { ...process.env, NETFENCE_LISTEN_PORT: "99999", NETFENCE_LOG_LEVEL: "loud" },
  });
  t.equal(result.status, 2);
  t.match(result.stderr, /listen\.port/);
  t.match(result.stderr, /logLevel/);
});
