// `netfence explain` and `netfence diff` as a user runs them: verdicts, explanations, formats, exit codes.
import t from "tap";
import { netfence } from "../helpers/cli.ts";

// About 25 CLI processes: on a loaded 2-core machine that exceeds tap's default 120 s per file.
t.setTimeout(600_000);

const fixtures = new URL("./fixtures/", import.meta.url).pathname;
const config = `${fixtures}config.yaml`;

t.test("explain one flow: the verdict and, per side, which policy, rule and peer decided", async (t) => {
  const allowed = netfence([
    "explain",
    `${fixtures}after`,
    "-c",
    config,
    "--from",
    "team-a/Deployment/web",
    "--to",
    "team-b/Deployment/api",
    "--port",
    "8080",
  ]);
  t.equal(allowed.code, 0);
  t.match(allowed.stdout, /^team-a\/Deployment\/web -> team-b\/Deployment\/api TCP 8080: ALLOWED\n/);
  t.match(allowed.stdout, /egress \(team-a\/Deployment\/web\): allowed: no NetworkPolicy selects it for egress/);
  t.match(
    allowed.stdout,
    /ingress \(team-b\/Deployment\/api\): allowed: isolated by team-b\/api-from-web\n  allowed by team-b\/api-from-web spec\.ingress\[0\]\.from\[0\] /,
  );

  const json = netfence([
    "explain",
    `${fixtures}after`,
    "-c",
    config,
    "--from",
    "team-b/Deployment/api",
    "--to",
    "team-a/Deployment/web",
    "--port",
    "8080",
    "-o",
    "json",
  ]);
  const parsed = JSON.parse(json.stdout);
  t.equal(parsed.verdict, "denied");
  t.same(
    parsed.ingress.policies,
    ["team-a/netfence-isolation"],
    "the isolated namespace is evaluated with netfence's isolation policy",
  );
  t.equal(parsed.egress.isolated, false);
});

t.test("explain: the allowed namespaces keep ingress into an isolated namespace", async (t) => {
  const json = JSON.parse(
    netfence([
      "explain",
      `${fixtures}after`,
      "-c",
      config,
      "--from",
      "monitoring/StatefulSet/prometheus",
      "--to",
      "team-a/Deployment/web",
      "--port",
      "9090",
      "-o",
      "json",
    ]).stdout,
  );
  t.equal(json.verdict, "allowed");
  t.same(
    json.ingress.allowedBy.map((m: { policy: string; path: string }) => `${m.policy} ${m.path}`),
    ["team-a/netfence-isolation spec.ingress[1].from[0]"],
  );
});

t.test("explain: an address outside the cluster has no egress side", async (t) => {
  const json = JSON.parse(
    netfence([
      "explain",
      `${fixtures}after`,
      "--from",
      "203.0.113.7",
      "--to",
      "team-b/Deployment/api",
      "--port",
      "8080",
      "-o",
      "json",
    ]).stdout,
  );
  t.equal(json.verdict, "denied");
  t.equal(json.egress, null);
});

