// `netfence allow`: every option either takes effect or is refused with one line (exit 2).
import { spawnSync } from "node:child_process";
import t from "tap";
import { allowPolicy } from "../../src/allow/allow.ts";
import { allowRequest, type AllowFlags } from "../../src/allow/command.ts";

const flags = (given: Partial<AllowFlags>): AllowFlags => ({ port: [], dns: true, output: "yaml", ...given });
const policy = async (direction: string, given: Partial<AllowFlags>) =>
  allowPolicy(await allowRequest(direction, flags(given)));

t.test("--protocol without --port allows every port of that protocol only", async (t) => {
  const udp = await policy("egress", { namespace: "a", cidr: "10.0.0.0/8", protocol: "UDP", dns: false });
  t.same(udp.spec.egress, [{ to: [{ ipBlock: { cidr: "10.0.0.0/8" } }], ports: [{ protocol: "UDP" }] }]);
  t.equal(udp.metadata?.name, "allow-egress-cidr-10-0-0-0-8-udp");
  const tcp = await policy("ingress", { namespace: "a", cidr: "10.0.0.0/8", port: ["80"] });
  t.same(tcp.spec.ingress?.[0]?.ports, [{ protocol: "TCP", port: 80 }], "--port alone is TCP");
  const all = await policy("ingress", { namespace: "a", cidr: "10.0.0.0/8" });
  t.equal(all.spec.ingress?.[0]?.ports, undefined, "neither: every port, as asked");
});

t.test("options that would not take effect are refused, each with one line naming it", async (t) => {
  const refused: Record<string, [string, Partial<AllowFlags>, RegExp]> = {
    "--selector with --cidr (it would select every pod)": [
      "ingress",
      { namespace: "a", cidr: "10.0.0.0/8", selector: "app=web" },
      /^--selector is the Service's selector .*--pod-selector/,
    ],
    "--selector with --from-namespace": [
      "ingress",
      { namespace: "a", fromNamespace: "b", selector: "app=web" },
      /^--selector /,
    ],
    "--no-dns on ingress (cidr)": [
      "ingress",
      { namespace: "a", cidr: "10.0.0.0/8", dns: false },
      /^--no-dns goes with `allow egress`/,
    ],
    "--no-dns on ingress (namespace)": [
      "ingress",
      { namespace: "a", fromNamespace: "b", dns: false },
      /^--no-dns goes with `allow egress`/,
    ],
    "--kubeconfig with --cidr": [
      "egress",
      { namespace: "a", cidr: "10.0.0.0/8", kubeconfig: "/k" },
      /^--kubeconfig is read only by --to-service/,
    ],
    "--kubeconfig with --from-namespace": [
      "ingress",
      { namespace: "a", fromNamespace: "b", kubeconfig: "/k" },
      /^--kubeconfig is read only by --to-service/,
    ],
    "--kubeconfig with an offline --to-service": [
      "egress",
      { namespace: "a", toService: "db/pg", selector: "app=pg", port: ["5432"], kubeconfig: "/k" },
      /^--kubeconfig is not read with --selector/,
    ],
    "--protocol with --from-namespace": [
      "ingress",
      { namespace: "a", fromNamespace: "b", protocol: "UDP" },
      /^--protocol goes with --cidr/,
    ],
    "--protocol with an online --to-service": [
      "egress",
      { namespace: "a", toService: "db/pg", protocol: "UDP" },
      /^--protocol goes with --selector and --port/,
    ],
    "--to-service with a namespace that is no namespace name": [
      "egress",
      { namespace: "a", toService: "DB/pg", selector: "app=pg", port: ["5432"] },
      /^--to-service namespace `DB` is not a valid namespace name/,
    ],
    "--to-service with a bad Service name": [
      "egress",
      { namespace: "a", toService: "db/Pg_1", selector: "app=pg", port: ["5432"] },
      /^--to-service name `Pg_1` is not a valid Service name/,
    ],
    "--name that is no object name": [
      "ingress",
      { namespace: "a", fromNamespace: "b", name: "Bad Name!" },
      /^--name `Bad Name!` is not a valid object name/,
    ],
    "--selector with a key given twice": [
      "egress",
      { namespace: "a", toService: "db/pg", selector: "app=pg,app=other", port: ["5432"] },
      /^selector `app=pg,app=other`: key `app` is given twice/,
    ],
    "--pod-selector with a key given twice": [
      "ingress",
      { namespace: "a", fromNamespace: "b", podSelector: "app=a, app=b" },
      /key `app` is given twice/,
    ],
    "--protocol that is none": [
      "egress",
      { namespace: "a", cidr: "10.0.0.0/8", protocol: "ICMP" },
      /^protocol `ICMP`: use TCP, UDP or SCTP/,
    ],
  };
  for (const [what, [direction, given, message]] of Object.entries(refused)) {
    const error = await policy(direction, given).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    t.match(error, { message }, what);
    t.ok(
      error !== undefined && ["UsageError", "AllowError"].includes(error.name),
      `${what}: a user error (exit 2), got ${error?.name}`,
    );
    t.notMatch(error?.message ?? "", /\n/, `${what}: one line`);
  }
});

t.test("the CLI turns a refusal into exit 2 and one line on stderr", async (t) => {
  const cli = new URL("../../src/cli.ts", import.meta.url).pathname;
  const result = spawnSync(process.execPath, [cli, "allow", "ingress", "-n", "a", "--cidr", "10.0.0.0/8", "--no-dns"], {
    encoding: "utf8",
    env: { ...process.env, KUBECONFIG: "" },
  });
  t.equal(result.status, 2);
  t.equal(result.stdout, "");
  t.equal(result.stderr, "netfence: --no-dns goes with `allow egress`: an ingress policy has no DNS rule\n");
  const udp = spawnSync(
    process.execPath,
    [cli, "allow", "egress", "-n", "a", "--cidr", "10.0.0.0/8", "--protocol", "udp", "-o", "json"],
    { encoding: "utf8", env: { ...process.env, KUBECONFIG: "" } },
  );
  t.equal(udp.status, 0, udp.stderr);
  t.same(JSON.parse(udp.stdout).spec.egress[0].ports, [{ protocol: "UDP" }]);
});