t.test("explain: the matrix as JSON, Markdown and DOT; -n keeps flows touching one namespace", async (t) => {
  const json = JSON.parse(netfence(["explain", `${fixtures}after`, "-c", config, "-o", "json"]).stdout);
  t.same(json.isolated, ["team-a"]);
  const intoApi = json.rows.filter((r: { to: string[] }) => r.to[0] === "team-b/Deployment/api");
  t.same(intoApi, [
    {
      from: ["team-a/Deployment/web"],
      to: ["team-b/Deployment/api"],
      ports: [{ protocol: "TCP", port: 8080, endPort: 8080 }],
      unknownPorts: [],
    },
  ]);
  const md = netfence(["explain", `${fixtures}after`, "-c", config, "-o", "md", "-n", "team-b"]).stdout;
  t.match(md, /### team-b\n\n\| from \| to \| ports \|/);
  t.notMatch(md, /monitoring\/StatefulSet\/prometheus \| team-a/, "flows that do not touch team-b are left out");
  const dot = netfence(["explain", `${fixtures}after`, "-o", "dot"]).stdout;
  t.match(dot, /^digraph connectivity \{/);
  t.match(dot, /"team-a\/Deployment\/web" -> "team-b\/Deployment\/api" \[label="TCP 8080"\]/);
});

t.test("explain --isolate previews what netfence isolation would cut off", async (t) => {
  const flow = ["--from", "team-a/Deployment/web", "--to", "team-b/Deployment/api", "--port", "80", "-o", "json"];
  t.equal(JSON.parse(netfence(["explain", `${fixtures}before`, ...flow]).stdout).verdict, "allowed");
  t.equal(
    JSON.parse(netfence(["explain", `${fixtures}before`, "--isolate", "team-b", ...flow]).stdout).verdict,
    "denied",
  );
});

t.test("explain reads stdin like lint, and input errors exit 2 with the line", async (t) => {
  const manifest =
    "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: x}\n---\napiVersion: v1\nkind: Pod\nmetadata: {name: q, namespace: x}\n";
  t.equal(JSON.parse(netfence(["explain", "-", "-o", "json"], manifest).stdout).workloads, 2);
  const bad = netfence(["explain", "-"], "a: 1\nb: c: d\n");
  t.equal(bad.code, 2);
  t.match(bad.stderr, /^netfence: -:2: YAML syntax error/);
  const unknown = netfence(["explain", "-", "--from", "x/nope", "--to", "x/p", "--port", "80"], manifest);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /`x\/nope` is no workload in the input/);
  t.equal(
    netfence(["explain", "-", "--from", "x/p", "--to", "x/q"], manifest).code,
    2,
    "--from and --to without --port is a usage error",
  );
  t.match(
    netfence(["explain", "-", "--from", "x/p", "--to", "x/q", "--port", "70000"], manifest).stderr,
    /--port `70000`: must be a port number/,
  );
});

t.test("diff: exit 0 when nothing changes, 1 with the changes, JSON for CI", async (t) => {
  const same = netfence(["diff", `${fixtures}before`, `${fixtures}before`]);
  t.equal(same.code, 0);
  t.equal(same.stdout, "no change in connectivity\n");
  const changed = netfence(["diff", `${fixtures}before`, `${fixtures}after`, "-c", config, "-o", "json"]);
  t.equal(changed.code, 1);
  const json = JSON.parse(changed.stdout);
  t.same(json.added, []);
  t.same(
    json.removed.map((e: { from: unknown; to: string }) => [e.from, e.to]),
    [
      [{ cidr: "0.0.0.0/0" }, "team-b/Deployment/api"],
      [{ cidr: "::/0" }, "team-b/Deployment/api"],
      ["monitoring/StatefulSet/prometheus", "team-b/Deployment/api"],
      ["team-a/Deployment/web", "team-b/Deployment/api"],
    ],
  );
  t.same(json.removed[3].ports[0], { protocol: "TCP", port: 1, endPort: 8079 });
  const md = netfence(["diff", `${fixtures}before`, `${fixtures}after`, "-o", "md"]);
  t.match(md.stdout, /^### cut off \(allowed before, denied after\): 4\n/);
});

t.test("diff: stdin for one side; errors exit 2", async (t) => {
  const policy =
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: deny, namespace: team-b}\nspec: {podSelector: {}}\n";
  const result = netfence(["diff", `${fixtures}before/workloads.yaml`, "-"], "");
  t.equal(result.code, 1, "everything in the workloads file is gone after");
  t.equal(netfence(["diff", "-", "-"], policy).code, 2);
  t.equal(netfence(["diff", `${fixtures}before`, "/no/such/dir"]).code, 2);
  t.equal(netfence(["diff", `${fixtures}before`]).code, 2, "AFTER is required");
});

t.test("help names the forms and examples", async (t) => {
  t.match(netfence(["explain", "--help"]).stdout, /NAMESPACE\/POD, NAMESPACE\/KIND\/NAME/);
  t.match(netfence(["diff", "--help"]).stdout, /Exit codes: 0 no change, 1 connectivity changes/);
});
